package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestRasaFormValidationSample applies the Rasa sample as a user does and calls its validate_promo_form action as
// Rasa's promo_form does after the user gave a code: a code the route does not know is set back to null (the form
// asks again), a known one is kept.
func TestRasaFormValidationSample(t *testing.T) {
	const ns = "e2e-rasa"
	kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() { _, _ = kubectlResult("delete", "namespace", ns, "--wait=false") })
	kubectl(t, "apply", "-n", ns, "-f", "config/samples/rasa-actions/")
	kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/rasa-actions", "--timeout=120s")
	url := localURL(t, ns, "rasa-actions")
	token := http.Header{"Authorization": {"Bearer change-me-rasa-token"}}

	for i, tt := range []struct {
		code      string
		wantValue any
		wantText  string
	}{
		{code: "BOGUS", wantValue: nil, wantText: "Sorry, that code is not valid."},
		{code: "SPRING10", wantValue: "SPRING10", wantText: "Thanks!"},
	} {
		status, answer, err := post(url, validatePromoCall(i, tt.code), token)
		if err != nil || status != http.StatusOK {
			t.Fatalf("code %s: status %d, error %v, answer %s; want 200", tt.code, status, err, answer)
		}
		var got struct {
			Events    []map[string]any `json:"events"`
			Responses []map[string]any `json:"responses"`
		}
		if err := json.Unmarshal([]byte(answer), &got); err != nil {
			t.Fatalf("code %s: %s: %v", tt.code, answer, err)
		}
		wantEvents := []map[string]any{{"event": "slot", "timestamp": nil, "name": "promo_code", "value": tt.wantValue}}
		if !reflect.DeepEqual(got.Events, wantEvents) {
			t.Errorf("code %s: events %v, want %v", tt.code, got.Events, wantEvents)
		}
		if wantResponses := []map[string]any{{"text": tt.wantText}}; !reflect.DeepEqual(got.Responses, wantResponses) {
			t.Errorf("code %s: responses %v, want %v", tt.code, got.Responses, wantResponses)
		}
	}
}

// validatePromoCall is the call Rasa's promo_form makes after extracting code: the tracker ends with the form's
// action and the slot candidate. Each call has its own event time, as Rasa's have.
func validatePromoCall(i int, code string) []byte {
	eventTime := float64(time.Now().Unix()) + float64(i)/10
	return []byte(fmt.Sprintf(`{"next_action":"validate_promo_form","sender_id":"e2e-user","version":"3.10.0",
"tracker":{"sender_id":"e2e-user","slots":{"promo_code":%[1]q,"requested_slot":"promo_code"},
"latest_message":{"text":%[1]q,"intent":{"name":"inform","confidence":0.98},"entities":[]},
"latest_event_time":%[2]f,"active_loop":{"name":"promo_form"},"latest_action_name":"action_listen",
"events":[{"event":"user","timestamp":%[2]f,"text":%[1]q},{"event":"slot","timestamp":%[2]f,"name":"requested_slot","value":"promo_code"},
{"event":"action","timestamp":%[2]f,"name":"promo_form"},{"event":"slot","timestamp":%[2]f,"name":"promo_code","value":%[1]q}]},
"domain":{"forms":{"promo_form":{"required_slots":["promo_code"]}}}}`, code, eventTime))
}
