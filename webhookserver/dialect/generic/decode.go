package generic

import (
	"bytes"
	"maps"
	"net/http"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/wireformat"
)

// Decode reads the body in the format its Content-Type names (415 for another); a request without a body, of any
// method, is read from its query string; a body and a query string are merged, the body's fields winning
// (mergeQuery). Event is "event" (or the sender's own event name, see sources.go), Intent "intent", Session
// "session.id" (or "session_id", handy in flat formats), Parameters "session.parameters", Environment a Stripe
// event's livemode and Version its api_version or "version" (sources.go).
func (c codec) Decode(in dialect.Input) (dialect.Decoded, error) {
	body, format, err := c.decodeBody(in)
	if err != nil {
		return nil, err
	}
	var r wire.Reader
	session := r.Object(body, "session")
	d := &decoded{answer: format}
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

// decodeBody reads the event, from the body, the query string, or both merged, and the format of its answer: the
// caller's own, or the one its Accept header asks for (negotiate).
func (c codec) decodeBody(in dialect.Input) (map[string]any, answerFormat, error) {
	format, answer := answerFormatOf(in.Header)
	// An endpoint whose HMAC signature covers the body leaves its query string out of the event: nothing signs
	// it, so whoever saw one signed request could send it again with a query that names another event. Routes
	// still read it, unverified, as request.query.
	query := in.Query
	if c.signed {
		query = nil
	}
	blank := len(bytes.TrimSpace(in.Body)) == 0
	if blank && (len(query) > 0 || !carriesBody(in.Method)) {
		object, err := wireformat.FieldsToObject(query, "the query string")
		return object, answer, err
	}
	body, err := decodeFormat(in, format)
	if err != nil || len(query) == 0 {
		return body, answer, err
	}
	fields, err := wireformat.FieldsToObject(query, "the query string")
	if err != nil {
		return nil, answer, err
	}
	mergeQuery(body, fields)
	return body, answer, nil
}

// carriesBody says whether a request of method is expected to carry a body, so that one without a body and
// without a query string is refused as empty rather than read as an empty event.
func carriesBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// mergeQuery adds to body the query's fields that body does not set, at any depth: the body wins, because a
// sender puts its event there, and a query string is the part of a URL that proxies, caches and links change.
// A field that is an object in one and a value in the other keeps body's.
func mergeQuery(body, query map[string]any) {
	for name, value := range query {
		existing, set := body[name]
		if !set {
			body[name] = value
			continue
		}
		inBody, bodyObject := existing.(map[string]any)
		inQuery, queryObject := value.(map[string]any)
		if bodyObject && queryObject {
			mergeQuery(inBody, inQuery)
		}
	}
}

// decodeFormat reads a body in format: 415 for a format the dialect does not read.
func decodeFormat(in dialect.Input, format bodyFormat) (map[string]any, error) {
	switch format {
	case jsonBody:
		return wire.DecodeObject(in.Body)
	case formBody:
		return wireformat.DecodeForm(in.Body)
	case xmlBody:
		return wireformat.DecodeXML(in.Body)
	}
	_, mediaType := formatOf(in.Header.Get("Content-Type"))
	return nil, &dialect.UnsupportedMediaTypeError{MediaType: mediaType, Supported: supportedMediaTypes}
}

// answerFormatOf is the format of a request's body, by its Content-Type, and the format of its answer.
func answerFormatOf(header http.Header) (bodyFormat, answerFormat) {
	format, mediaType := formatOf(header.Get("Content-Type"))
	return format, negotiate(format, mediaType, strings.Join(header.Values("Accept"), ","))
}
