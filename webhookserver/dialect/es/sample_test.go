package es

import (
	"testing"
	"time"

	"cloud.google.com/go/dialogflow/apiv2/dialogflowpb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// TestSampleIsAWebhookRequest: a sample holds only fields of Dialogflow's WebhookRequest, read strictly.
func TestSampleIsAWebhookRequest(t *testing.T) {
	body, err := codec{}.BuildSample(dialect.Sample{Intent: "GetAccountBalance", Action: "account.balance",
		Parameters: map[string]any{"account": "demo"}, Environment: "production", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var request dialogflowpb.WebhookRequest
	if err := (protojson.UnmarshalOptions{}).Unmarshal(body, &request); err != nil {
		t.Fatalf("not a WebhookRequest: %v\n%s", err, body)
	}
	if got := request.GetQueryResult().GetIntent().GetDisplayName(); got != "GetAccountBalance" {
		t.Errorf("intent %q", got)
	}
	if got := request.GetQueryResult().GetParameters().GetFields()["account"].GetStringValue(); got != "demo" {
		t.Errorf("parameter account %q", got)
	}
}
