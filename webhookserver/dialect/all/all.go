// Package all finds a dialect codec by the name WebhookEndpoint spec.dialect uses. It is a package of its own
// because package dialect cannot import the codecs, which import it. A new dialect is a package of its own
// under dialect/ and one line in dialects.
package all

import (
	"fmt"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/cx"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/es"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/generic"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/rasa"
)

// dialects are the registered dialects, in the order the API documents them.
var dialects = []struct {
	name string
	new  func(dialect.Settings) dialect.Codec
}{
	{es.Name, func(dialect.Settings) dialect.Codec { return es.New() }},
	{cx.Name, func(dialect.Settings) dialect.Codec { return cx.New() }},
	{rasa.Name, func(dialect.Settings) dialect.Codec { return rasa.New() }},
	{generic.Name, generic.FromSettings},
}

// ForName returns the codec of the dialect named as in WebhookEndpoint spec.dialect ("DialogflowES",
// "DialogflowCX", "Rasa", "Generic"), made with no settings. Codecs hold no state, so one may serve every request.
func ForName(name string) (dialect.Codec, error) {
	return New(name, dialect.Settings{})
}

// New returns the codec of the dialect named as in WebhookEndpoint spec.dialect, made for an endpoint's settings.
func New(name string, settings dialect.Settings) (dialect.Codec, error) {
	for _, d := range dialects {
		if d.name == name {
			return d.new(settings), nil
		}
	}
	return nil, fmt.Errorf("unknown dialect %q; want one of %s", name, strings.Join(Names(), ", "))
}

// Names returns the dialect names ForName knows, in the API's order.
func Names() []string {
	names := make([]string, 0, len(dialects))
	for _, d := range dialects {
		names = append(names, d.name)
	}
	return names
}
