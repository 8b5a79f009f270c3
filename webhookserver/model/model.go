// Package model holds the two values every stage of the request path shares: the Request a dialect decodes and
// the Answer an action produces and a dialect encodes. It holds no logic beyond building values on first use
// and depends on no package of ours, so that every stage can import it without reaching back up the pipeline.
package model

import (
	"net/http"
	"sync"
)

// Request is a platform request decoded into one form for every dialect. Its fields are what routes match on
// and what CEL sees as `request`.
//
// The headers and the whole body are read through Headers and Body, because most requests never read them: a
// dialect hands them over as they arrived (SetHeadersFrom, SetBodyFrom) and they are flattened or decoded on
// first use, once, safely for concurrent readers. A request made by hand (a test, Generic's other formats) sets
// them built (SetHeaders, SetBody). A dialect's own per-request state (what its answer needs from the body) is
// not here: it stays in the dialect's dialect.Decoded, which holds this Request.
type Request struct {
	// Dialect is the dialect that decoded the request.
	Dialect string
	// Intent is the matched intent's display name (ES queryResult.intent.displayName, CX intentInfo.displayName,
	// Rasa tracker.latest_message.intent.name, Generic intent).
	Intent string
	// Action is ES queryResult.action or Rasa next_action.
	Action string
	// Tag is CX fulfillmentInfo.tag.
	Tag string
	// Event is the Generic event name.
	Event string
	// Text is what the user said (ES queryText, CX text or transcript, Rasa latest_message.text).
	Text string
	// LanguageCode of the conversation, when the platform sends it.
	LanguageCode string
	// Session identifies the conversation (ES/CX session name, Rasa sender_id, Generic session.id).
	Session string
	// Parameters are the session and intent parameters (ES queryResult.parameters over the session context,
	// CX sessionInfo.parameters, Rasa slots, Generic session.parameters). CEL sees them as `params`.
	Parameters map[string]any
	// Method is the HTTP method the request came with (POST, or GET, PUT, PATCH, DELETE on a Generic endpoint
	// that accepts them), set by the endpoint for every dialect.
	Method string
	// Query is the URL query, first value of each name.
	Query map[string]string
	// DeliveryID is the platform's id of this delivery, the default idempotency key (ES responseId, CX
	// detectIntentResponseId + tag, Rasa sender + latest event time + next_action, Generic id or webhook-id header).
	DeliveryID string
	// Environment is where the request comes from, as routes select it (match.environments): the Dialogflow
	// session's environment ("draft" without one), a Stripe event's livemode ("live" or "test"), or what the
	// endpoint's environmentFrom expression gives.
	Environment string
	// Version is the payload's version, as routes select it (match.versions): Rasa's version, a Generic event's
	// api_version or version (or a header its HMAC scheme signs), or what the endpoint's versionFrom gives.
	Version string

	headers lazy[http.Header, map[string]string]
	body    lazy[string, map[string]any]
}

// Headers are the HTTP request's headers: lower-case names, values joined with ", ", without credentials.
func (r *Request) Headers() map[string]string { return r.headers.get() }

// Body is the whole decoded request body, a JSON object (Generic's forms and XML become one too).
func (r *Request) Body() map[string]any { return r.body.get() }

// SetHeaders sets the headers, already flattened as Headers returns them.
func (r *Request) SetHeaders(flat map[string]string) { r.headers.set(flat) }

// SetHeadersFrom keeps the request's headers to be flattened by flatten on the first Headers.
func (r *Request) SetHeadersFrom(header http.Header, flatten func(http.Header) map[string]string) {
	r.headers.setSource(header, flatten)
}

// SetBody sets the whole body, already decoded.
func (r *Request) SetBody(body map[string]any) { r.body.set(body) }

// SetBodyFrom keeps the body's text to be decoded by decode on the first Body. text may be a view of the
// request's body buffer (dialect.Input.Body), which is why that buffer is never reused.
func (r *Request) SetBodyFrom(text string, decode func(string) map[string]any) {
	r.body.setSource(text, decode)
}

// lazy is a value built from its source on first use, once, or set built. It is safe for concurrent use.
type lazy[S, T any] struct {
	once  sync.Once
	src   S
	build func(S) T
	value T
}

func (l *lazy[S, T]) set(value T) { l.value, l.build = value, nil }

func (l *lazy[S, T]) setSource(src S, build func(S) T) { l.src, l.build = src, build }

// get builds the value the first time and returns it.
func (l *lazy[S, T]) get() T {
	l.once.Do(func() {
		if l.build == nil {
			return
		}
		l.value = l.build(l.src)
		l.build = nil
		var zero S
		l.src = zero // the source (a body's text, a header map) is not kept past its use
	})
	return l.value
}

// Answer is what an action produced, encoded by the dialect into its own response format.
type Answer struct {
	// Text is the main reply.
	Text string
	// Messages are rich messages, in order.
	Messages []Message
	// Payload is the custom payload (a JSON object).
	Payload map[string]any
	// Parameters are session parameters to set; a nil value deletes the parameter where the dialect can.
	Parameters map[string]any
	// FollowupEvent triggers a Dialogflow ES event.
	FollowupEvent *FollowupEvent
	// TargetPage and TargetFlow move a Dialogflow CX session.
	TargetPage string
	TargetFlow string
	// MergeBehavior is the CX merge behavior: "", "Append" or "Replace".
	MergeBehavior string
	// EndInteraction ends the conversation; LiveAgentHandoff hands it to a human (Dialogflow).
	EndInteraction, LiveAgentHandoff bool
}

// Message is one rich message: Text or Payload.
type Message struct {
	Text    string
	Payload map[string]any
}

// FollowupEvent is a Dialogflow ES followupEventInput.
type FollowupEvent struct {
	Name         string
	LanguageCode string
	Parameters   map[string]any
}
