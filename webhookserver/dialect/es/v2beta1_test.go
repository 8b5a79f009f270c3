package es_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/dialogflow/apiv2beta1/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/es"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// betaRequest is a v2beta1 WebhookRequest as an agent with a knowledge connector sends it: the alternative
// results and the knowledge answers are fields v2 does not have.
func betaRequest(t *testing.T) []byte {
	t.Helper()
	request := &dialogflowpb.WebhookRequest{
		ResponseId: "beta-1",
		Session:    "projects/p/agent/environments/production/users/-/sessions/s1",
		QueryResult: &dialogflowpb.QueryResult{
			QueryText:    "talk to a human",
			LanguageCode: "en",
			Intent:       &dialogflowpb.Intent{DisplayName: "Handoff"},
			KnowledgeAnswers: &dialogflowpb.KnowledgeAnswers{Answers: []*dialogflowpb.KnowledgeAnswers_Answer{
				{Answer: "Our agents work 9 to 5.", MatchConfidence: 0.8},
			}},
		},
		AlternativeQueryResults: []*dialogflowpb.QueryResult{{
			QueryText: "talk to a human",
			KnowledgeAnswers: &dialogflowpb.KnowledgeAnswers{Answers: []*dialogflowpb.KnowledgeAnswers_Answer{
				{Answer: "Call us.", Source: "projects/p/knowledgeBases/kb/documents/faq"},
			}},
		}},
	}
	body, err := protojson.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func decodeES(t *testing.T, body []byte) dialect.Decoded {
	t.Helper()
	decoded, err := es.New().Decode(dialect.Input{
		Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return decoded
}

// A v2beta1 request is decoded like a v2 one, its version says v2beta1, and the fields only v2beta1 has are in
// request.body for routes to read.
func TestDecodeV2Beta1(t *testing.T) {
	req := decodeES(t, betaRequest(t)).Request()
	if req.Intent != "Handoff" || req.Environment != "production" || req.DeliveryID != "beta-1" {
		t.Errorf("intent, environment, delivery = %q, %q, %q", req.Intent, req.Environment, req.DeliveryID)
	}
	if req.Version != es.V2Beta1 {
		t.Errorf("version %q, want %q", req.Version, es.V2Beta1)
	}
	alternatives, _ := req.Body()["alternativeQueryResults"].([]any)
	if len(alternatives) != 1 {
		t.Fatalf("body alternativeQueryResults = %v, want the one alternative", req.Body()["alternativeQueryResults"])
	}
	queryResult, _ := req.Body()["queryResult"].(map[string]any)
	answers, _ := queryResult["knowledgeAnswers"].(map[string]any)
	if list, _ := answers["answers"].([]any); len(list) != 1 {
		t.Errorf("body queryResult.knowledgeAnswers = %v, want the one answer", queryResult["knowledgeAnswers"])
	}

	// Either field alone is enough; null is no field.
	for body, want := range map[string]string{
		`{"responseId":"r","queryResult":{"knowledgeAnswers":{"answers":[]}}}`: es.V2Beta1,
		`{"responseId":"r","alternativeQueryResults":[]}`:                      es.V2Beta1,
		`{"responseId":"r","alternativeQueryResults":null}`:                    es.V2,
		`{"responseId":"r","queryResult":{"queryText":"hi"}}`:                  es.V2,
	} {
		if got := decodeES(t, []byte(body)).Request().Version; got != want {
			t.Errorf("version of %s = %q, want %q", body, got, want)
		}
	}
}

// An answer to a v2beta1 caller may end the interaction or hand it over; the v2beta1 types take it strictly.
func TestEncodeV2Beta1Answer(t *testing.T) {
	decoded := decodeES(t, betaRequest(t))
	body, err := decoded.Encode(&model.Answer{Text: "Connecting you.", EndInteraction: true, LiveAgentHandoff: true})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	var answer dialogflowpb.WebhookResponse
	if err := (protojson.UnmarshalOptions{}).Unmarshal(body, &answer); err != nil {
		t.Fatalf("the v2beta1 WebhookResponse refuses %s: %v", body, err)
	}
	if !answer.GetEndInteraction() || !answer.GetLiveAgentHandoff() || answer.GetFulfillmentText() != "Connecting you." {
		t.Errorf("answer %s lost a field", body)
	}

	// Without them the answer has neither field, so it is a v2 answer too.
	body, err = decoded.Encode(&model.Answer{Text: "hi"})
	if err != nil || strings.Contains(string(body), "endInteraction") || strings.Contains(string(body), "liveAgentHandoff") {
		t.Errorf("plain answer %s, %v: want no v2beta1 field", body, err)
	}
}

// A v2 caller would refuse the whole answer for a v2beta1 field: the encoder refuses it instead, saying how to
// declare a beta agent, and a versionFrom that says v2beta1 lets it through.
func TestEncodeV2BetaFieldsToV2Caller(t *testing.T) {
	decoded := decodeES(t, []byte(`{"responseId":"r","session":"projects/p/agent/sessions/s","queryResult":{"intent":{"displayName":"Handoff"}}}`))
	for name, answer := range map[string]*model.Answer{
		"endInteraction":   {EndInteraction: true},
		"liveAgentHandoff": {LiveAgentHandoff: true},
	} {
		_, err := decoded.Encode(answer)
		var encodeErr *dialect.EncodeError
		if !errors.As(err, &encodeErr) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "versionFrom") {
			t.Errorf("%s to a v2 caller: error %v, want an EncodeError naming the field and versionFrom", name, err)
		}
	}

	decoded.Request().Version = es.V2Beta1 // as spec.versionFrom: '"v2beta1"' sets it
	if _, err := decoded.Encode(&model.Answer{EndInteraction: true}); err != nil {
		t.Errorf("endInteraction to a request declared v2beta1: %v", err)
	}
}
