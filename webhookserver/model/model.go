// Package model holds the two values every stage of the request path shares: the Request a dialect decodes and
// the Answer an action produces and a dialect encodes. It holds no logic beyond building values on first use
// and depends on no package of ours, so that every stage can import it without reaching back up the pipeline.
package model

import (
	"net/http"
	"sync"
	"time"
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
	views   lazy[func() Views, Views]
}

// Views are the platform's conversation state beyond parameters, as routes read it by name. A dialect fills
// the ones its platform sends, from the body, only when an expression reads them.
type Views struct {
	// Contexts are the Dialogflow ES contexts the request carries, by id: each {name, lifespanCount,
	// parameters}.
	Contexts map[string]any
	// PageInfo is the Dialogflow CX pageInfo as sent: currentPage, displayName, formInfo.
	PageInfo map[string]any
	// SlotsToValidate are the slots set by the run of slot events that ends tracker.events, by name: what a
	// form validation action (validate_<form>) validates, by rasa-sdk's rule.
	SlotsToValidate map[string]any
}

// Views returns the request's conversation views, building them on first use.
func (r *Request) Views() Views { return r.views.get() }

// SetViewsFrom makes build the source of Views, called once on first use.
func (r *Request) SetViewsFrom(build func() Views) {
	r.views.setSource(build, func(build func() Views) Views { return build() })
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
	// Contexts are Dialogflow ES output contexts to set; ClearContexts the ids of contexts to end, and
	// ClearAllContexts ends every context the request carries but the session's and the system's.
	Contexts         []Context
	ClearContexts    []string
	ClearAllContexts bool
	// FormParameters validate or set form parameters (Dialogflow CX) or the slots of a form (Rasa).
	FormParameters []FormParameter
	// Events are Rasa events beyond slots, in order.
	Events []Event
}

// Message is one rich message: exactly one of its kinds is set. Platform narrows it to one Dialogflow ES
// integration.
type Message struct {
	Text                  string
	Payload               map[string]any
	Image                 *Image
	Card                  *Card
	QuickReplies          *QuickReplies
	OutputAudioText       *AudioText
	PlayAudio             *PlayAudio
	TelephonyTransferCall *TransferCall
	// ConversationSuccess and LiveAgentHandoff are Dialogflow CX control messages with their metadata.
	ConversationSuccess *Metadata
	LiveAgentHandoff    *Metadata
	// Response utters a response of the Rasa domain.
	Response *ResponseTemplate
	Platform string
}

// Image is a picture.
type Image struct {
	URL, AccessibilityText string
}

// Card is a card with buttons.
type Card struct {
	Title, Subtitle, ImageURL string
	Buttons                   []Button
}

// Button is a card's button: Postback is what tapping it sends (its Text when the route set none).
type Button struct {
	Text, Postback string
}

// QuickReplies are replies to tap.
type QuickReplies struct {
	Title   string
	Replies []string
}

// AudioText is spoken text: Text or SSML (whose template values were XML-escaped).
type AudioText struct {
	Text, SSML string
}

// PlayAudio is an audio file to play.
type PlayAudio struct {
	AudioURI string
}

// TransferCall transfers a call to PhoneNumber.
type TransferCall struct {
	PhoneNumber string
}

// Metadata is the metadata of a control message, nil when the route set none.
type Metadata struct {
	Metadata map[string]any
}

// ResponseTemplate is a response of the Rasa domain by name, with the variables it fills in.
type ResponseTemplate struct {
	Name      string
	Variables map[string]any
}

// Context is a Dialogflow ES output context: its id, lifespan (0 ends it) and parameters.
type Context struct {
	Name          string
	LifespanCount int
	Parameters    map[string]any
}

// FormParameter is the verdict on one form parameter: Invalid rejects it; otherwise Value, when HasValue, is its
// new value, and without one it keeps the value it has.
type FormParameter struct {
	Name     string
	Invalid  bool
	Value    any
	HasValue bool
}

// Event is a Rasa event. Kind says which one; the other fields are those of that kind.
type Event struct {
	Kind EventKind
	// Name is the action of a FollowupAction, the form of an ActiveLoop ("" stops it), the name of a reminder.
	Name string
	// Intent, Entities, TriggerAt and KillOnUserMessage are a reminder's (Intent also a cancellation's).
	Intent            string
	Entities          map[string]any
	TriggerAt         time.Time
	KillOnUserMessage bool
}

// EventKind is the kind of a Rasa event.
type EventKind string

// The Rasa events an answer can carry beside slots.
const (
	EventFollowupAction EventKind = "followup"
	EventActiveLoop     EventKind = "active_loop"
	EventRestart        EventKind = "restart"
	EventSessionStarted EventKind = "session_started"
	EventReminder       EventKind = "reminder"
	EventCancelReminder EventKind = "cancel_reminder"
)

// FollowupEvent is a Dialogflow ES followupEventInput.
type FollowupEvent struct {
	Name         string
	LanguageCode string
	Parameters   map[string]any
}
