package routespec

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

func TestDialectProblems(t *testing.T) {
	card := fulfillmentv1alpha1.Message{Card: &fulfillmentv1alpha1.CardMessage{Title: "t"}}
	audio := fulfillmentv1alpha1.Message{OutputAudioText: &fulfillmentv1alpha1.OutputAudioText{SSML: "<speak/>"}}
	text := fulfillmentv1alpha1.Message{Text: "hi"}
	payload := fulfillmentv1alpha1.Message{Payload: &apiextensionsv1.JSON{Raw: []byte(`{"a":1}`)}}
	rich := &fulfillmentv1alpha1.RespondAction{
		Text:           "hi",
		Messages:       []fulfillmentv1alpha1.Message{text, payload, card, audio, {Text: "x", Platform: "SLACK"}},
		Contexts:       []fulfillmentv1alpha1.DialogflowContext{{Name: "menu"}},
		FormParameters: []fulfillmentv1alpha1.FormParameter{{Name: "promo", Invalid: "true"}},
		Events:         []fulfillmentv1alpha1.RasaEvent{{Restart: true}},
		TargetPage:     "p",
	}
	tests := map[string]struct {
		spec    fulfillmentv1alpha1.IntentRouteSpec
		dialect fulfillmentv1alpha1.Dialect
		want    []string
	}{
		"text, parameters and payload go everywhere": {
			spec: fulfillmentv1alpha1.IntentRouteSpec{Respond: &fulfillmentv1alpha1.RespondAction{Text: "hi",
				Parameters: map[string]string{"a": "1"}, Messages: []fulfillmentv1alpha1.Message{text, payload}}},
			dialect: fulfillmentv1alpha1.DialectGeneric,
		},
		"Dialogflow ES": {
			spec: fulfillmentv1alpha1.IntentRouteSpec{Respond: rich}, dialect: fulfillmentv1alpha1.DialectDialogflowES,
			want: []string{
				"spec.respond.targetPage: a DialogflowES endpoint cannot send it; remove it or reference an endpoint of a dialect that does (DialogflowCX)",
				"spec.respond.formParameters: a DialogflowES endpoint cannot send it; remove it or reference an endpoint of a dialect that does (DialogflowCX, Rasa)",
				"spec.respond.events: a DialogflowES endpoint cannot send it; remove it or reference an endpoint of a dialect that does (Rasa)",
				"spec.respond.messages[3].outputAudioText: a DialogflowES endpoint cannot send it; remove it or reference an endpoint of a dialect that does (DialogflowCX)",
			},
		},
		"Dialogflow CX hears where rich content goes": {
			spec: fulfillmentv1alpha1.IntentRouteSpec{Respond: rich}, dialect: fulfillmentv1alpha1.DialectDialogflowCX,
			want: []string{
				"spec.respond.contexts: a DialogflowCX endpoint cannot send it; remove it or reference an endpoint of a dialect that does (DialogflowES)",
				"spec.respond.events: a DialogflowCX endpoint cannot send it",
				"spec.respond.messages[2].card: a DialogflowCX endpoint cannot send it; remove it or reference an endpoint of a dialect that does (DialogflowES, Rasa, Generic); Dialogflow CX shows rich content from a payload message",
				"spec.respond.messages[4].platform: a DialogflowCX endpoint cannot send it; remove it or reference an endpoint of a dialect that does (DialogflowES)",
			},
		},
		"a call's respond is checked too": {
			spec: fulfillmentv1alpha1.IntentRouteSpec{Call: &fulfillmentv1alpha1.CallAction{URL: "http://b",
				Respond: &fulfillmentv1alpha1.RespondAction{Events: []fulfillmentv1alpha1.RasaEvent{{Restart: true}}}}},
			dialect: fulfillmentv1alpha1.DialectGeneric,
			want:    []string{"spec.call.respond.events: a Generic endpoint cannot send it"},
		},
		"a forward has nothing to check": {
			spec:    fulfillmentv1alpha1.IntentRouteSpec{Forward: &fulfillmentv1alpha1.ForwardAction{URL: "http://b"}},
			dialect: fulfillmentv1alpha1.DialectRasa,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			problems := DialectProblems(&tc.spec, tc.dialect)
			if len(problems) != len(tc.want) {
				t.Fatalf("got %d problems %v, want %d", len(problems), problems, len(tc.want))
			}
			for i, want := range tc.want {
				if got := problems[i].Error(); !strings.HasPrefix(got, want) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, got, want)
				}
			}
		})
	}
}
