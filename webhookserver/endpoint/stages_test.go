package endpoint

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Each stage of Fulfill, alone: what it takes, what it gives the next one.

const stageESRequest = `{"responseId":"resp-1","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"%s"}}}`

// fulfillmentOf is a request as the decode stage hands it on.
func fulfillmentOf(t *testing.T, e *Endpoint, body string) fulfillment {
	t.Helper()
	in := dialect.Input{Method: http.MethodPost, Body: []byte(body)}
	decoded, refused := e.decode(in)
	if refused != nil {
		t.Fatalf("decode refused %s: %d %s", body, refused.Status, refused.Body)
	}
	return e.newFulfillment(in, decoded)
}

func TestStageDecode(t *testing.T) {
	e := compile(t, "DialogflowES", "")
	decoded, refused := e.decode(dialect.Input{Method: http.MethodPost, Body: []byte(strings.Replace(stageESRequest, "%s", "Hello", 1))})
	if refused != nil {
		t.Fatalf("refused: %d %s", refused.Status, refused.Body)
	}
	if req := decoded.Request(); req.Intent != "Hello" || req.DeliveryID != "resp-1" || req.Dialect != "DialogflowES" {
		t.Errorf("decoded %+v", req)
	}
	for body, want := range map[string]int{`{"queryResult":`: http.StatusBadRequest, `<xml/>`: http.StatusBadRequest} {
		if _, refused := e.decode(dialect.Input{Method: http.MethodPost, Body: []byte(body)}); refused == nil || refused.Status != want {
			t.Errorf("decode(%s) = %v, want %d", body, refused, want)
		}
	}
	_, refused = e.decode(dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(`{}`)})
	if refused == nil || refused.Status != http.StatusUnsupportedMediaType || !strings.Contains(string(refused.Body), "unsupported_media_type") {
		t.Errorf("a text/plain body: %+v", refused)
	}
}

func TestStageDeduplicateAndRemember(t *testing.T) {
	e := compile(t, "DialogflowES", "")
	store, err := idempotency.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	e.idempotency = &compiledIdempotency{store: store}
	body := strings.Replace(stageESRequest, "%s", "Hello", 1)

	first := fulfillmentOf(t, e, body)
	if answered := e.deduplicate(context.Background(), &first); answered != nil || first.claim == nil || first.idempotencyKey != "resp-1" {
		t.Fatalf("the first request: answered %v, claim %v, key %q; want it processed under the delivery id", answered, first.claim, first.idempotencyKey)
	}
	// A duplicate while the first is processed is refused for now.
	busy := fulfillmentOf(t, e, body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if answered := e.deduplicate(ctx, &busy); answered == nil || answered.Status != http.StatusConflict || answered.Header().Get("Retry-After") != "1" {
		t.Errorf("a duplicate in flight: %+v", answered)
	}
	e.remember(context.Background(), &first, &Outcome{Status: http.StatusOK, Body: []byte(`{"n":1}`), Fallback: FallbackNoRoute})

	again := fulfillmentOf(t, e, body)
	replayed := e.deduplicate(context.Background(), &again)
	if replayed == nil || !replayed.Replayed || string(replayed.Body) != `{"n":1}` || replayed.Fallback != FallbackNoRoute {
		t.Fatalf("a duplicate after the answer: %+v", replayed)
	}
	if got := replayed.Header(); got.Get(ReplayedHeader) != "true" || got.Get("Content-Type") != "application/json" {
		t.Errorf("replayed headers %v", got)
	}

	// A failed action's answer is not kept: a retry is processed again.
	other := fulfillmentOf(t, e, strings.Replace(body, "resp-1", "resp-2", 1))
	if answered := e.deduplicate(context.Background(), &other); answered != nil {
		t.Fatalf("a new key: %+v", answered)
	}
	e.remember(context.Background(), &other, &Outcome{Status: http.StatusOK, Fallback: FallbackActionFailed})
	retry := fulfillmentOf(t, e, strings.Replace(body, "resp-1", "resp-2", 1))
	if answered := e.deduplicate(context.Background(), &retry); answered != nil || retry.claim == nil {
		t.Errorf("a retry of a failed action: %+v", answered)
	}

	// Without idempotency, every request is processed, with no key for upstreams.
	e.idempotency = nil
	plain := fulfillmentOf(t, e, body)
	if answered := e.deduplicate(context.Background(), &plain); answered != nil || plain.idempotencyKey != "" || plain.claim != nil {
		t.Errorf("without idempotency: %+v, key %q", answered, plain.idempotencyKey)
	}
}

func TestStageMatch(t *testing.T) {
	e := compile(t, "DialogflowES", "", `{match: {intents: [Hello]}, respond: {text: Hi.}}`)
	e.explain = true
	m := e.match(context.Background(), ptr(fulfillmentOf(t, e, strings.Replace(stageESRequest, "%s", "Hello", 1))))
	if m.route == nil || m.rule.Name != "r0" || len(m.decisions) == 0 {
		t.Errorf("Hello matched %+v", m)
	}
	if m := e.match(context.Background(), ptr(fulfillmentOf(t, e, strings.Replace(stageESRequest, "%s", "Other", 1)))); m.route != nil {
		t.Errorf("Other matched %s", m.rule.Name)
	}
}

func TestStageAct(t *testing.T) {
	e := compile(t, "DialogflowES", "", `{match: {intents: [Hello]}, respond: {text: 'Hi ${request.intent}.'}}`,
		`{match: {intents: [Pay]}, call: {url: "`+closedURL(t)+`"}}`)
	f := ptr(fulfillmentOf(t, e, strings.Replace(stageESRequest, "%s", "Hello", 1)))
	done := e.act(context.Background(), f, e.match(context.Background(), f).route)
	if done.err != nil || done.result.Answer == nil || done.result.Answer.Text != "Hi Hello." || done.upstream {
		t.Errorf("respond: %+v", done)
	}
	f = ptr(fulfillmentOf(t, e, strings.Replace(stageESRequest, "%s", "Pay", 1)))
	done = e.act(context.Background(), f, e.match(context.Background(), f).route)
	var failure *action.Failure
	if !errors.As(done.err, &failure) || !done.upstream || done.upstreamOutcome != failure.Reason || done.upstreamDuration <= 0 {
		t.Errorf("a call to a closed port: %+v", done)
	}
}

func TestStageEncode(t *testing.T) {
	e := compile(t, "DialogflowES", "Sorry.", `{match: {intents: [Hello]}, respond: {text: Hi.}}`)
	f := ptr(fulfillmentOf(t, e, strings.Replace(stageESRequest, "%s", "Hello", 1)))
	m := e.match(context.Background(), f)

	answered := e.encode(context.Background(), f, m, acted{result: &action.Result{Answer: &model.Answer{Text: "Hi."}}})
	if answered.Status != http.StatusOK || answered.Fallback != "" || answered.Route != "r0" || !strings.Contains(string(answered.Body), `"fulfillmentText":"Hi."`) {
		t.Errorf("an answer: %d %q %s", answered.Status, answered.Fallback, answered.Body)
	}
	failed := e.encode(context.Background(), f, m, acted{err: errors.New("down")})
	if failed.Fallback != FallbackActionFailed || !strings.Contains(string(failed.Body), "Sorry.") {
		t.Errorf("a failure: %q %s", failed.Fallback, failed.Body)
	}
	// An answer the dialect cannot encode (ES sets session parameters only in a session) is the fallback.
	f.request.Session = ""
	invalid := e.encode(context.Background(), f, m, acted{result: &action.Result{Answer: &model.Answer{Parameters: map[string]any{"a": 1}}}})
	if invalid.Fallback != FallbackAnswerInvalid || !strings.Contains(string(invalid.Body), "Sorry.") {
		t.Errorf("an invalid answer: %q %s", invalid.Fallback, invalid.Body)
	}
	// A backend's answer over Dialogflow's size limit is refused by the dialect's rule and replaced.
	big := &action.RawResponse{Status: http.StatusOK, Header: http.Header{}, Body: make([]byte, 65*1024)}
	if raw := e.encode(context.Background(), f, m, acted{result: &action.Result{Raw: big}}); raw.Fallback != FallbackAnswerInvalid {
		t.Errorf("a forwarded answer over 64 KiB: %q, %d bytes", raw.Fallback, len(raw.Body))
	}
}

func ptr[T any](v T) *T { return &v }
