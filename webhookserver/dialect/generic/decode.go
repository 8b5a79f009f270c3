package generic

import (
	"bytes"
	"maps"
	"net/http"
	"net/url"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Decode reads the body in the format its Content-Type names (415 for another) or, for a GET or HEAD without a
// body, the query string. Event is "event" (or the sender's own event name, see sources.go), Intent "intent",
// Session "session.id" (or "session_id", handy in flat formats), Parameters "session.parameters", Environment
// a Stripe event's livemode and Version its api_version or "version" (sources.go).
func (c codec) Decode(in dialect.Input) (dialect.Decoded, error) {
	body, err := decodeBody(in)
	if err != nil {
		return nil, err
	}
	var r wire.Reader
	session := r.Object(body, "session")
	d := &decoded{}
	req := d.Request()
	*req = model.Request{
		Dialect: Name,
		Event:   c.eventName(&r, body, in.Header),
		Intent:  r.String(body, "intent"),
		Session: r.String(session, "session.id"),
		Query:   wire.Query(&r, in.Query),
	}
	req.SetHeadersFrom(in.Header, wire.Headers)
	req.SetBody(body)
	if sessionID := r.String(body, "session_id"); req.Session == "" {
		req.Session = sessionID
	}
	// A copy, so that a stage changing Parameters does not change Body.
	req.Parameters = maps.Clone(r.Object(session, "session.parameters"))
	if err := r.Err(); err != nil {
		return nil, err
	}
	req.DeliveryID = c.deliveryID(body, in)
	req.Environment = environment(body)
	req.Version = c.version(body, in.Header)
	return d, nil
}

func decodeBody(in dialect.Input) (map[string]any, error) {
	blank := len(bytes.TrimSpace(in.Body)) == 0
	if blank && (in.Method == http.MethodGet || in.Method == http.MethodHead) {
		return fieldsToObject(in.Query, "the query string")
	}
	format, mediaType := formatOf(in.Header.Get("Content-Type"))
	switch format {
	case jsonBody:
		return wire.DecodeObject(in.Body)
	case formBody:
		if blank {
			return nil, &dialect.DecodeError{Message: "empty body; expected form fields"}
		}
		// Counted before parsing, which builds every field.
		if err := dialect.CheckFieldCount(bytes.Count(in.Body, []byte("&"))+1, "the form body"); err != nil {
			return nil, err
		}
		values, err := url.ParseQuery(string(in.Body))
		if err != nil {
			return nil, &dialect.DecodeError{Message: "malformed form body: " + err.Error()}
		}
		return fieldsToObject(values, "the form body")
	case xmlBody:
		return xmlToObject(in.Body)
	}
	return nil, &dialect.UnsupportedMediaTypeError{MediaType: mediaType, Supported: supportedMediaTypes}
}
