package cx

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Decode reads a WebhookRequest. Text is the typed text or the voice transcript, Event the triggering event (so
// routes can match CX events too), Parameters sessionInfo.parameters overlaid by the matched intent's resolved
// values, DeliveryID detectIntentResponseId/tag, since one detect-intent call can run several webhooks, and
// Environment the session's (.../environments/E/sessions/S, else "draft"). pageInfo is kept as its text and built
// only for an expression that reads request.pageInfo or an answer that needs it (Views).
func (codec) Decode(in dialect.Input) (dialect.Decoded, error) {
	if err := dialect.CheckJSONContentType(in.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	body, whole, err := wire.DecodeEnvelope(in.Body, envelopeFields)
	if err != nil {
		return nil, err
	}
	var r wire.Reader
	intentInfo := body.Object(&r, "intentInfo")
	sessionInfo := body.Object(&r, "sessionInfo")
	fulfillmentInfo := body.Object(&r, "fulfillmentInfo")
	d := &decoded{}
	req := d.Request()
	*req = model.Request{
		Dialect:      Name,
		Intent:       intentInfo.String(&r, "intentInfo.displayName"),
		Tag:          fulfillmentInfo.String(&r, "fulfillmentInfo.tag"),
		Event:        body.String(&r, "triggerEvent"),
		LanguageCode: body.String(&r, "languageCode"),
		Session:      sessionInfo.String(&r, "sessionInfo.session"),
		Query:        wire.Query(&r, in.Query),
	}
	req.SetHeadersFrom(in.Header, wire.Headers)
	whole.SetOn(req)
	req.SetViewsFrom(func() model.Views { return model.Views{PageInfo: pageInfoOf(body)} })
	// text and transcript are two cases of one oneof: at most one is set.
	text, transcript := body.String(&r, "text"), body.String(&r, "transcript")
	req.Text = text
	if text == "" {
		req.Text = transcript
	}
	req.DeliveryID = deliveryID(body.String(&r, "detectIntentResponseId"), req.Tag)
	req.Parameters = parameters(&r,
		sessionInfo.Map(&r, "sessionInfo.parameters"), intentInfo.Map(&r, "intentInfo.parameters"))
	if err := r.Err(); err != nil {
		return nil, err
	}
	req.Environment = dialogflow.Environment(req.Session)
	return d, nil
}

// envelopeFields are the fields Decode reads.
var envelopeFields = wire.Fields{
	"intentInfo":             {Fields: wire.Fields{"displayName": nil, "parameters": nil}},
	"sessionInfo":            {Fields: wire.Fields{"session": nil, "parameters": nil}},
	"fulfillmentInfo":        {Fields: wire.Fields{"tag": nil}},
	"triggerEvent":           nil,
	"languageCode":           nil,
	"text":                   nil,
	"transcript":             nil,
	"detectIntentResponseId": nil,
	// Read only by some routes and answers: checked, kept as text until then.
	"pageInfo": {Later: true},
}

// pageInfoOf is the request's pageInfo as sent, nil when it is missing or not an object.
func pageInfoOf(body wire.Object) map[string]any {
	pageInfo, _ := body.Value("pageInfo").(map[string]any)
	return pageInfo
}

// parameters overlays the intent's resolved values (intentInfo.parameters.<name>.resolvedValue) on the session
// parameters. A parameter without a resolved value leaves the session's value alone.
func parameters(r *wire.Reader, session, intent map[string]any) map[string]any {
	if len(session)+len(intent) == 0 {
		return nil
	}
	merged := make(map[string]any, len(session)+len(intent))
	for name, value := range session {
		merged[name] = value
	}
	for name := range intent {
		parameter := wire.Entry[map[string]any](r, intent, "intentInfo.parameters", name)
		if resolved, ok := parameter["resolvedValue"]; ok {
			merged[name] = resolved
		}
	}
	return merged
}

func deliveryID(responseID, tag string) string {
	if responseID == "" || tag == "" {
		return responseID
	}
	return responseID + "/" + tag
}
