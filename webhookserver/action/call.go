package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/wireformat"
)

// Defaults of a call without its own settings.
const (
	defaultCallTimeout = 10 * time.Second
	defaultBackoff     = 100 * time.Millisecond
	// idempotentAttempts is how many attempts a GET, PUT or DELETE gets without a retry setting.
	idempotentAttempts = 2
	// minAttemptTime is the least time worth starting another attempt with.
	minAttemptTime = 20 * time.Millisecond
)

// Call calls an upstream HTTP API and maps its answer.
type Call struct {
	client   *http.Client
	breakers *Breakers
	url      *expr.Template
	method   string
	headers  []routespec.Header
	body     *expr.Program
	format   fulfillmentv1alpha1.BodyFormat
	timeout  time.Duration
	attempts int
	backoff  time.Duration
	respond  *Respond
}

// SecretLookup reads a Secret key of the route's namespace.
type SecretLookup func(name, key string) ([]byte, error)

// NewCall is the action of a compiled call, calling through upstreams.
func NewCall(upstreams Upstreams, compiled *routespec.Call) *Call {
	spec := compiled.Spec
	c := &Call{client: upstreams.Client, breakers: upstreams.Breakers, url: compiled.URL, method: spec.Method,
		headers: compiled.Headers, body: compiled.Body, format: spec.BodyFormat, timeout: defaultCallTimeout}
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.client != nil && carriesCredentials(c.headers) {
		c.client = withoutRedirects(c.client)
	}
	if spec.Timeout != nil {
		c.timeout = spec.Timeout.Duration
	}
	switch {
	case spec.Retry != nil:
		c.attempts, c.backoff = int(spec.Retry.Attempts), defaultBackoff
		if spec.Retry.Backoff != nil {
			c.backoff = spec.Retry.Backoff.Duration
		}
	case c.method == http.MethodPost || c.method == http.MethodPatch:
		c.attempts = 1 // may not be idempotent: retried only when the route says so
	default:
		c.attempts, c.backoff = idempotentAttempts, defaultBackoff
	}
	if c.attempts < 1 {
		c.attempts = 1
	}
	if compiled.Respond != nil {
		c.respond = NewRespond(compiled.Respond)
	}
	return c
}

// Run implements Action.
func (c *Call) Run(ctx context.Context, inv *Invocation) (*Result, error) {
	target, err := c.url.Render(ctx, inv.Vars)
	if err != nil {
		return nil, templateFailure(ctx, "url", err)
	}
	body, err := c.requestBody(ctx, inv.Vars)
	if err != nil {
		return nil, err
	}
	header, err := c.requestHeader(ctx, inv, body != nil)
	if err != nil {
		return nil, err
	}
	response, err := c.callWithRetries(ctx, target, header, body)
	if err != nil {
		return nil, err
	}
	if c.respond == nil {
		return &Result{Answer: &model.Answer{}}, nil
	}
	vars := *inv.Vars
	vars.Response = response
	answer, err := c.respond.Answer(ctx, &vars)
	if err != nil {
		return nil, err
	}
	return &Result{Answer: answer}, nil
}

// requestHeader is the call's headers: the route's own, rendered with the request's variables, over Accept,
// Content-Type and the idempotency key. A rendered value that is not a valid header value (a line break would
// start a header of the caller's choosing) fails the call before anything is sent.
func (c *Call) requestHeader(ctx context.Context, inv *Invocation, hasBody bool) (http.Header, error) {
	header := http.Header{"Accept": {acceptOf[c.format]}}
	if hasBody {
		header.Set("Content-Type", contentTypeOf[c.format])
	}
	if inv.IdempotencyKey != "" {
		header.Set(IdempotencyKeyHeader, inv.IdempotencyKey) // a route's own header below may override it
	}
	for _, h := range c.headers {
		if h.Value == nil {
			header.Set(h.Name, h.Secret)
			continue
		}
		value, err := h.Value.Render(ctx, inv.Vars)
		if err != nil {
			return nil, templateFailure(ctx, "header "+h.Name, err)
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, &Failure{Reason: "template", Message: "header " + h.Name + " rendered to a value that is not " +
				"a valid header value (a line break or another control character): the call is not made"}
		}
		header.Set(h.Name, value)
	}
	return header, nil
}

// The Content-Type of a request body in each format, and the Accept of a call that sends it: the same format
// first, then the others the answer is read in. "" is JSON, bodyFormat's default.
var (
	contentTypeOf = map[fulfillmentv1alpha1.BodyFormat]string{
		"": "application/json", fulfillmentv1alpha1.BodyFormatJSON: "application/json",
		fulfillmentv1alpha1.BodyFormatForm: "application/x-www-form-urlencoded",
		fulfillmentv1alpha1.BodyFormatXML:  "application/xml; charset=utf-8",
	}
	acceptOf = map[fulfillmentv1alpha1.BodyFormat]string{
		"": "application/json", fulfillmentv1alpha1.BodyFormatJSON: "application/json",
		fulfillmentv1alpha1.BodyFormatForm: "application/json, application/x-www-form-urlencoded;q=0.9, */*;q=0.1",
		fulfillmentv1alpha1.BodyFormatXML:  "application/xml, text/xml;q=0.9, application/json;q=0.8, */*;q=0.1",
	}
)

// requestBody is the body in the call's bodyFormat: the body expression's value, or the normalized request for
// methods that carry a body. Inbound headers are never sent on: they hold the caller's credentials.
func (c *Call) requestBody(ctx context.Context, vars *expr.Vars) ([]byte, error) {
	var value any
	switch {
	case c.body != nil:
		v, err := c.body.Eval(ctx, vars)
		if err != nil {
			return nil, templateFailure(ctx, "body", err)
		}
		value = v
	case c.method == http.MethodGet || c.method == http.MethodDelete:
		return nil, nil
	default:
		value = normalizedRequest(vars.Request)
	}
	return encodeBody(c.format, value)
}

// encodeBody writes value in format, as the Generic dialect writes its answers to legacy callers, so that both
// directions map values one way.
func encodeBody(format fulfillmentv1alpha1.BodyFormat, value any) ([]byte, error) {
	switch format {
	case fulfillmentv1alpha1.BodyFormatForm:
		fields, ok := value.(map[string]any)
		if !ok {
			return nil, &Failure{Reason: "template", Message: fmt.Sprintf("bodyFormat Form sends an object's fields, "+
				"and the body is %s: write the body as an object, {\"name\": value}", jsonKind(value))}
		}
		body, err := wireformat.EncodeForm(fields)
		if err != nil {
			return nil, &Failure{Reason: "template", Message: "the body cannot be sent as a form", Err: err}
		}
		return body, nil
	case fulfillmentv1alpha1.BodyFormatXML:
		body, err := wireformat.EncodeXML("request", value)
		if err != nil {
			return nil, &Failure{Reason: "template", Message: "the body cannot be sent as XML", Err: err}
		}
		return body, nil
	}
	body, err := json.Marshal(value)
	if err != nil {
		return nil, &Failure{Reason: "template", Message: "the body is not JSON", Err: err}
	}
	return body, nil
}

// jsonKind names the kind of a JSON value for an error.
func jsonKind(value any) string {
	switch value.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "a number"
}

func normalizedRequest(r *model.Request) map[string]any {
	if r == nil {
		return map[string]any{}
	}
	return map[string]any{
		"dialect": r.Dialect, "intent": r.Intent, "action": r.Action, "tag": r.Tag, "event": r.Event,
		"text": r.Text, "languageCode": r.LanguageCode, "session": r.Session, "parameters": r.Parameters,
	}
}

// callWithRetries makes up to c.attempts attempts with exponential backoff and full jitter, never past the
// deadline in ctx: an attempt gets at most what is left of it.
func (c *Call) callWithRetries(ctx context.Context, target string, header http.Header, body []byte) (*expr.Response, error) {
	backoff := c.backoff
	var last error
	for attempt := 1; ; attempt++ {
		response, retryable, err := c.attempt(ctx, target, header, body)
		if err == nil {
			return response, nil
		}
		last = err
		if !retryable || attempt >= c.attempts {
			return nil, last
		}
		wait := time.Duration(rand.Int64N(int64(backoff) + 1))
		if remaining(ctx, time.Hour) < wait+minAttemptTime {
			return nil, &Failure{Reason: "deadline", Message: fmt.Sprintf("no time left for attempt %d", attempt+1), Err: last}
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, &Failure{Reason: "deadline", Message: "the deadline passed during backoff", Err: last}
		}
		backoff *= 2
	}
}

// attempt makes one call through the upstream's circuit breaker. It reports whether a failure is worth
// retrying; only those failures (unreachable, too slow, 429 and 5xx) count against the upstream's health.
func (c *Call) attempt(ctx context.Context, target string, header http.Header, body []byte) (*expr.Response, bool, error) {
	var (
		response  *expr.Response
		retryable bool
		final     error
	)
	err := guarded(c.breakers.For(upstreamOf(target)), func() error {
		response, retryable, final = c.roundTrip(ctx, target, header, body)
		if retryable {
			return final
		}
		return nil
	})
	if errors.Is(err, ErrCircuitOpen) {
		return nil, false, err
	}
	if err != nil {
		return nil, retryable, err
	}
	return response, retryable, final
}

// roundTrip makes one HTTP request and reads the answer.
func (c *Call) roundTrip(ctx context.Context, target string, header http.Header, body []byte) (*expr.Response, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, reader)
	if err != nil {
		return nil, false, &Failure{Reason: "template", Message: "the rendered URL is not valid", Err: err}
	}
	req.Header = header.Clone()
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, true, &Failure{Reason: "deadline", Message: "the upstream did not answer in time", Err: ctx.Err()}
		}
		return nil, !refused(err), &Failure{Reason: "upstream_unreachable", Message: "calling the upstream", Err: redactURL(err)}
	}
	defer resp.Body.Close()
	content, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBodyBytes+1))
	if err != nil {
		return nil, true, &Failure{Reason: "upstream_unreachable", Message: "reading the upstream answer", Err: err}
	}
	if len(content) > maxUpstreamBodyBytes {
		return nil, false, &Failure{Reason: "response_too_large", Message: fmt.Sprintf("the upstream answer is over %d bytes", maxUpstreamBodyBytes)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		retryable := retryableStatus(resp.StatusCode)
		return nil, retryable, &Failure{Reason: "upstream_status", Message: fmt.Sprintf("the upstream answered %d", resp.StatusCode),
			Answer: answerExcerpt(content), retryable: retryable}
	}
	return &expr.Response{Status: resp.StatusCode, Headers: lowerHeaders(resp.Header), Body: decodeBody(resp.Header, content)}, false, nil
}

// decodeBody is the value of an answer by its Content-Type: the JSON value of a JSON answer, the object of an XML
// or form answer (read as the Generic dialect reads such requests, within the same bounds), and the text of any
// other, or of one that does not parse as it says. An answer that is a JSON object or array is JSON whatever its
// Content-Type says: APIs and file stores send JSON as application/octet-stream or text/plain, and a route
// mapping response.body.balance should not fail on a header. A scalar ("42", "ok") is JSON only when declared
// so, or undeclared, since it reads as text too. content is already bounded (maxUpstreamBodyBytes), and so is
// what decoding it builds.
func decodeBody(header http.Header, content []byte) any {
	mediaType, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	switch {
	case mediaType == "application/xml" || mediaType == "text/xml" || strings.HasSuffix(mediaType, "+xml"):
		if object, err := wireformat.DecodeXML(content); err == nil {
			return object
		}
		return string(content)
	case mediaType == "application/x-www-form-urlencoded":
		if object, err := wireformat.DecodeForm(content); err == nil {
			return object
		}
		return string(content)
	}
	declared := mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
	if declared || mediaType == "" || looksLikeJSONContainer(content) {
		var value any
		if err := json.Unmarshal(content, &value); err == nil {
			return value
		}
	}
	return string(content)
}

// looksLikeJSONContainer tells whether content starts, after white space, like a JSON object or array.
func looksLikeJSONContainer(content []byte) bool {
	trimmed := bytes.TrimLeft(content, " \t\r\n")
	return len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
}

func lowerHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, values := range h {
		out[strings.ToLower(name)] = strings.Join(values, ", ")
	}
	return out
}

// redactURL drops the query string from a *url.Error, which may carry values rendered from the request.
func redactURL(err error) error {
	var urlErr interface{ Unwrap() error }
	if errors.As(err, &urlErr) {
		return urlErr.Unwrap()
	}
	return err
}

// retryableStatus: the upstream is overloaded or unavailable, and may answer another attempt (a 500 is a bug
// that the same request will meet again).
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
