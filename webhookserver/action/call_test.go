package action

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

var env = func() *expr.Env {
	e, err := expr.NewEnv()
	if err != nil {
		panic(err)
	}
	return e
}()

func noSecrets(name, key string) ([]byte, error) { return nil, errors.New("no secrets in this test") }

func compileCall(t *testing.T, spec fulfillmentv1alpha1.CallAction) *Call {
	t.Helper()
	return newCall(t, Upstreams{Client: NewClient()}, &spec, func(name, key string) ([]byte, error) {
		if name == "api" && key == "token" {
			return []byte("Bearer upstream-secret\n"), nil
		}
		return noSecrets(name, key)
	})
}

// newCall compiles spec as the server does, then makes its action.
func newCall(t *testing.T, upstreams Upstreams, spec *fulfillmentv1alpha1.CallAction, secret SecretLookup) *Call {
	t.Helper()
	compiled, err := routespec.CompileCall(env, spec, "spec.call", secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewCall(upstreams, compiled)
}

func invocation(params map[string]any) *Invocation {
	return &Invocation{Vars: &expr.Vars{Request: &model.Request{Intent: "X", Parameters: params}}}
}

func TestCallSendsBodyAndSecretHeaderAndMapsTheAnswer(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 256)
		n, _ := r.Body.Read(body)
		if r.Header.Get("Authorization") != "Bearer upstream-secret" || string(body[:n]) != `{"account":"checking"}` || r.URL.Path != "/accounts/checking" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"balance": 10.5}`))
	}))
	defer upstream.Close()
	call := compileCall(t, fulfillmentv1alpha1.CallAction{
		URL:     upstream.URL + "/accounts/${params.account}",
		Method:  http.MethodPost,
		Headers: []fulfillmentv1alpha1.Header{{Name: "Authorization", ValueFrom: &fulfillmentv1alpha1.HeaderSource{SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "api", Key: "token"}}}},
		Body:    `{"account": params.account}`,
		Respond: &fulfillmentv1alpha1.RespondAction{Text: "Balance ${response.body.balance} (${response.status})"},
	})
	result, err := call.Run(context.Background(), invocation(map[string]any{"account": "checking"}))
	if err != nil {
		t.Fatal(err)
	}
	if result.Answer.Text != "Balance 10.5 (200)" {
		t.Errorf("text %q", result.Answer.Text)
	}
}

func TestCallRetries(t *testing.T) {
	cases := map[string]struct {
		method   string
		retry    *fulfillmentv1alpha1.Retry
		status   int
		attempts int32
	}{
		"GET is retried by default":      {http.MethodGet, nil, http.StatusServiceUnavailable, 2},
		"POST is not retried by default": {http.MethodPost, nil, http.StatusServiceUnavailable, 1},
		"POST with a retry setting":      {http.MethodPost, &fulfillmentv1alpha1.Retry{Attempts: 4, Backoff: &metav1.Duration{Duration: time.Millisecond}}, http.StatusBadGateway, 4},
		"a client error is not retried":  {http.MethodGet, &fulfillmentv1alpha1.Retry{Attempts: 4}, http.StatusNotFound, 1},
		"429 is retried":                 {http.MethodGet, &fulfillmentv1alpha1.Retry{Attempts: 3, Backoff: &metav1.Duration{Duration: time.Millisecond}}, http.StatusTooManyRequests, 3},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var attempts atomic.Int32
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				w.WriteHeader(tc.status)
			}))
			defer upstream.Close()
			call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: upstream.URL, Method: tc.method, Retry: tc.retry})
			_, err := call.Run(context.Background(), invocation(nil))
			var failure *Failure
			if !errors.As(err, &failure) || failure.Reason != "upstream_status" {
				t.Fatalf("want an upstream_status failure, got %v", err)
			}
			if attempts.Load() != tc.attempts {
				t.Errorf("%d attempts, want %d", attempts.Load(), tc.attempts)
			}
		})
	}
}

func TestOutboundSafety(t *testing.T) {
	t.Run("metadata address", func(t *testing.T) {
		call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: "http://169.254.169.254/latest/meta-data/", Method: http.MethodGet})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := call.Run(ctx, invocation(nil))
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("want ErrForbiddenAddress, got %v", err)
		}
	})
	t.Run("redirect to another host", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
		defer other.Close()
		redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/x", http.StatusFound)
		}))
		defer redirecting.Close()
		call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: redirecting.URL, Method: http.MethodGet, Retry: &fulfillmentv1alpha1.Retry{Attempts: 1}})
		_, err := call.Run(context.Background(), invocation(nil))
		if err == nil || !strings.Contains(err.Error(), "redirect to another host") {
			t.Errorf("want the redirect refused, got %v", err)
		}
	})
	t.Run("the deadline bounds every attempt", func(t *testing.T) {
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}))
		defer slow.Close()
		call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: slow.URL, Method: http.MethodGet, Retry: &fulfillmentv1alpha1.Retry{Attempts: 5}})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := call.Run(ctx, invocation(nil))
		var failure *Failure
		if !errors.As(err, &failure) || failure.Reason != "deadline" {
			t.Errorf("want a deadline failure, got %v", err)
		}
		if elapsed := time.Since(start); elapsed > 400*time.Millisecond {
			t.Errorf("returned after %v, long past the 200ms deadline", elapsed)
		}
	})
}

func TestForbiddenAddresses(t *testing.T) {
	allowed, err := ParseAllowedCIDRs([]string{"169.254.10.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"169.254.169.254":        true,  // AWS, GCP, Azure metadata
		"169.254.0.1":            true,  // link-local
		"169.254.10.7":           false, // exempted explicitly
		"fe80::1":                true,
		"fd00:ec2::254":          true,
		"100.100.100.200":        true, // Alibaba Cloud metadata
		"10.0.0.1":               false,
		"127.0.0.1":              false,
		"::ffff:169.254.169.254": true,
		"fe80::1%eth0":           true, // a zone changes the interface, not the address
		"fe80::a9fe:a9fe%25":     true,
		"fd00:ec2::254%eth0":     true,
		"fe80::1%lo":             true,
		"2001:db8::1%eth0":       false,
	}
	for address, want := range cases {
		if got := forbidden(netip.MustParseAddr(address), allowed); got != want {
			t.Errorf("%s: forbidden=%v, want %v", address, got, want)
		}
	}
	if _, err := ParseAllowedCIDRs([]string{"not-a-cidr"}); err == nil {
		t.Error("an invalid CIDR was accepted")
	}
}

func TestCallHeaderTemplatesRenderWithTheRequest(t *testing.T) {
	upstream, server := newRecorder(t, httptest.NewServer)
	call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: server.URL + "/target", Method: http.MethodGet, Headers: []fulfillmentv1alpha1.Header{
		{Name: "X-User", Value: "${params.user}"},
		{Name: "X-Session", Value: "session ${request.session}"},
	}})
	inv := invocation(map[string]any{"user": "alice"})
	inv.Vars.Request.Session = "projects/p/agent/sessions/s-1"
	if _, err := call.Run(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	header, _ := upstream.header("/target")
	if header.Get("X-User") != "alice" || header.Get("X-Session") != "session projects/p/agent/sessions/s-1" {
		t.Errorf("headers %v", header)
	}
}

func TestCallRefusesARenderedHeaderValueThatIsNotOne(t *testing.T) {
	for name, value := range map[string]string{
		"CR LF":     "alice\r\nX-Admin: true",
		"LF":        "alice\nX-Admin: true",
		"NUL":       "alice\x00",
		"a control": "alice\x1b[0m",
	} {
		t.Run(name, func(t *testing.T) {
			upstream, server := newRecorder(t, httptest.NewServer)
			call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: server.URL + "/target", Method: http.MethodGet,
				Headers: []fulfillmentv1alpha1.Header{{Name: "X-User", Value: "${params.user}"}}})
			_, err := call.Run(context.Background(), invocation(map[string]any{"user": value}))
			var failure *Failure
			if !errors.As(err, &failure) || failure.Reason != "template" || !strings.Contains(err.Error(), "header X-User rendered to a value that is not a valid header value") {
				t.Errorf("want a template failure naming the header, got %v", err)
			}
			if _, called := upstream.header("/target"); called {
				t.Error("the upstream was called")
			}
			if strings.Contains(err.Error(), "alice") {
				t.Errorf("the error quotes the value: %v", err)
			}
		})
	}
}

func TestCallEncodesURLValues(t *testing.T) {
	upstream, server := newRecorder(t, httptest.NewServer)
	call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: server.URL + "/accounts/${params.account}/balance?v=${params.account}", Method: http.MethodGet})
	if _, err := call.Run(context.Background(), invocation(map[string]any{"account": "../x?y=1#z"})); err != nil {
		t.Fatal(err)
	}
	want := []string{"/accounts/..%2Fx%3Fy=1%23z/balance?v=..%2Fx%3Fy%3D1%23z"}
	if got := upstream.requestTargets(); !slices.Equal(got, want) {
		t.Errorf("the upstream received %q, want %q", got, want)
	}
}

// A call compiled only to check it has no client: a credential header must not need one.
func TestNewCallWithoutAClient(t *testing.T) {
	spec := fulfillmentv1alpha1.CallAction{URL: "http://api.example/x", Headers: []fulfillmentv1alpha1.Header{secretHeader("Authorization")}}
	secrets := func(name, key string) ([]byte, error) { return []byte("placeholder"), nil }
	if call := newCall(t, Upstreams{}, &spec, secrets); call.client != nil {
		t.Errorf("a client appeared: %v", call.client)
	}
}

// An upstream's JSON object is read as JSON whatever its Content-Type (file stores send application/octet-
// stream); a scalar is text unless it is declared JSON, since "42" reads as text too.
func TestCallReadsJSONWhateverTheContentType(t *testing.T) {
	cases := map[string]struct {
		contentType, body string
		want              any
	}{
		"octet-stream object":  {"application/octet-stream", `{"balance": 10.5}`, map[string]any{"balance": 10.5}},
		"text/plain array":     {"text/plain; charset=utf-8", " \n[1, 2]", []any{1.0, 2.0}},
		"declared JSON":        {"application/problem+json", `{"title": "x"}`, map[string]any{"title": "x"}},
		"undeclared scalar":    {"", `42`, 42.0},
		"text scalar":          {"text/plain", `42`, "42"},
		"text that is no JSON": {"application/octet-stream", `{balance: 10.5}`, "{balance: 10.5}"},
		"html":                 {"text/html", `<p>{"a":1}</p>`, `<p>{"a":1}</p>`},
		"XML":                  {"application/xml", `<r><balance>10.5</balance><a x="1">t</a></r>`, map[string]any{"balance": "10.5", "a": map[string]any{"@x": "1", "#text": "t"}}},
		"text/xml":             {"text/xml; charset=utf-8", `<r><b>1</b></r>`, map[string]any{"b": "1"}},
		"malformed XML":        {"application/xml", `<r><b>1</r>`, `<r><b>1</r>`},
		"XML over the bounds":  {"application/xml", "<r>" + strings.Repeat("<a/>", dialect.MaxXMLMarkup) + "</r>", "<r>" + strings.Repeat("<a/>", dialect.MaxXMLMarkup) + "</r>"},
		"form":                 {"application/x-www-form-urlencoded", `status=ok&account.balance=3`, map[string]any{"status": "ok", "account": map[string]any{"balance": "3"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := decodeBody(http.Header{"Content-Type": {tc.contentType}}, []byte(tc.body))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decodeBody = %#v, want %#v", got, tc.want)
			}
		})
	}

	// End to end: the answer's field maps into the text.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(`{"balance": 10.5, "currency": "EUR"}`))
	}))
	defer upstream.Close()
	call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: upstream.URL, Method: http.MethodGet,
		Respond: &fulfillmentv1alpha1.RespondAction{Text: "${response.body.balance} ${response.body.currency}"}})
	result, err := call.Run(context.Background(), invocation(nil))
	if err != nil {
		t.Fatal(err)
	}
	if result.Answer.Text != "10.5 EUR" {
		t.Errorf("text %q", result.Answer.Text)
	}
}

// A failed call keeps the start of the upstream's answer for debug logs, out of the error text that info logs
// carry: it may quote the request's data.
func TestCallFailureKeepsTheUpstreamsAnswerApart(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error": "account 4711 unknown"}` + strings.Repeat("é", 1000)))
	}))
	defer upstream.Close()
	call := compileCall(t, fulfillmentv1alpha1.CallAction{URL: upstream.URL, Method: http.MethodGet})
	_, err := call.Run(context.Background(), invocation(nil))
	var failure *Failure
	if !errors.As(err, &failure) {
		t.Fatalf("want a Failure, got %v", err)
	}
	if !strings.HasPrefix(failure.Answer, `{"error": "account 4711 unknown"}`) || !strings.HasSuffix(failure.Answer, "é…") {
		t.Errorf("Answer %q: want the start of the answer, cut between characters", failure.Answer)
	}
	if len(failure.Answer) > maxAnswerExcerpt+len("…") {
		t.Errorf("Answer is %d bytes, over %d", len(failure.Answer), maxAnswerExcerpt)
	}
	if strings.Contains(err.Error(), "4711") {
		t.Errorf("the error text quotes the upstream's answer: %v", err)
	}
}

// A Form body is an object's fields: any other value fails the call before anything is sent, saying so.
func TestCallFormBodyNeedsAnObject(t *testing.T) {
	for _, value := range []any{"text", []any{"a"}, 1.5, nil} {
		_, err := encodeBody(fulfillmentv1alpha1.BodyFormatForm, value)
		var failure *Failure
		if !errors.As(err, &failure) || failure.Reason != "template" || !strings.Contains(failure.Message, "bodyFormat Form sends an object's fields") {
			t.Errorf("Form body %#v: %v", value, err)
		}
	}
	body, err := encodeBody(fulfillmentv1alpha1.BodyFormatXML, "plain")
	if err != nil || !strings.HasSuffix(string(body), "<request>plain</request>") {
		t.Errorf("XML body of a string: %s %v", body, err)
	}
	body, err = encodeBody("", map[string]any{"a": 1.0})
	if err != nil || string(body) != `{"a":1}` {
		t.Errorf("default JSON body: %s %v", body, err)
	}
}
