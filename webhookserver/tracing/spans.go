package tracing

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys: the OpenTelemetry HTTP semantic conventions' where one fits, fulfillment.* for the pipeline's
// own names. None holds a value a caller or a Secret chose beyond a name.
const (
	HTTPRequestMethod  = attribute.Key("http.request.method")
	HTTPResponseStatus = attribute.Key("http.response.status_code")
	HTTPRoute          = attribute.Key("http.route")
	URLPath            = attribute.Key("url.path")
	URLScheme          = attribute.Key("url.scheme")
	ServerAddress      = attribute.Key("server.address")
	ServerPort         = attribute.Key("server.port")
	ErrorType          = attribute.Key("error.type")

	Endpoint       = attribute.Key("fulfillment.endpoint") // namespace/name of the WebhookEndpoint
	Dialect        = attribute.Key("fulfillment.dialect")
	Route          = attribute.Key("fulfillment.route") // the IntentRoute that answered
	FallbackReason = attribute.Key("fulfillment.fallback_reason")
	Refusal        = attribute.Key("fulfillment.refusal") // the error code of a refused request
	AuthMethod     = attribute.Key("fulfillment.auth_method")
	Delivery       = attribute.Key("fulfillment.delivery")
	EventID        = attribute.Key("fulfillment.event_id")
	Attempt        = attribute.Key("fulfillment.attempt")
	Idempotency    = attribute.Key("fulfillment.idempotency") // what the store said: replayed, new, ...
)

// The stages of the pipeline, each a child span of the request's when the request is recorded.
const (
	StageAuth        = "auth"
	StageDecode      = "decode"
	StageIdempotency = "idempotency"
	StageMatch       = "match"
	StageAction      = "action"
	StageEncode      = "encode"
	// StageEnqueue stores an Async endpoint's event in its queue.
	StageEnqueue = "enqueue"
)

// noSpan is what Stage returns when nothing is recorded: ending it and setting attributes on it cost nothing.
var noSpan = trace.SpanFromContext(context.Background())

// Stage starts the child span of stage under ctx's span when that span is recorded (tracing on and the trace
// sampled); otherwise it returns ctx and a span that does nothing, without allocating.
func Stage(ctx context.Context, stage string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noSpan
	}
	return parent.TracerProvider().Tracer(ScopeName).Start(ctx, stage)
}

// Recording reports whether ctx's span is recorded, so that a caller computes attributes only for it.
func Recording(ctx context.Context) bool {
	return trace.SpanFromContext(ctx).IsRecording()
}

// StartServer starts the server span of an incoming request, continuing the trace of its traceparent. It is
// named by the method alone until the request's endpoint is known (Served): the path of a request to no
// endpoint is whatever the caller sent.
func StartServer(tracer trace.Tracer, r *http.Request) (context.Context, trace.Span) {
	ctx := Extract(r.Context(), r.Header)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		HTTPRequestMethod.String(r.Method), URLScheme.String(scheme)))
}

// Served names the server span by the method and the endpoint's path, as the HTTP conventions name a server
// span by its route, and says which endpoint serves it.
func Served(span trace.Span, method, path, endpoint, dialect string) {
	span.SetName(method + " " + path)
	span.SetAttributes(HTTPRoute.String(path), URLPath.String(path), Endpoint.String(endpoint), Dialect.String(dialect))
}

// EndHTTP records status on span, and marks a 5xx (a 4xx of a server span is the caller's, not an error).
func EndHTTP(span trace.Span, status int, clientSide bool) {
	span.SetAttributes(HTTPResponseStatus.Int(status))
	if status >= 500 || (clientSide && status >= 400) {
		span.SetAttributes(ErrorType.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
}

// Transport is base with a client span per request whose context holds a recorded span, and the traceparent
// of the request's trace sent to the upstream. Without a span in the context it is base itself, at the cost
// of one context look-up.
func Transport(base http.RoundTripper) http.RoundTripper {
	return &transport{base: base}
}

type transport struct{ base http.RoundTripper }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return t.base.RoundTrip(req)
	}
	if !parent.IsRecording() {
		// Not sampled: the upstream still continues the trace, unsampled too.
		req = req.Clone(ctx)
		Inject(ctx, req.Header)
		return t.base.RoundTrip(req)
	}
	ctx, span := parent.TracerProvider().Tracer(ScopeName).Start(ctx, req.Method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(clientAttributes(req)...))
	defer span.End()
	// A RoundTripper must not change the request it is given: the header is written on a copy.
	req = req.Clone(ctx)
	Inject(ctx, req.Header)
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		span.SetAttributes(ErrorType.String(errorType(ctx, err)))
		span.SetStatus(codes.Error, "")
		return resp, err
	}
	EndHTTP(span, resp.StatusCode, true)
	return resp, nil
}

// clientAttributes describe an outbound request by its method and the server it goes to. The URL's path is left
// out with its query string and user info: a call's URL is a template, whose path may carry what a request said
// (an account number) and whose query may carry a token.
func clientAttributes(req *http.Request) []attribute.KeyValue {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	attrs := []attribute.KeyValue{HTTPRequestMethod.String(req.Method), URLScheme.String(req.URL.Scheme), ServerAddress.String(host)}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, ServerPort.Int(n))
	}
	return attrs
}

// errorType names a transport failure by its kind only: its text may quote the URL.
func errorType(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return "timeout"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timeout"
	}
	return "transport"
}
