package blackbox

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rasaRichManifests are a Rasa endpoint with a form validation route and a route answering rich messages and
// events.
const rasaRichManifests = `
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: promo-bot}
spec:
  dialect: Rasa
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: validate-promo-form}
spec:
  endpointRef: {name: promo-bot}
  match: {actions: [validate_promo_form]}
  respond:
    formParameters:
    - name: promo_code
      invalid: '!(request.slotsToValidate.promo_code in ["SPRING10"])'
    text: Checked your code.
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: offer}
spec:
  endpointRef: {name: promo-bot}
  match: {actions: [action_offer]}
  respond:
    messages:
    - quickReplies: {title: 'Which plan?', replies: [Gold, Silver]}
    - image: {url: 'https://example.com/plans/${params.plan}.png'}
    - response:
        name: utter_price
        variables: {plan: params.plan, price: '12.5'}
    events:
    - followupAction: action_listen
    - activeLoop: {name: promo_form}
    - reminder: {intent: EXTERNAL_remind, after: 10m, name: promo-reminder}
`

// rasaCall is an action call as Rasa sends it, with the tracker's trailing events. Each call has a latest event
// time of its own, as Rasa's do, or the server would take it for a duplicate of the last one.
func rasaCall(action, slots, events string) []byte {
	eventTime := strconv.FormatFloat(float64(time.Now().UnixNano())/1e9, 'f', 6, 64)
	return []byte(`{"next_action":"` + action + `","sender_id":"u-1","version":"3.10.0","tracker":{"sender_id":"u-1",` +
		`"slots":` + slots + `,"latest_message":{"text":"hi","intent":{"name":"inform"},"entities":[]},` +
		`"latest_event_time":` + eventTime + `,"events":[` + events + `]}}`)
}

type rasaAnswer struct {
	Events    []map[string]any `json:"events"`
	Responses []map[string]any `json:"responses"`
}

func postRasa(t *testing.T, s *server, body []byte) rasaAnswer {
	t.Helper()
	resp, content := s.post("/webhook", body, http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	var answer rasaAnswer
	if err := json.Unmarshal(content, &answer); err != nil {
		t.Fatalf("%s: %v", content, err)
	}
	return answer
}

// TestRasaFormValidation: a validate_<form> route rejects the slot the form just filled (a null slot event,
// so the form asks again) or keeps it, as rasa-sdk's FormValidationAction does.
func TestRasaFormValidation(t *testing.T) {
	s := startServer(t, "--manifests", writeFile(t, t.TempDir(), "bot.yaml", rasaRichManifests))
	const before = `{"event":"user","text":"my code"},{"event":"action","name":"promo_form"},`
	tests := map[string]struct {
		code string
		want any
	}{
		"a bad code is rejected": {code: "BOGUS", want: nil},
		"a good code is kept":    {code: "SPRING10", want: "SPRING10"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			answer := postRasa(t, s, rasaCall("validate_promo_form", `{"promo_code":"`+tt.code+`"}`,
				before+`{"event":"slot","name":"promo_code","value":"`+tt.code+`"}`))
			wantEvents := []map[string]any{{"event": "slot", "timestamp": nil, "name": "promo_code", "value": tt.want}}
			if !reflect.DeepEqual(answer.Events, wantEvents) {
				t.Errorf("events %v, want %v", answer.Events, wantEvents)
			}
			if want := []map[string]any{{"text": "Checked your code."}}; !reflect.DeepEqual(answer.Responses, want) {
				t.Errorf("responses %v, want %v", answer.Responses, want)
			}
		})
	}
}

// TestRasaRichAnswer: buttons, an image, a response template with its variables, and events beyond slots.
func TestRasaRichAnswer(t *testing.T) {
	s := startServer(t, "--manifests", writeFile(t, t.TempDir(), "bot.yaml", rasaRichManifests))
	sent := time.Now()
	answer := postRasa(t, s, rasaCall("action_offer", `{"plan":"gold"}`, `{"event":"user","text":"offer"}`))
	wantResponses := []map[string]any{
		{"text": "Which plan?", "buttons": []any{
			map[string]any{"title": "Gold", "payload": "Gold"}, map[string]any{"title": "Silver", "payload": "Silver"}}},
		{"image": "https://example.com/plans/gold.png"},
		{"response": "utter_price", "plan": "gold", "price": 12.5},
	}
	if !reflect.DeepEqual(answer.Responses, wantResponses) {
		t.Errorf("responses %v\nwant %v", answer.Responses, wantResponses)
	}
	if len(answer.Events) != 3 {
		t.Fatalf("events %v, want followup, active_loop and reminder", answer.Events)
	}
	if want := map[string]any{"event": "followup", "timestamp": nil, "name": "action_listen"}; !reflect.DeepEqual(answer.Events[0], want) {
		t.Errorf("events[0] %v, want %v", answer.Events[0], want)
	}
	if want := map[string]any{"event": "active_loop", "timestamp": nil, "name": "promo_form"}; !reflect.DeepEqual(answer.Events[1], want) {
		t.Errorf("events[1] %v, want %v", answer.Events[1], want)
	}
	reminder := answer.Events[2]
	at, err := time.Parse(time.RFC3339Nano, strings.Replace(reminder["date_time"].(string), "+00:00", "Z", 1))
	if err != nil || reminder["event"] != "reminder" || reminder["intent"] != "EXTERNAL_remind" || reminder["name"] != "promo-reminder" ||
		reminder["kill_on_user_msg"] != true || !strings.HasSuffix(reminder["date_time"].(string), "+00:00") {
		t.Errorf("reminder %v (%v)", reminder, err)
	}
	if delay := at.Sub(sent); delay < 10*time.Minute-time.Second || delay > 10*time.Minute+10*time.Second {
		t.Errorf("the reminder fires %v after the call, want 10m", delay)
	}
}
