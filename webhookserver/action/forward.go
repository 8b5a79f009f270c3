package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// Forward sends the original request to a backend that answers in the endpoint's dialect, and passes its answer
// through.
type Forward struct {
	client   *http.Client
	breakers *Breakers
	url      string
	timeout  time.Duration
	// tokens obtains the OAuth2 access token sent to the backend; nil without auth.oauth2.
	tokens *Tokens
}

// forwardedHeaders are the request headers a backend may need. Authentication headers are never forwarded:
// they are the caller's credentials for this endpoint, not for the backend.
var forwardedHeaders = []string{"Content-Type", "Accept", "Accept-Language", "User-Agent", "X-Request-Id"}

// CompileForward compiles spec; a Service target becomes its cluster DNS name in namespace.
func CompileForward(upstreams Upstreams, spec *fulfillmentv1alpha1.ForwardAction, namespace string) *Forward {
	f := &Forward{client: upstreams.Client, breakers: upstreams.Breakers, url: spec.URL, timeout: defaultCallTimeout, tokens: upstreams.Tokens}
	if f.client != nil && f.tokens != nil {
		f.client = withoutRedirects(f.client) // the token is for this url only
	}
	if s := spec.Service; s != nil {
		f.url = fmt.Sprintf("http://%s.%s.svc:%d%s", s.Name, namespace, s.Port, s.Path)
	}
	if spec.Timeout != nil {
		f.timeout = spec.Timeout.Duration
	}
	return f
}

// Run implements Action: through the backend's circuit breaker, counting unreachable, slow, 429 and 5xx
// answers against its health.
func (f *Forward) Run(ctx context.Context, inv *Invocation) (*Result, error) {
	if f.tokens == nil {
		return f.guardedForward(ctx, inv, nil)
	}
	header := http.Header{}
	return withToken(ctx, f.tokens, header, func() (*Result, error) { return f.guardedForward(ctx, inv, header) })
}

// guardedForward forwards through the backend's circuit breaker, with the headers in extra (the access token)
// over the forwarded ones.
func (f *Forward) guardedForward(ctx context.Context, inv *Invocation, extra http.Header) (*Result, error) {
	var result *Result
	var final error
	err := guarded(f.breakers.For(upstreamOf(f.url)), func() error {
		result, final = f.forward(ctx, inv, extra)
		var failure *Failure
		if errors.As(final, &failure) && failure.Reason == "upstream_status" && !failure.retryable {
			return nil // the backend answered: it is up
		}
		return final
	})
	if err != nil {
		return nil, err
	}
	return result, final
}

// forward makes the request and reads the answer.
func (f *Forward) forward(ctx context.Context, inv *Invocation, extra http.Header) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	method := inv.Input.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, f.url, bytes.NewReader(inv.Input.Body))
	if err != nil {
		return nil, &Failure{Reason: "upstream_unreachable", Message: "building the forwarded request", Err: err}
	}
	req.URL.RawQuery = inv.Input.Query.Encode()
	for _, name := range forwardedHeaders {
		if value := inv.Input.Header.Get(name); value != "" {
			req.Header.Set(name, value)
		}
	}
	for name, values := range extra {
		req.Header[name] = values
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Failure{Reason: "deadline", Message: "the backend did not answer in time", Err: ctx.Err()}
		}
		reason := "upstream_unreachable"
		if errors.Is(err, ErrForbiddenAddress) {
			reason = "forbidden_address"
		}
		return nil, &Failure{Reason: reason, Message: "forwarding to the backend", Err: redactURL(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBodyBytes+1))
	if err != nil {
		return nil, &Failure{Reason: "upstream_unreachable", Message: "reading the backend answer", Err: err}
	}
	if len(body) > maxUpstreamBodyBytes {
		return nil, &Failure{Reason: "response_too_large", Message: fmt.Sprintf("the backend answer is over %d bytes", maxUpstreamBodyBytes)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &Failure{Reason: "upstream_status", Message: fmt.Sprintf("the backend answered %d", resp.StatusCode),
			Answer: answerExcerpt(body), status: resp.StatusCode, retryable: retryableStatus(resp.StatusCode)}
	}
	header := http.Header{}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		header.Set("Content-Type", ct)
	}
	return &Result{Raw: &RawResponse{Status: resp.StatusCode, Header: header, Body: body}}, nil
}
