// The handler of hack/bench/barehttp on fastify 5, for hack/bench/compare.sh: fastify parses the Dialogflow ES
// WebhookRequest (its JSON body parser) and answers a fixed WebhookResponse, serialised from a response schema
// as fastify users write it. No logger (fastify's default). Run with NODE_ENV=production.
// Dependencies are installed at run time into a temporary folder (npm ci), never into the tree.
'use strict';
const fastify = require('fastify');

const app = fastify({ logger: false });
const answer = { fulfillmentText: 'Your demo account balance is 1234.56 EUR.' };
const schema = {
  response: {
    200: { type: 'object', properties: { fulfillmentText: { type: 'string' } } },
  },
};
app.post('/bank-bot', { schema }, async () => {
  return answer;
});

const port = Number(process.env.PORT || 8084);
app.listen({ port, host: '127.0.0.1' }).catch((err) => {
  console.error(err);
  process.exit(1);
});
