// The classic Express fulfillment handler for the Dialogflow ES balance example, for hack/bench/compare.sh.
// Dependencies are installed at run time into a temporary folder (npm ci), never into the tree.
'use strict';
const express = require('express');

const app = express();
app.post('/bank-bot', express.json(), (req, res) => {
  const account = req.body.queryResult.parameters.account;
  res.json({ fulfillmentText: `Your ${account} account balance is 1234.56 EUR.` });
});

const port = Number(process.env.PORT || 8083);
app.listen(port, '127.0.0.1');
