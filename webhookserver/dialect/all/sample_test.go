package all_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/all"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
)

// TestSamplesDecode builds a sample request in every dialect and decodes it with the same dialect's codec: the
// route selectors, parameters, session, language and environment come back as the sample gave them. Every
// registered dialect must build samples, so that webhookserver send works with a new one.
func TestSamplesDecode(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	params := map[string]any{"account": "demo", "amount": 12.5}
	tests := map[string]struct {
		sample dialect.Sample
		want   dialecttest.Request
		env    string
	}{
		"DialogflowES": {
			sample: dialect.Sample{Intent: "GetAccountBalance", Action: "account.balance", Text: "my balance", Parameters: params,
				Session: "s-1", Language: "de", Environment: "production", Now: now},
			want: dialecttest.Request{Intent: "GetAccountBalance", Action: "account.balance", Text: "my balance",
				LanguageCode: "de", Parameters: params},
			env: "production",
		},
		"DialogflowCX": {
			sample: dialect.Sample{Tag: "order-status", Intent: "order.status", Event: "sys.no-match-default",
				Parameters: params, Session: "s-1", Environment: "6f1c0a1e", Now: now},
			want: dialecttest.Request{Tag: "order-status", Intent: "order.status", Event: "sys.no-match-default",
				LanguageCode: "en", Parameters: params},
			env: "6f1c0a1e",
		},
		"Rasa": {
			sample: dialect.Sample{Action: "action_order_status", Intent: "order_status", Text: "where is my order", Parameters: params,
				Session: "user-42", Now: now},
			want: dialecttest.Request{Action: "action_order_status", Intent: "order_status", Text: "where is my order",
				Session: "user-42", Parameters: params},
		},
		"Generic": {
			sample: dialect.Sample{Event: "invoice.paid", Intent: "pay", Parameters: params, Session: "abc",
				Data: []byte(`{"event":"replaced","data":{"id":"in_1","total":12345678901234567890},"session":{"parameters":{"user":"ann"}}}`), Now: now},
			want: dialecttest.Request{Event: "invoice.paid", Intent: "pay", Session: "abc",
				Parameters: map[string]any{"account": "demo", "amount": 12.5, "user": "ann"}},
		},
	}
	for _, name := range all.Names() {
		t.Run(name, func(t *testing.T) {
			tc, ok := tests[name]
			if !ok {
				t.Fatalf("no sample case for dialect %s: add one", name)
			}
			codec, err := all.ForName(name)
			if err != nil {
				t.Fatal(err)
			}
			builder, ok := codec.(dialect.SampleBuilder)
			if !ok {
				t.Fatalf("dialect %s does not implement dialect.SampleBuilder, which webhookserver send needs", name)
			}
			body, err := builder.BuildSample(tc.sample)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := codec.Decode(dialect.Input{Method: "POST", Header: map[string][]string{"Content-Type": {"application/json"}}, Body: body})
			if err != nil {
				t.Fatalf("the codec refused its own sample: %v\n%s", err, body)
			}
			req := decoded.Request()
			got := dialecttest.Fields(req)
			if name != "Rasa" && name != "Generic" {
				// Dialogflow's session is the session path; its id and environment are in it.
				if !strings.HasSuffix(got.Session, "/sessions/"+tc.sample.Session) {
					t.Errorf("session %q, want a path ending in /sessions/%s", got.Session, tc.sample.Session)
				}
				got.Session = ""
			}
			tc.want.Dialect = name
			got.Headers, got.Query, got.DeliveryID = tc.want.Headers, tc.want.Query, ""
			if !reflect.DeepEqual(normalizeNumbers(got), normalizeNumbers(tc.want)) {
				t.Errorf("decoded\n%+v\nwant\n%+v\n(body %s)", got, tc.want, body)
			}
			if req.Environment != tc.env && tc.env != "" {
				t.Errorf("environment %q, want %q", req.Environment, tc.env)
			}
		})
	}
}

// normalizeNumbers reads every number of the parameters as a float64, as the decoders may keep json.Number.
func normalizeNumbers(r dialecttest.Request) dialecttest.Request {
	params := map[string]any{}
	for k, v := range r.Parameters {
		if n, ok := v.(interface{ Float64() (float64, error) }); ok {
			v, _ = n.Float64()
		}
		params[k] = v
	}
	r.Parameters = params
	return r
}

// TestSamplesRefuse: a selector or value a platform never sends is refused with what to use instead.
func TestSamplesRefuse(t *testing.T) {
	tests := map[string]struct {
		dialect string
		sample  dialect.Sample
		want    string
	}{
		"ES tag":                   {"DialogflowES", dialect.Sample{Tag: "t"}, "carry no tag: select the route with an intent or an action"},
		"ES nothing":               {"DialogflowES", dialect.Sample{}, "needs an intent or an action"},
		"CX action":                {"DialogflowCX", dialect.Sample{Action: "a", Tag: "t"}, "carry no action"},
		"CX text and event":        {"DialogflowCX", dialect.Sample{Tag: "t", Text: "hi", Event: "e"}, "text or an event, not both"},
		"CX nothing":               {"DialogflowCX", dialect.Sample{}, "needs a tag"},
		"Rasa no action":           {"Rasa", dialect.Sample{Intent: "greet"}, "needs an action"},
		"Rasa environment":         {"Rasa", dialect.Sample{Action: "a", Environment: "prod"}, "carry no environment"},
		"Rasa language":            {"Rasa", dialect.Sample{Action: "a", Language: "de"}, "carry no language"},
		"Generic nothing":          {"Generic", dialect.Sample{}, "needs an event or an intent"},
		"Generic tag":              {"Generic", dialect.Sample{Tag: "t"}, "carry no tag"},
		"Generic data no object":   {"Generic", dialect.Sample{Event: "e", Data: []byte(`[1,2]`)}, "not one JSON object"},
		"Generic data two objects": {"Generic", dialect.Sample{Event: "e", Data: []byte(`{} {}`)}, "not one JSON object"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			codec, err := all.ForName(tc.dialect)
			if err != nil {
				t.Fatal(err)
			}
			_, err = codec.(dialect.SampleBuilder).BuildSample(tc.sample)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
