package action

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

func compileRespond(t *testing.T, spec *fulfillmentv1alpha1.RespondAction) *Respond {
	t.Helper()
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := routespec.CompileRespond(env, spec, "spec.respond")
	if err != nil {
		t.Fatal(err)
	}
	return NewRespond(compiled)
}

// Every message kind and respond field is rendered from its templates and expressions.
func TestRespondRendersEveryKind(t *testing.T) {
	lifespan := int32(2)
	respond := compileRespond(t, &fulfillmentv1alpha1.RespondAction{
		Messages: []fulfillmentv1alpha1.Message{
			{Text: "Hi ${params.name}", Platform: "SLACK"},
			{Image: &fulfillmentv1alpha1.ImageMessage{URL: "https://img/${params.plan}.png", AccessibilityText: "the ${params.plan} plan"}},
			{Card: &fulfillmentv1alpha1.CardMessage{Title: "${params.plan}", Subtitle: "s", ImageURL: "https://img/c.png",
				Buttons: []fulfillmentv1alpha1.CardButton{{Text: "Upgrade"}, {Text: "Docs", Postback: "https://docs/${params.plan}"}}}},
			{QuickReplies: &fulfillmentv1alpha1.QuickReplies{Title: "More?", Replies: []string{"yes", "${params.name}"}}},
			{OutputAudioText: &fulfillmentv1alpha1.OutputAudioText{SSML: "<speak>${params.name}</speak>"}},
			{PlayAudio: &fulfillmentv1alpha1.PlayAudio{AudioURI: "gs://a/${params.plan}.wav"}},
			{TelephonyTransferCall: &fulfillmentv1alpha1.TelephonyTransferCall{PhoneNumber: "+15551234567"}},
			{ConversationSuccess: &fulfillmentv1alpha1.MessageMetadata{}},
			{LiveAgentHandoff: &fulfillmentv1alpha1.MessageMetadata{Metadata: &apiextensionsv1.JSON{Raw: []byte(`{"queue": "${params.plan}"}`)}}},
			{Response: &fulfillmentv1alpha1.ResponseTemplate{Name: "utter_plan", Variables: map[string]string{"plan": "params.plan"}}},
		},
		Contexts:       []fulfillmentv1alpha1.DialogflowContext{{Name: "menu", LifespanCount: &lifespan, Parameters: map[string]string{"plan": "params.plan"}}, {Name: "other"}},
		ClearContexts:  []string{"old"},
		FormParameters: []fulfillmentv1alpha1.FormParameter{{Name: "promo", Invalid: "params.promo != 'OK'"}, {Name: "plan", Invalid: "false", Value: "params.plan.upperAscii()"}, {Name: "name", Invalid: "true", Value: "params.name"}},
		Events: []fulfillmentv1alpha1.RasaEvent{{FollowupAction: "action_x"}, {ActiveLoop: &fulfillmentv1alpha1.ActiveLoop{}},
			{Reminder: &fulfillmentv1alpha1.Reminder{Intent: "EXTERNAL_r", After: metav1.Duration{Duration: time.Hour}, Entities: map[string]string{"plan": "params.plan"}}}},
	})
	vars := &expr.Vars{Request: &model.Request{Parameters: map[string]any{"name": "Ann <&>", "plan": "gold", "promo": "BAD"}}}
	before := time.Now()
	answer, err := respond.Answer(context.Background(), vars)
	if err != nil {
		t.Fatal(err)
	}
	reminder := answer.Events[2]
	if at := reminder.TriggerAt; at.Before(before.Add(time.Hour)) || at.After(time.Now().Add(time.Hour)) {
		t.Errorf("the reminder fires at %v, want an hour from now", at)
	}
	reminder.TriggerAt = time.Time{}
	answer.Events[2] = reminder
	want := &model.Answer{
		Messages: []model.Message{
			{Text: "Hi Ann <&>", Platform: "SLACK"},
			{Image: &model.Image{URL: "https://img/gold.png", AccessibilityText: "the gold plan"}},
			{Card: &model.Card{Title: "gold", Subtitle: "s", ImageURL: "https://img/c.png",
				Buttons: []model.Button{{Text: "Upgrade", Postback: "Upgrade"}, {Text: "Docs", Postback: "https://docs/gold"}}}},
			{QuickReplies: &model.QuickReplies{Title: "More?", Replies: []string{"yes", "Ann <&>"}}},
			{OutputAudioText: &model.AudioText{SSML: "<speak>Ann &lt;&amp;&gt;</speak>"}},
			{PlayAudio: &model.PlayAudio{AudioURI: "gs://a/gold.wav"}},
			{TelephonyTransferCall: &model.TransferCall{PhoneNumber: "+15551234567"}},
			{ConversationSuccess: &model.Metadata{}},
			{LiveAgentHandoff: &model.Metadata{Metadata: map[string]any{"queue": "gold"}}},
			{Response: &model.ResponseTemplate{Name: "utter_plan", Variables: map[string]any{"plan": "gold"}}},
		},
		Contexts:      []model.Context{{Name: "menu", LifespanCount: 2, Parameters: map[string]any{"plan": "gold"}}, {Name: "other", LifespanCount: 5}},
		ClearContexts: []string{"old"},
		FormParameters: []model.FormParameter{{Name: "promo", Invalid: true}, {Name: "plan", Value: "GOLD", HasValue: true},
			{Name: "name", Invalid: true}},
		Events: []model.Event{{Kind: model.EventFollowupAction, Name: "action_x"}, {Kind: model.EventActiveLoop},
			{Kind: model.EventReminder, Intent: "EXTERNAL_r", Entities: map[string]any{"plan": "gold"}, KillOnUserMessage: true}},
	}
	if !reflect.DeepEqual(answer, want) {
		t.Errorf("answer\n %+v\nwant\n %+v", answer, want)
		for i := range want.Messages {
			if i < len(answer.Messages) && !reflect.DeepEqual(answer.Messages[i], want.Messages[i]) {
				t.Errorf("message %d: %+v, want %+v", i, answer.Messages[i], want.Messages[i])
			}
		}
	}
}

// A field that fails to render fails the answer with the field's path, so that the fallback is answered.
func TestRespondNamesTheFailingField(t *testing.T) {
	respond := compileRespond(t, &fulfillmentv1alpha1.RespondAction{Messages: []fulfillmentv1alpha1.Message{
		{Text: "ok"},
		{Card: &fulfillmentv1alpha1.CardMessage{Title: "t", Buttons: []fulfillmentv1alpha1.CardButton{{Text: "${params.missing}"}}}},
	}})
	_, err := respond.Answer(context.Background(), &expr.Vars{Request: &model.Request{}})
	var failure *Failure
	if !errors.As(err, &failure) || failure.Reason != "template" || failure.Message != "rendering messages[1].card.buttons[0].text" {
		t.Fatalf("error %v, want a template failure at messages[1].card.buttons[0].text", err)
	}
}
