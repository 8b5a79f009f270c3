// Package all finds a dialect codec by the name WebhookEndpoint spec.dialect uses. It is a package of its own
// because package dialect cannot import the codecs, which import it.
package all

import (
	"fmt"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/cx"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/es"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/generic"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/rasa"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// names lists the dialects in the order the API documents them.
var names = []string{model.DialogflowES, model.DialogflowCX, model.Rasa, model.Generic}

var constructors = map[string]func() dialect.Codec{
	model.DialogflowES: es.New,
	model.DialogflowCX: cx.New,
	model.Rasa:         rasa.New,
	model.Generic:      func() dialect.Codec { return generic.New() },
}

// ForName returns the codec of the dialect named as in WebhookEndpoint spec.dialect ("DialogflowES",
// "DialogflowCX", "Rasa", "Generic"). Codecs hold no state, so one may serve every request.
func ForName(name string) (dialect.Codec, error) {
	newCodec, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("unknown dialect %q; want one of %s", name, strings.Join(names, ", "))
	}
	return newCodec(), nil
}

// Names returns the dialect names ForName knows, in the API's order.
func Names() []string {
	return append([]string(nil), names...)
}
