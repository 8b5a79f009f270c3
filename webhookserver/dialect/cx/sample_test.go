package cx

import (
	"testing"
	"time"

	"cloud.google.com/go/dialogflow/cx/apiv3/cxpb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// TestSampleIsAWebhookRequest: a sample holds only fields of Dialogflow CX's WebhookRequest, read strictly.
func TestSampleIsAWebhookRequest(t *testing.T) {
	body, err := codec{}.BuildSample(dialect.Sample{Tag: "order-status", Intent: "order.status", Event: "e",
		Parameters: map[string]any{"order_id": "12345"}, Environment: "prod", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var request cxpb.WebhookRequest
	if err := (protojson.UnmarshalOptions{}).Unmarshal(body, &request); err != nil {
		t.Fatalf("not a WebhookRequest: %v\n%s", err, body)
	}
	if got := request.GetFulfillmentInfo().GetTag(); got != "order-status" {
		t.Errorf("tag %q", got)
	}
	if got := request.GetSessionInfo().GetParameters()["order_id"].GetStringValue(); got != "12345" {
		t.Errorf("parameter order_id %q", got)
	}
}
