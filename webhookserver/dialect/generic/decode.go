package generic

import (
	"bytes"
	"maps"
	"net/http"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Decode reads the body in the format its Content-Type names (415 for another) or, for a GET or HEAD without a
// body, the query string. Event is "event" (or the sender's own event name, see sources.go), Intent "intent",
// Session "session.id" (or "session_id", handy in flat formats), Parameters "session.parameters".
func (c codec) Decode(in dialect.Input) (dialect.Decoded, error) {
	body, format, err := decodeBody(in)
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
	return d, nil
}

// decodeBody reads the body, and the format of its answer: the caller's own, or the one its Accept header asks
// for (negotiate).
func decodeBody(in dialect.Input) (map[string]any, answerFormat, error) {
	format, answer := answerFormatOf(in.Header)
	blank := len(bytes.TrimSpace(in.Body)) == 0
	if blank && (in.Method == http.MethodGet || in.Method == http.MethodHead) {
		object, err := fieldsToObject(in.Query, "the query string")
		return object, answer, err
	}
	var object map[string]any
	var err error
	switch format {
	case jsonBody:
		object, err = wire.DecodeObject(in.Body)
	case formBody:
		object, err = DecodeForm(in.Body)
	case xmlBody:
		object, err = xmlToObject(in.Body)
	default:
		_, mediaType := formatOf(in.Header.Get("Content-Type"))
		err = &dialect.UnsupportedMediaTypeError{MediaType: mediaType, Supported: supportedMediaTypes}
	}
	return object, answer, err
}

// answerFormatOf is the format of a request's body, by its Content-Type, and the format of its answer.
func answerFormatOf(header http.Header) (bodyFormat, answerFormat) {
	format, mediaType := formatOf(header.Get("Content-Type"))
	return format, negotiate(format, mediaType, strings.Join(header.Values("Accept"), ","))
}
