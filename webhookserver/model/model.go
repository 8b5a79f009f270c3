// Package model holds the two values every stage of the request path shares: the Request a dialect decodes and
// the Answer an action produces and a dialect encodes. It holds no logic beyond building values on first use
// and depends on no package of ours, so that every stage can import it without reaching back up the pipeline.
package model

import (
	"net/http"
	"sync"
)

// Dialect names, as in WebhookEndpoint spec.dialect.
const (
	DialogflowES = "DialogflowES"
	DialogflowCX = "DialogflowCX"
	Rasa         = "Rasa"
	Generic      = "Generic"
)

// Request is a platform request decoded into one form for every dialect. Its fields are what routes match on
// and what CEL sees as `request`.
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
	// Headers of the HTTP request, lower-case names, values joined with ", ", when they are already flattened.
	// The dialects leave it nil and set LazyHeaders: most routes read no header, and flattening them all was 4%
	// of the bytes a request allocates. Read them with FlatHeaders.
	Headers map[string]string
	// LazyHeaders, when Headers is nil, flattens the request's headers on the first FlatHeaders.
	LazyHeaders *Lazy[http.Header, map[string]string]
	// Query is the URL query, first value of each name.
	Query map[string]string
	// Body is the whole decoded request body (a JSON object as map[string]any) when it is already built: the
	// Generic dialect builds it, the JSON dialects leave it nil and set LazyBody. Read it with DecodedBody.
	Body map[string]any
	// LazyBody, when Body is nil, is the body kept as its text and decoded on the first DecodedBody: most routes
	// read only the fields the dialect already took out, and building the whole object was most of a request's
	// allocations.
	LazyBody *LazyBody
	// Envelope is what a JSON dialect read of the body when it decoded it, in the dialect's own form: the same
	// values as in the body, without the fields it does not read. Its Encode reads the body's fields there; nil
	// for the other dialects.
	Envelope any
	// DeliveryID is the platform's id of this delivery, the default idempotency key (ES responseId, CX
	// detectIntentResponseId + tag, Rasa sender + latest event time + next_action, Generic id or webhook-id header).
	DeliveryID string
}

// DecodedBody returns the whole decoded body: Body, or else LazyBody decoded (once).
func (r *Request) DecodedBody() map[string]any {
	if r.Body != nil || r.LazyBody == nil {
		return r.Body
	}
	return r.LazyBody.Get()
}

// FlatHeaders returns the request's headers as Headers describes them: Headers, or else LazyHeaders built
// (once).
func (r *Request) FlatHeaders() map[string]string {
	if r.Headers != nil || r.LazyHeaders == nil {
		return r.Headers
	}
	return r.LazyHeaders.Get()
}

// Lazy is a value built from its source on first use, once. It is safe for concurrent use.
type Lazy[S, T any] struct {
	once  sync.Once
	src   S
	build func(S) T
	value T
}

// NewLazy keeps src, to be built by build on the first Get.
func NewLazy[S, T any](src S, build func(S) T) *Lazy[S, T] {
	return &Lazy[S, T]{src: src, build: build}
}

// Get builds the value the first time and returns it.
func (l *Lazy[S, T]) Get() T {
	l.once.Do(func() {
		l.value = l.build(l.src)
		l.build = nil
		var zero S
		l.src = zero // the source (a body's text, a header map) is not kept past its use
	})
	return l.value
}

// LazyBody is a request body that was checked when the request was decoded and is decoded again, from its text,
// on first use.
type LazyBody = Lazy[string, map[string]any]

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
