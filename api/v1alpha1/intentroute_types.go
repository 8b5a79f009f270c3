package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IntentRouteSpec says what to do for an intent, action, tag or event of one endpoint.
//
// +kubebuilder:validation:XValidation:rule="[has(self.respond), has(self.call), has(self.forward)].filter(x, x).size() == 1",message="an IntentRoute needs exactly one action: set one of spec.respond, spec.call or spec.forward"
type IntentRouteSpec struct {
	// endpointRef names the WebhookEndpoint, in the same namespace, that serves this route.
	// +required
	EndpointRef LocalObjectReference `json:"endpointRef"`

	// priority orders routes that match the same request: higher first; on a tie the older route wins, then the
	// name in alphabetical order.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=-1000
	// +kubebuilder:validation:Maximum=1000
	Priority int32 `json:"priority"`

	// match says which requests this route answers. A request matches when it matches one of the listed
	// intents, actions, tags or events (any list that is set), and the when guard is true.
	// +required
	Match RouteMatch `json:"match"`

	// respond answers from templates.
	// +optional
	Respond *RespondAction `json:"respond,omitempty"`

	// call calls a backend API and maps its answer.
	// +optional
	Call *CallAction `json:"call,omitempty"`

	// forward sends the original request to a backend that speaks the endpoint's dialect and returns its answer.
	// +optional
	Forward *ForwardAction `json:"forward,omitempty"`

	// fallback overrides the endpoint's fallback when this route's action fails or the deadline is near, in every
	// dialect: a Generic sender then gets it with HTTP 200 instead of a 502 or 422.
	// +optional
	Fallback *Fallback `json:"fallback,omitempty"`
}

// RouteMatch selects requests.
//
// +kubebuilder:validation:XValidation:rule="has(self.intents) || has(self.actions) || has(self.tags) || has(self.events) || has(self.when)",message="spec.match needs at least one of intents, actions, tags, events or when"
type RouteMatch struct {
	// intents by display name: Dialogflow ES queryResult.intent.displayName, Dialogflow CX
	// intentInfo.displayName, Rasa latest intent, Generic `intent`.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Intents []string `json:"intents,omitempty"`

	// actions: Dialogflow ES queryResult.action, Rasa next_action.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Actions []string `json:"actions,omitempty"`

	// tags: Dialogflow CX fulfillmentInfo.tag.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Tags []string `json:"tags,omitempty"`

	// events: Generic `event`.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Events []string `json:"events,omitempty"`

	// environments select requests by request.environment (a Dialogflow session's environment or "draft", a
	// Stripe event's "live" or "test", or the endpoint's environmentFrom); absent, every environment. They narrow
	// the lists above and when, they select nothing alone.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Environments []string `json:"environments,omitempty"`

	// versions select requests by request.version (Rasa's version, a Generic event's api_version or version, or
	// the endpoint's versionFrom); absent, every version. They narrow the lists above and when, as environments
	// do.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Versions []string `json:"versions,omitempty"`

	// when is a CEL guard that must be true, for example `params.amount > 100` or
	// `request.languageCode == "de"`.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	When string `json:"when,omitempty"`
}

// MergeBehavior says how Dialogflow CX combines the webhook's messages with the page's.
// +kubebuilder:validation:Enum=Append;Replace
type MergeBehavior string

// RespondAction answers from templates. Strings are templates: ${expr} is replaced by the value of the CEL
// expression expr; parameters are whole CEL expressions.
//
// Each field says the dialects that send it; text, parameters, payload and messages of kind text or payload are
// sent in every dialect. A route whose endpoint's dialect cannot send a field it sets is not accepted, and its
// status names the dialects that can.
//
// +kubebuilder:validation:XValidation:rule="has(self.text) || has(self.messages) || has(self.payload) || has(self.parameters) || has(self.followupEvent) || has(self.targetPage) || has(self.targetFlow) || (has(self.endInteraction) && self.endInteraction) || (has(self.liveAgentHandoff) && self.liveAgentHandoff) || has(self.contexts) || has(self.clearContexts) || (has(self.clearAllContexts) && self.clearAllContexts) || has(self.formParameters) || has(self.events)",message="respond needs something to answer: text, messages, payload, parameters, followupEvent, targetPage, targetFlow, endInteraction, liveAgentHandoff, contexts, clearContexts, clearAllContexts, formParameters or events"
// +kubebuilder:validation:XValidation:rule="!has(self.targetPage) || !has(self.targetFlow)",message="respond.targetPage and respond.targetFlow are alternatives: set one",fieldPath=".targetFlow"
type RespondAction struct {
	// text is the reply (Dialogflow fulfillmentText or a text message, Rasa a text response, Generic
	// fulfillmentText), for example "Your balance is ${response.body.balance} EUR.".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Text string `json:"text,omitempty"`

	// parameters are session parameters to set, each a CEL expression (Dialogflow ES output context,
	// Dialogflow CX sessionInfo.parameters, Rasa slot events, Generic parameters). A null value deletes one.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 256 && size(self[k]) <= 4096)",message="parameter names are at most 256 characters and expressions at most 4096"
	Parameters map[string]string `json:"parameters,omitempty"`

	// payload is a free-form JSON object returned as the custom payload; string values are templates.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Payload *apiextensionsv1.JSON `json:"payload,omitempty"`

	// messages are rich messages (Dialogflow fulfillmentMessages / fulfillmentResponse.messages, Rasa
	// responses), each a text or a custom payload.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Messages []Message `json:"messages,omitempty"`

	// mergeBehavior for Dialogflow CX: Append (default) or Replace the page's messages.
	// +optional
	MergeBehavior MergeBehavior `json:"mergeBehavior,omitempty"`

	// targetPage moves a Dialogflow CX session to this page (a full page resource name; may be a template).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	TargetPage string `json:"targetPage,omitempty"`

	// targetFlow moves a Dialogflow CX session to this flow.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	TargetFlow string `json:"targetFlow,omitempty"`

	// followupEvent triggers a Dialogflow ES event (followupEventInput).
	// +optional
	FollowupEvent *FollowupEvent `json:"followupEvent,omitempty"`

	// endInteraction ends the conversation after this answer. Dialogflow ES: endInteraction, a field of the
	// v2beta1 API only; a request the endpoint does not take for v2beta1 (request.version) gets the fallback
	// instead, since a v2 agent refuses the whole answer for it. Dialogflow CX: a move to the current flow's
	// END_SESSION page (CX's endInteraction message is output-only), so it cannot be set with targetPage or
	// targetFlow. Dialogflow ES and CX only.
	// +optional
	EndInteraction bool `json:"endInteraction,omitempty"`

	// liveAgentHandoff hands the conversation to a human agent: Dialogflow ES liveAgentHandoff (v2beta1 only,
	// as endInteraction) and a Dialogflow CX liveAgentHandoff message.
	// +optional
	LiveAgentHandoff bool `json:"liveAgentHandoff,omitempty"`

	// contexts sets Dialogflow ES output contexts, each with its lifespan and parameters, as
	// dialogflow-fulfillment's setContext does. Dialogflow ES only.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Contexts []DialogflowContext `json:"contexts,omitempty"`

	// clearContexts ends these Dialogflow ES contexts (lifespan 0), by context id. Dialogflow ES only.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=250
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9_%-]+$`
	ClearContexts []string `json:"clearContexts,omitempty"`

	// clearAllContexts ends every context the request carries, except the endpoint's own session context
	// (respond.parameters manages it: set a parameter to null to drop it) and Dialogflow's system contexts
	// (ids starting with "__"). contexts set by this answer are kept. Dialogflow ES only.
	// +optional
	ClearAllContexts bool `json:"clearAllContexts,omitempty"`

	// formParameters validate or set the parameters of a form: Dialogflow CX page form parameters
	// (pageInfo.formInfo.parameterInfo: an INVALID parameter is cleared and re-prompted) and the slots a Rasa
	// form validation action (validate_<form>) validates (an invalid slot is set to null, so the form asks
	// again). Dialogflow CX and Rasa.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	FormParameters []FormParameter `json:"formParameters,omitempty"`

	// events are Rasa events beyond slots, applied in order: a follow-up action, a form (active loop) to start
	// or stop, a restart, a new session, a reminder to schedule or cancel. Rasa only.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Events []RasaEvent `json:"events,omitempty"`
}

// DialogflowContext is a Dialogflow ES output context.
type DialogflowContext struct {
	// name is the context id (the last segment of <session>/contexts/<id>); Dialogflow lower-cases it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=250
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_%-]+$`
	Name string `json:"name"`

	// lifespanCount is the number of conversational turns the context stays active; 0 ends it.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	LifespanCount *int32 `json:"lifespanCount,omitempty"`

	// parameters of the context, each a CEL expression.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 256 && size(self[k]) <= 4096)",message="parameter names are at most 256 characters and expressions at most 4096"
	Parameters map[string]string `json:"parameters,omitempty"`
}

// FormParameter validates or sets one form parameter (Dialogflow CX) or slot (Rasa).
//
// +kubebuilder:validation:XValidation:rule="has(self.invalid) || has(self.value)",message="a form parameter needs invalid, value or both"
type FormParameter struct {
	// name of the parameter (its display name in Dialogflow CX, the slot in Rasa).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// invalid is a CEL condition that rejects the value, for example
	// `!(params.promo_code in ["SPRING10", "WELCOME"])`. A rejected parameter is cleared: Dialogflow CX marks it
	// INVALID and re-prompts it, Rasa sets the slot to null and the form asks for it again. Say why in
	// respond.text or messages.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Invalid string `json:"invalid,omitempty"`

	// value is a CEL expression for the value of a parameter not rejected, for example
	// `params.promo_code.upperAscii()`. Unset, the parameter keeps the value it has: Dialogflow CX marks it FILLED,
	// and Rasa sets the slot to its current value, as rasa-sdk does for a slot that passes validation.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value,omitempty"`
}

// RasaEvent is one Rasa event: exactly one of its fields.
//
// +kubebuilder:validation:XValidation:rule="[has(self.followupAction), has(self.activeLoop), has(self.restart) && self.restart, has(self.sessionStarted) && self.sessionStarted, has(self.reminder), has(self.cancelReminder)].filter(x, x).size() == 1",message="an event is exactly one of followupAction, activeLoop, restart, sessionStarted, reminder or cancelReminder"
type RasaEvent struct {
	// followupAction is the action Rasa runs next (FollowupAction).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+$`
	FollowupAction string `json:"followupAction,omitempty"`

	// activeLoop starts the form (loop) it names, or stops the active one when its name is empty (ActiveLoop).
	// +optional
	ActiveLoop *ActiveLoop `json:"activeLoop,omitempty"`

	// restart resets the conversation (Restarted).
	// +optional
	Restart bool `json:"restart,omitempty"`

	// sessionStarted starts a new session (SessionStarted).
	// +optional
	SessionStarted bool `json:"sessionStarted,omitempty"`

	// reminder schedules an intent to be triggered later (ReminderScheduled).
	// +optional
	Reminder *Reminder `json:"reminder,omitempty"`

	// cancelReminder cancels scheduled reminders by name, intent or both (ReminderCancelled).
	// +optional
	CancelReminder *CancelReminder `json:"cancelReminder,omitempty"`
}

// ActiveLoop names the Rasa form to start; an empty name stops the active one.
type ActiveLoop struct {
	// name of the form; empty stops the active form.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]*$`
	Name string `json:"name,omitempty"`
}

// Reminder schedules a Rasa intent.
type Reminder struct {
	// intent triggered when the reminder fires, for example EXTERNAL_reminder.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Intent string `json:"intent"`

	// after is how long from the answer until the reminder fires, for example 5m.
	// +required
	After metav1.Duration `json:"after"`

	// name of the reminder, so that a later one of the same name replaces it and cancelReminder can name it.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name,omitempty"`

	// entities sent with the intent, each a CEL expression.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 256 && size(self[k]) <= 4096)",message="entity names are at most 256 characters and expressions at most 4096"
	Entities map[string]string `json:"entities,omitempty"`

	// keepOnUserMessage keeps the reminder when the user writes before it fires; by default a user message
	// cancels it (Rasa's kill_on_user_message).
	// +optional
	KeepOnUserMessage bool `json:"keepOnUserMessage,omitempty"`
}

// CancelReminder cancels Rasa reminders.
//
// +kubebuilder:validation:XValidation:rule="has(self.name) || has(self.intent)",message="cancelReminder needs a name, an intent or both"
type CancelReminder struct {
	// name of the reminders to cancel.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name,omitempty"`

	// intent of the reminders to cancel.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Intent string `json:"intent,omitempty"`
}

// Message is one rich message: exactly one of its kinds. text and payload are sent in every dialect; image, card
// and quickReplies in Dialogflow ES, Rasa and Generic; outputAudioText, playAudio, telephonyTransferCall,
// conversationSuccess and liveAgentHandoff in Dialogflow CX; response in Rasa. String fields are templates.
//
// +kubebuilder:validation:XValidation:rule="[has(self.text), has(self.payload), has(self.image), has(self.card), has(self.quickReplies), has(self.outputAudioText), has(self.playAudio), has(self.telephonyTransferCall), has(self.conversationSuccess), has(self.liveAgentHandoff), has(self.response)].filter(x, x).size() == 1",message="a message is exactly one of text, payload, image, card, quickReplies, outputAudioText, playAudio, telephonyTransferCall, conversationSuccess, liveAgentHandoff or response"
type Message struct {
	// text of the message.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Text string `json:"text,omitempty"`

	// payload of a custom message; string values are templates.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Payload *apiextensionsv1.JSON `json:"payload,omitempty"`

	// image shows a picture (Dialogflow ES image, Rasa image response).
	// +optional
	Image *ImageMessage `json:"image,omitempty"`

	// card shows a title, subtitle, image and buttons (Dialogflow ES card; Rasa text, image and buttons).
	// +optional
	Card *CardMessage `json:"card,omitempty"`

	// quickReplies offers replies to tap (Dialogflow ES quickReplies, Rasa buttons).
	// +optional
	QuickReplies *QuickReplies `json:"quickReplies,omitempty"`

	// outputAudioText is spoken by Dialogflow CX's text-to-speech: plain text or SSML.
	// +optional
	OutputAudioText *OutputAudioText `json:"outputAudioText,omitempty"`

	// playAudio plays an audio file (Dialogflow CX telephony integrations). Dialogflow CX itself combines it with
	// synthesized speech into mixedAudio, which a webhook does not write.
	// +optional
	PlayAudio *PlayAudio `json:"playAudio,omitempty"`

	// telephonyTransferCall transfers the call (Dialogflow CX telephony integrations).
	// +optional
	TelephonyTransferCall *TelephonyTransferCall `json:"telephonyTransferCall,omitempty"`

	// conversationSuccess tells Dialogflow CX the conversation reached its goal, with metadata for the
	// integration.
	// +optional
	ConversationSuccess *MessageMetadata `json:"conversationSuccess,omitempty"`

	// liveAgentHandoff hands the conversation to a human agent (Dialogflow CX), with metadata for the
	// integration.
	// +optional
	LiveAgentHandoff *MessageMetadata `json:"liveAgentHandoff,omitempty"`

	// response utters a response of the Rasa domain by name, with variables to fill in.
	// +optional
	Response *ResponseTemplate `json:"response,omitempty"`

	// platform shows the message only on this Dialogflow ES integration (Intent.Message.platform). Dialogflow
	// ES only.
	// +optional
	Platform MessagePlatform `json:"platform,omitempty"`
}

// MessagePlatform is a Dialogflow ES integration (google.cloud.dialogflow.v2.Intent.Message.Platform).
// +kubebuilder:validation:Enum=FACEBOOK;SLACK;TELEGRAM;KIK;SKYPE;LINE;VIBER;ACTIONS_ON_GOOGLE;GOOGLE_HANGOUTS
type MessagePlatform string

// ImageMessage is a picture.
type ImageMessage struct {
	// url of the image (a template).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// accessibilityText describes the image for screen readers.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	AccessibilityText string `json:"accessibilityText,omitempty"`
}

// CardMessage is a card.
type CardMessage struct {
	// title of the card.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Title string `json:"title"`

	// subtitle of the card.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Subtitle string `json:"subtitle,omitempty"`

	// imageURL of the card's picture.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	ImageURL string `json:"imageURL,omitempty"`

	// buttons of the card.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Buttons []CardButton `json:"buttons,omitempty"`
}

// CardButton is a button of a card.
type CardButton struct {
	// text on the button.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Text string `json:"text"`

	// postback is sent back when the button is tapped: a text the user says or a URL to open (Dialogflow ES),
	// the payload of the Rasa button (for example /choose{"plan": "gold"}). Unset, the button's text.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Postback string `json:"postback,omitempty"`
}

// QuickReplies are replies to tap.
type QuickReplies struct {
	// title shown above the replies.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Title string `json:"title,omitempty"`

	// replies to offer.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Replies []string `json:"replies"`
}

// OutputAudioText is spoken text: plain or SSML.
//
// +kubebuilder:validation:XValidation:rule="has(self.text) != has(self.ssml)",message="outputAudioText is either text or ssml"
type OutputAudioText struct {
	// text to speak.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Text string `json:"text,omitempty"`

	// ssml to speak, for example <speak>Your code is <say-as interpret-as="characters">${params.code}</say-as></speak>.
	// Template values are XML-escaped.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	SSML string `json:"ssml,omitempty"`
}

// PlayAudio is an audio file to play.
type PlayAudio struct {
	// audioURI of the file, as the telephony integration reads it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	AudioURI string `json:"audioURI"`
}

// TelephonyTransferCall transfers a call to a phone number. Dialogflow CX, the one dialect with call transfers,
// has no transfer to a SIP URI.
type TelephonyTransferCall struct {
	// phoneNumber in E.164 format, for example +15551234567 (or a template).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[+][1-9][0-9]{1,14}$') || self.contains('${')",message="phoneNumber must be in E.164 format, for example +15551234567"
	PhoneNumber string `json:"phoneNumber"`
}

// MessageMetadata is the metadata of a Dialogflow CX control message.
type MessageMetadata struct {
	// metadata for the integration, free-form JSON; string values are templates.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Metadata *apiextensionsv1.JSON `json:"metadata,omitempty"`
}

// ResponseTemplate utters a response of the Rasa domain.
type ResponseTemplate struct {
	// name of the response in the domain, for example utter_ask_promo_code.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+$`
	Name string `json:"name"`

	// variables the response's text fills in ({name} in the domain), each a CEL expression.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 256 && size(self[k]) <= 4096)",message="variable names are at most 256 characters and expressions at most 4096"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k in ['text', 'buttons', 'image', 'custom', 'attachment', 'elements', 'quick_replies', 'response', 'template']))",message="a variable may not be named as a field of a Rasa response (text, buttons, image, custom, attachment, elements, quick_replies, response, template)"
	Variables map[string]string `json:"variables,omitempty"`
}

// FollowupEvent triggers a Dialogflow ES event.
type FollowupEvent struct {
	// name of the event.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+$`
	Name string `json:"name"`

	// languageCode of the event (default the request's).
	// +optional
	// +kubebuilder:validation:MaxLength=35
	LanguageCode string `json:"languageCode,omitempty"`

	// parameters of the event, each a CEL expression.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 256 && size(self[k]) <= 4096)",message="parameter names are at most 256 characters and expressions at most 4096"
	Parameters map[string]string `json:"parameters,omitempty"`
}

// CallAction calls an upstream HTTP API and maps its answer.
//
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || self.url.startsWith('https://')",message="call.tls applies to an https:// url: make call.url https:// or remove call.tls",fieldPath=".tls"
type CallAction struct {
	// url of the upstream, http or https. The path and query may hold ${expr} templates, for example
	// https://bank.internal/accounts/${params.account}/balance. Their values are data: each is percent-encoded
	// for where it stands (in the path one segment, with "/", "?", "#", "%" and a ".." segment encoded; in the
	// query one key or value), so that no value adds a segment, a query parameter or a fragment.
	// ${url.rawPath(expr)} in the path and ${url.rawQuery(expr)} in the query insert an already encoded path or
	// query as it is, for one the route trusts; it may not hold "#", and a path no "?", "." or ".." segment.
	// Literal text is sent as written, so a character that needs encoding (a space) must be written encoded.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://([A-Za-z0-9.-]+|\\\\[[0-9A-Fa-f:.]+\\\\])(:[0-9]{1,5})?([/?#].*)?$')",message="call.url must be an absolute http:// or https:// URL with a literal host (templates are allowed in the path and query only)"
	URL string `json:"url"`

	// method of the call (default POST).
	// +optional
	// +kubebuilder:default=POST
	// +kubebuilder:validation:Enum=GET;POST;PUT;PATCH;DELETE
	Method string `json:"method,omitempty"`

	// headers sent with the call; values may come from Secrets. A call that sends a header from a Secret, or
	// Authorization, Proxy-Authorization or Cookie, follows no redirect, so that they reach this url only.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Headers []Header `json:"headers,omitempty"`

	// body is a CEL expression whose value is sent in bodyFormat, for example
	// `{"account": params.account}`. When unset a GET has no body and other methods send the normalized request.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Body string `json:"body,omitempty"`

	// bodyFormat is the format the body is sent in, for upstreams that read no JSON: JSON (the default), Form
	// (application/x-www-form-urlencoded: an object's keys are fields, a nested key joined with dots, a list
	// repeating its name) or XML (application/xml: a <request> document whose child elements are the object's
	// keys; a key that is no valid XML name becomes <entry name="key">). Form needs an object. The upstream's
	// answer is read by its own Content-Type whatever this says (JSON, XML, a form or text), into response.body.
	// +optional
	// +kubebuilder:default=JSON
	BodyFormat BodyFormat `json:"bodyFormat,omitempty"`

	// timeout of one attempt; never longer than what is left of the endpoint deadline.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10ms') && duration(self) <= duration('30s')",message="call.timeout must be between 10ms and 30s"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// auth authenticates the call with a credential the server obtains: an OAuth2 access token (client
	// credentials), sent as Authorization: Bearer. A call with auth follows no redirect.
	// +optional
	Auth *OutboundAuth `json:"auth,omitempty"`

	// tls sets how the call's https connection is made: the CAs to trust, a client certificate (mutual TLS),
	// the server name to verify.
	// +optional
	TLS *OutboundTLS `json:"tls,omitempty"`

	// retry failed attempts (connection errors, timeouts, 429, 502, 503, 504) while the deadline allows. When
	// unset, a GET, PUT or DELETE is tried twice and a POST or PATCH once, since they may not be idempotent; when
	// set, attempts defaults to 3 and backoff to 100ms.
	// +optional
	Retry *Retry `json:"retry,omitempty"`

	// respond maps the upstream answer, seen as response{status, headers, body}, to the reply. When unset the
	// reply is empty (for Generic events) or the fallback (for chatbot dialects).
	// +optional
	Respond *RespondAction `json:"respond,omitempty"`
}

// BodyFormat is the format of a call's request body.
// +kubebuilder:validation:Enum=JSON;Form;XML
type BodyFormat string

// The formats of a call's request body.
const (
	BodyFormatJSON BodyFormat = "JSON"
	BodyFormatForm BodyFormat = "Form"
	BodyFormatXML  BodyFormat = "XML"
)

// Header is an HTTP header with a literal value or a value from a Secret.
//
// +kubebuilder:validation:XValidation:rule="has(self.value) != has(self.valueFrom)",message="a header needs exactly one of value or valueFrom"
type Header struct {
	// name of the header.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`
	Name string `json:"name"`

	// value of the header: a template with the same variables as url and body. A value rendered with a line
	// break or another control character fails the call. Never put a secret here: use valueFrom.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value,omitempty"`

	// valueFrom reads the value from a Secret.
	// +optional
	ValueFrom *HeaderSource `json:"valueFrom,omitempty"`
}

// HeaderSource is where a header value comes from.
type HeaderSource struct {
	// secretKeyRef selects a Secret key in the route's namespace.
	// +required
	SecretKeyRef SecretKeySelector `json:"secretKeyRef"`
}

// Retry retries failed calls with exponential backoff and jitter.
type Retry struct {
	// attempts in total, the first included (default 3).
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	Attempts int32 `json:"attempts,omitempty"`

	// backoff before the second attempt, doubled for each next one (default 100ms).
	// +optional
	// +kubebuilder:default="100ms"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1ms') && duration(self) <= duration('10s')",message="retry.backoff must be between 1ms and 10s"
	Backoff *metav1.Duration `json:"backoff,omitempty"`
}

// ForwardAction sends the original request to a backend that answers in the endpoint's dialect.
//
// +kubebuilder:validation:XValidation:rule="has(self.url) != has(self.service)",message="forward needs exactly one of url or service"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || (has(self.url) && self.url.startsWith('https://'))",message="forward.tls applies to an https:// url: set forward.url to https:// or remove forward.tls",fieldPath=".tls"
type ForwardAction struct {
	// url of the backend, http or https.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s/$.?#][^\s]*$`
	URL string `json:"url,omitempty"`

	// service is a Service in the route's namespace.
	// +optional
	Service *ServiceTarget `json:"service,omitempty"`

	// timeout of the forwarded request; never longer than what is left of the endpoint deadline.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10ms') && duration(self) <= duration('30s')",message="forward.timeout must be between 10ms and 30s"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// auth authenticates the forwarded request as call.auth does.
	// +optional
	Auth *OutboundAuth `json:"auth,omitempty"`

	// tls sets how the https connection to the backend is made, as call.tls does.
	// +optional
	TLS *OutboundTLS `json:"tls,omitempty"`
}

// OutboundAuth is how the server authenticates to an upstream with a credential it obtains.
//
// +kubebuilder:validation:XValidation:rule="has(self.oauth2)",message="auth needs oauth2: the OAuth2 client credentials to obtain a token with"
type OutboundAuth struct {
	// oauth2 obtains an access token with the OAuth2 client credentials grant (RFC 6749 section 4.4) and sends it
	// as Authorization: Bearer. The token is kept until shortly before it expires, shared by concurrent
	// requests, and fetched again once when the upstream answers 401. Fetching it counts against the request's
	// deadline: a token endpoint that fails or is slow ends in the fallback.
	// +optional
	OAuth2 *OAuth2ClientCredentials `json:"oauth2,omitempty"`
}

// OAuth2AuthStyle is how the client credentials reach the token endpoint.
// +kubebuilder:validation:Enum=Header;Body
type OAuth2AuthStyle string

// The ways of sending OAuth2 client credentials.
const (
	// OAuth2AuthStyleHeader sends them as HTTP basic authentication, which every token endpoint must accept
	// (RFC 6749 section 2.3.1).
	OAuth2AuthStyleHeader OAuth2AuthStyle = "Header"
	// OAuth2AuthStyleBody sends them as the client_id and client_secret form parameters.
	OAuth2AuthStyleBody OAuth2AuthStyle = "Body"
)

// OAuth2ClientCredentials are the settings of the client credentials grant.
//
// +kubebuilder:validation:XValidation:rule="!has(self.endpointParams) || self.endpointParams.all(k, !(k in ['grant_type', 'client_id', 'client_secret', 'scope', 'audience']))",message="oauth2.endpointParams may not set grant_type, client_id, client_secret, scope or audience: use secretRef, scopes and audience",fieldPath=".endpointParams"
type OAuth2ClientCredentials struct {
	// tokenURL is the token endpoint, http or https (use https: the client secret travels in the request). It is
	// reached through the same outbound guard as the call, and with the same tls settings.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://([A-Za-z0-9.-]+|\\\\[[0-9A-Fa-f:.]+\\\\])(:[0-9]{1,5})?(/[^\\\\s#]*)?$')",message="oauth2.tokenURL must be an absolute http:// or https:// URL without a fragment"
	TokenURL string `json:"tokenURL"`

	// secretRef names the Secret holding the client ID and secret.
	// +required
	SecretRef OAuth2SecretRef `json:"secretRef"`

	// scopes requested (the scope parameter, space-separated).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[!#-\[\]-~]+$`
	Scopes []string `json:"scopes,omitempty"`

	// audience is sent as the audience parameter, which Auth0, Okta and others use to pick the API the token is
	// for.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Audience string `json:"audience,omitempty"`

	// endpointParams are further form parameters of the token request (for example resource, RFC 8707).
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) >= 1 && size(k) <= 128 && size(self[k]) <= 1024)",message="endpointParams names are 1 to 128 characters and values at most 1024"
	EndpointParams map[string]string `json:"endpointParams,omitempty"`

	// authStyle is how the client ID and secret are sent: Header (the default), as HTTP basic authentication,
	// or Body, as client_id and client_secret form parameters, for token endpoints that accept only those.
	// +optional
	// +kubebuilder:default=Header
	AuthStyle OAuth2AuthStyle `json:"authStyle,omitempty"`
}

// OAuth2SecretRef names the Secret holding an OAuth2 client's ID and secret, and their keys.
type OAuth2SecretRef struct {
	// name of the Secret, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// clientIDKey is the key holding the client ID (default clientID).
	// +optional
	// +kubebuilder:default=clientID
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	ClientIDKey string `json:"clientIDKey,omitempty"`

	// clientSecretKey is the key holding the client secret (default clientSecret).
	// +optional
	// +kubebuilder:default=clientSecret
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	ClientSecretKey string `json:"clientSecretKey,omitempty"`
}

// OutboundTLS is how an https connection to an upstream is made.
//
// +kubebuilder:validation:XValidation:rule="has(self.caRef) || has(self.clientCertificateSecretRef) || has(self.serverName)",message="tls needs at least one of caRef, clientCertificateSecretRef or serverName"
type OutboundTLS struct {
	// caRef is a PEM bundle of CAs trusted in addition to the system's roots, for an upstream whose certificate a
	// private CA signs.
	// +optional
	CARef *CABundleRef `json:"caRef,omitempty"`

	// clientCertificateSecretRef names a kubernetes.io/tls Secret (keys tls.crt and tls.key) whose certificate
	// the server presents when the upstream asks for one (mutual TLS). A changed Secret is used for new
	// connections without a restart.
	// +optional
	ClientCertificateSecretRef *LocalObjectReference `json:"clientCertificateSecretRef,omitempty"`

	// serverName is the name the upstream's certificate is verified against, and sent in SNI, when it differs
	// from the URL's host (an upstream reached by IP address or an internal alias). Certificates are always
	// verified.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$`
	ServerName string `json:"serverName,omitempty"`
}

// CABundleRef is where a PEM bundle of CA certificates is read from.
//
// +kubebuilder:validation:XValidation:rule="has(self.secretKeyRef) != has(self.configMapKeyRef)",message="caRef needs exactly one of secretKeyRef or configMapKeyRef: the Secret or ConfigMap key holding the PEM CA bundle"
type CABundleRef struct {
	// secretKeyRef selects the Secret key holding the bundle.
	// +optional
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`

	// configMapKeyRef selects the ConfigMap key holding the bundle: how CA bundles are usually published (a
	// trust-manager Bundle, or the <endpoint>-ca-bundle ConfigMap, key ca.crt, of a SelfSigned WebhookEndpoint).
	// +optional
	ConfigMapKeyRef *ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
}

// ConfigMapKeySelector selects a key of a ConfigMap in the same namespace.
type ConfigMapKeySelector struct {
	// name of the ConfigMap, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key inside the ConfigMap's data whose value is used.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// ServiceTarget is a port and path of a Service in the same namespace.
type ServiceTarget struct {
	// name of the Service.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// port of the Service.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// path on the backend (default /).
	// +optional
	// +kubebuilder:default="/"
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/[^\s]*$`
	Path string `json:"path,omitempty"`
}

// IntentRouteStatus says whether the route is served.
type IntentRouteStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Accepted (reasons Accepted, EndpointNotFound, InvalidExpression, Conflict, InvalidTarget) and
	// ResolvedRefs; Ready (True when both are) and Stalled (True with the Accepted reason while the route is
	// rejected) follow kstatus, for `kubectl wait --for=condition=Ready` and Flux health checks.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// endpoint is the name of the WebhookEndpoint serving the route.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}

// IntentRoute says what an endpoint does for an intent, action, tag or event: answer from a template, call a
// backend API and map its answer, or forward to a backend service.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ir,categories=fulfillment
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpointRef.name`
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.priority`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Environments",type=string,JSONPath=`.spec.match.environments`,priority=1
// +kubebuilder:printcolumn:name="Versions",type=string,JSONPath=`.spec.match.versions`,priority=1
type IntentRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says what to do.
	// +required
	Spec IntentRouteSpec `json:"spec"`

	// status says whether the route is served.
	// +optional
	Status IntentRouteStatus `json:"status,omitempty"`
}

// IntentRouteList is a list of IntentRoutes.
//
// +kubebuilder:object:root=true
type IntentRouteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IntentRoute `json:"items"`
}
