// Package cx is the Dialogflow CX (API v3) dialect. It reads google.cloud.dialogflow.cx.v3.WebhookRequest JSON
// and writes WebhookResponse JSON holding only fields of that schema, since Dialogflow refuses a whole answer for
// one unknown field.
package cx

import (
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Name is the dialect's name in WebhookEndpoint spec.dialect.
const Name = "DialogflowCX"

// codec has Dialogflow's rules: its default deadline and its answer size limit.
type codec struct{ dialogflow.Rules }

// New returns the Dialogflow CX codec.
func New() dialect.Codec { return codec{} }

// decoded is a request this codec decoded. A CX answer needs nothing of the request.
type decoded = dialect.Stateless[answers]

// answers encodes CX answers (encode.go).
type answers struct{}

// Adopt is req, a request made by hand (a test's, a tool's), as if this codec had decoded it.
func Adopt(req *model.Request) dialect.Decoded { return dialect.Adopt[answers](req) }
