package blackbox

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it decodes the protobuf ExportTraceServiceRequests webhookserver
// sends and keeps their spans with the resource that sent them.
type otlpReceiver struct {
	*httptest.Server
	mu        sync.Mutex
	spans     []*tracepb.Span
	resources []*commonpb.KeyValue
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rec := &otlpReceiver{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want protobuf on /v1/traces", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		content, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var export collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(content, &export); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		for _, rs := range export.GetResourceSpans() {
			rec.resources = append(rec.resources, rs.GetResource().GetAttributes()...)
			for _, ss := range rs.GetScopeSpans() {
				rec.spans = append(rec.spans, ss.GetSpans()...)
			}
		}
		rec.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *otlpReceiver) received() ([]*tracepb.Span, []*commonpb.KeyValue) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]*tracepb.Span(nil), rec.spans...), append([]*commonpb.KeyValue(nil), rec.resources...)
}

// traceTo points the server started next at rec, the way a Deployment's OTEL_* variables do. The spans are
// exported in batches that only the shutdown flushes, unless the test shortens the batch delay.
func traceTo(t *testing.T, rec *otlpReceiver) {
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rec.URL+"/v1/traces")
	t.Setenv("OTEL_SERVICE_NAME", "bank-fulfillment")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.namespace.name=default")
}

// The caller's trace is continued: the request's span is a child of the caller's span, its stages children of
// it, and the upstream call a client span whose traceparent reaches the upstream. Nothing a request or a Secret
// holds becomes an attribute.
func TestTracingContinuesTheCallersTraceToTheUpstream(t *testing.T) {
	rec := newOTLPReceiver(t)
	traceTo(t, rec)
	s, up := startBank(t)

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	body, _ := json.Marshal(map[string]any{
		"responseId": "r-traced",
		"session":    "projects/p/agent/sessions/s-42",
		"queryResult": map[string]any{
			"queryText":  "what is the balance of my secret-savings account",
			"intent":     map[string]any{"displayName": "GetAccountBalance"},
			"parameters": map[string]any{"account": "secret-savings"},
		},
	})
	header := basicAuth("dialogflow", "bank-basic-password")
	header.Set("Traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	header.Set("Tracestate", "vendor=caller-state")
	resp, content := s.post("/bank?key=query-secret-token", body, header)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(content, []byte("Balance 42.5")) {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	// The spans are buffered: stopping the server must flush them.
	s.stop()
	spans, resource := rec.received()
	if len(spans) == 0 {
		t.Fatal("no span reached the OTLP receiver by the end of the shutdown")
	}

	server := findSpan(t, spans, tracepb.Span_SPAN_KIND_SERVER, "POST /bank")
	if got := hex.EncodeToString(server.GetTraceId()); got != callerTrace {
		t.Errorf("request span trace id %s, want the caller's %s", got, callerTrace)
	}
	if got := hex.EncodeToString(server.GetParentSpanId()); got != callerSpan {
		t.Errorf("request span parent %s, want the caller's span %s", got, callerSpan)
	}
	if server.GetTraceState() != "vendor=caller-state" {
		t.Errorf("request span trace state %q, want the caller's", server.GetTraceState())
	}
	for key, want := range map[string]string{"http.request.method": "POST", "http.route": "/bank", "http.response.status_code": "200",
		"fulfillment.endpoint": "default/bank", "fulfillment.dialect": "DialogflowES", "fulfillment.route": "balance"} {
		if got := attributeValue(server.GetAttributes(), key); got != want {
			t.Errorf("request span %s = %q, want %q", key, got, want)
		}
	}
	for _, stage := range []string{"auth", "decode", "idempotency", "match", "action", "encode"} {
		span := findSpan(t, spans, tracepb.Span_SPAN_KIND_INTERNAL, stage)
		if !bytes.Equal(span.GetParentSpanId(), server.GetSpanId()) || !bytes.Equal(span.GetTraceId(), server.GetTraceId()) {
			t.Errorf("stage %s is not a child of the request span", stage)
		}
	}
	actionSpan := findSpan(t, spans, tracepb.Span_SPAN_KIND_INTERNAL, "action")

	client := findSpan(t, spans, tracepb.Span_SPAN_KIND_CLIENT, "GET")
	if !bytes.Equal(client.GetTraceId(), server.GetTraceId()) || !bytes.Equal(client.GetParentSpanId(), actionSpan.GetSpanId()) {
		t.Errorf("the upstream call's span is not in the request's trace under its action span")
	}
	if got := attributeValue(client.GetAttributes(), "http.response.status_code"); got != "200" {
		t.Errorf("client span status %q", got)
	}
	received := up.received()
	if len(received) != 1 {
		t.Fatalf("the upstream received %d requests", len(received))
	}
	wantParent := "00-" + callerTrace + "-" + hex.EncodeToString(client.GetSpanId()) + "-01"
	if got := received[0].header.Get("Traceparent"); got != wantParent {
		t.Errorf("the upstream received traceparent %q, want %q (the client span's)", got, wantParent)
	}
	if got := received[0].header.Get("Tracestate"); got != "vendor=caller-state" {
		t.Errorf("the upstream received tracestate %q, want the caller's", got)
	}

	if got := attributeValue(resource, "service.name"); got != "bank-fulfillment" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", got)
	}
	if got := attributeValue(resource, "k8s.namespace.name"); got != "default" {
		t.Errorf("k8s.namespace.name %q, want OTEL_RESOURCE_ATTRIBUTES'", got)
	}

	// Neither a credential (the caller's, the route's Secret header), nor the query string, nor what the
	// request or the answer said is in a span.
	everything := dumpSpans(spans) + dumpAttributes(resource)
	for _, secret := range []string{"bank-basic-password", header.Get("Authorization"), "ZGlhbG9nZmxvdzpiYW5rLWJhc2ljLXBhc3N3b3Jk",
		"bank-api-secret-token", "query-secret-token", "secret-savings", "what is the balance", "Balance 42.5", "42.5"} {
		if strings.Contains(everything, secret) {
			t.Errorf("a span holds %q", secret)
		}
	}
}

// findSpan is the one span of kind named name.
func findSpan(t *testing.T, spans []*tracepb.Span, kind tracepb.Span_SpanKind, name string) *tracepb.Span {
	t.Helper()
	var found []*tracepb.Span
	for _, span := range spans {
		if span.GetKind() == kind && span.GetName() == name {
			found = append(found, span)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, span := range spans {
			names = append(names, span.GetKind().String()+" "+span.GetName())
		}
		t.Fatalf("%d spans %s %q, want 1; got %s", len(found), kind, name, strings.Join(names, ", "))
	}
	return found[0]
}

// attributeValue is the value of key among attrs, as text; "" without it.
func attributeValue(attrs []*commonpb.KeyValue, key string) string {
	for _, kv := range attrs {
		if kv.GetKey() == key {
			return anyValue(kv.GetValue())
		}
	}
	return ""
}

func anyValue(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		if x.BoolValue {
			return "true"
		}
		return "false"
	default:
		return v.String()
	}
}

// dumpSpans is every name, attribute, event and status message of spans, as text.
func dumpSpans(spans []*tracepb.Span) string {
	var b strings.Builder
	for _, span := range spans {
		b.WriteString(span.GetName() + " " + span.GetTraceState() + " " + span.GetStatus().GetMessage() + "\n")
		b.WriteString(dumpAttributes(span.GetAttributes()))
		for _, event := range span.GetEvents() {
			b.WriteString(event.GetName() + "\n" + dumpAttributes(event.GetAttributes()))
		}
		for _, link := range span.GetLinks() {
			b.WriteString(dumpAttributes(link.GetAttributes()))
		}
	}
	return b.String()
}

func dumpAttributes(attrs []*commonpb.KeyValue) string {
	var b strings.Builder
	for _, kv := range attrs {
		b.WriteString(kv.GetKey() + "=" + anyValue(kv.GetValue()) + "\n")
	}
	return b.String()
}

// An Async endpoint's delivery of a queued event continues the trace of the request that queued it: the queue
// keeps its traceparent, and the upstream call of the delivery is in the same trace.
func TestTracingFollowsAQueuedEventToItsDelivery(t *testing.T) {
	rec := newOTLPReceiver(t)
	traceTo(t, rec)
	upstream, url := newCounter(t, 0)
	dir := t.TempDir()
	writeFile(t, dir, "events.yaml", asyncManifest(url, "Local", "", 3))
	s := startServer(t, "--manifests", dir, "--queue-dir", t.TempDir())

	const callerTrace, callerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	header := http.Header{"Traceparent": {"00-" + callerTrace + "-" + callerSpan + "-01"}}
	resp, content := s.post("/webhook", []byte(`{"event":"order.paid","id":"evt_traced"}`), header)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	deadline := time.Now().Add(10 * time.Second)
	for upstream.count("evt_traced") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if upstream.count("evt_traced") == 0 {
		t.Fatal("the event was not delivered")
	}
	s.stop()
	spans, _ := rec.received()

	request := findSpan(t, spans, tracepb.Span_SPAN_KIND_SERVER, "POST /webhook")
	if hex.EncodeToString(request.GetTraceId()) != callerTrace || hex.EncodeToString(request.GetParentSpanId()) != callerSpan {
		t.Errorf("the request span does not continue the caller's trace")
	}
	if got := attributeValue(request.GetAttributes(), "http.response.status_code"); got != "202" {
		t.Errorf("request span status %q, want 202", got)
	}
	if enqueue := findSpan(t, spans, tracepb.Span_SPAN_KIND_INTERNAL, "enqueue"); !bytes.Equal(enqueue.GetParentSpanId(), request.GetSpanId()) {
		t.Errorf("storing the event is not a stage of the request")
	}
	delivery := findSpan(t, spans, tracepb.Span_SPAN_KIND_CONSUMER, "deliver default/events")
	if !bytes.Equal(delivery.GetTraceId(), request.GetTraceId()) || !bytes.Equal(delivery.GetParentSpanId(), request.GetSpanId()) {
		t.Errorf("the delivery span is not a child of the request that queued the event")
	}
	for key, want := range map[string]string{"fulfillment.event_id": "evt_traced", "fulfillment.attempt": "1", "fulfillment.route": "apply"} {
		if got := attributeValue(delivery.GetAttributes(), key); got != want {
			t.Errorf("delivery span %s = %q, want %q", key, got, want)
		}
	}
	client := findSpan(t, spans, tracepb.Span_SPAN_KIND_CLIENT, "POST")
	if !bytes.Equal(client.GetTraceId(), request.GetTraceId()) {
		t.Errorf("the delivery's upstream call is not in the request's trace")
	}
}
