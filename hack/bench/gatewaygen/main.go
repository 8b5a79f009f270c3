// Command gatewaygen writes what one webhookserver pod of a WebhookGateway loads when it serves many bots, for
// hack/bench/gateway.sh: a configuration file in the form the operator renders for a gateway (admitted: true,
// the bots' Secrets as copies in the one folder of the gateway's Secret of copies) with n endpoints made from the bank-bot sample, each with its own name,
// path and Secrets, the sample's routes and r more routes of its own (hack/bench/internal/distinctroute: no CEL
// expression shared with any other route of any bot). It also writes the list of the bots' paths with their
// Authorization headers, which the load generators read to spread requests over the bots.
//
//	go run ./hack/bench/gatewaygen -bots 1000 -routes-per-bot 10 -out /tmp/gateway
//
// writes /tmp/gateway/config/config.yaml (webhookserver serve --config), /tmp/gateway/gateway-secrets/<name>_<key>
// (configfile.SecretCopyKey), an empty /tmp/gateway/secrets (the Secrets mounted on their own: none) and
// /tmp/gateway/targets.txt (one "PATH AUTHORIZATION" line per bot).
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/hack/bench/internal/distinctroute"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// The files and folders gatewaygen writes under -out. The configuration names its Secrets' folders relative to
// itself, as the operator's does (../secrets, ../gateway-secrets).
const (
	configFile      = "config/config.yaml"
	secretsDir      = "secrets"
	secretCopiesDir = "gateway-secrets"
	targetsFile     = "targets.txt"
)

// namespace is the bots' namespace, and gatewayName the WebhookGateway their gatewayRef names.
const (
	namespace   = "bots"
	gatewayName = "shared"
)

func main() {
	bots := flag.Int("bots", 1000, "how many bots (WebhookEndpoints) the gateway serves")
	routesPerBot := flag.Int("routes-per-bot", 10, "distinct routes per bot, besides the sample's")
	sample := flag.String("sample", "config/samples/dialogflow-es-bank", "the bot every bot is made from (manifests)")
	out := flag.String("out", "", "the folder to write into (created)")
	flag.Parse()
	if *out == "" || *bots < 1 || *routesPerBot < 0 {
		log.Fatal("gatewaygen: want -out, -bots 1 or more and -routes-per-bot 0 or more")
	}
	if err := generate(*sample, *out, *bots, *routesPerBot); err != nil {
		log.Fatal(err)
	}
}

// generate writes the configuration, Secrets and targets of n bots made from sample, r distinct routes each.
func generate(sample, out string, n, r int) error {
	loaded, err := config.LoadManifests(sample)
	if err != nil {
		return fmt.Errorf("loading the sample: %w", err)
	}
	if len(loaded.File.Endpoints) != 1 {
		return fmt.Errorf("the sample %s has %d endpoints, want 1", sample, len(loaded.File.Endpoints))
	}
	template := loaded.File.Endpoints[0]
	file := &configfile.File{Header: configfile.Header{SecretsDir: "../" + secretsDir, SecretCopiesDir: "../" + secretCopiesDir, Admitted: true}}
	if err := os.MkdirAll(filepath.Join(out, secretsDir), 0o755); err != nil {
		return err
	}
	var targets strings.Builder
	for b := range n {
		bot := botFrom(template, botName(b), b*r, r)
		file.Endpoints = append(file.Endpoints, bot.endpoint)
		for name, data := range bot.secrets(loaded.Secrets, template.Namespace) {
			if err := writeSecretCopies(filepath.Join(out, secretCopiesDir), name, data); err != nil {
				return err
			}
		}
		fmt.Fprintf(&targets, "%s %s\n", bot.endpoint.Spec.Path, bot.authorization)
	}
	data, err := configfile.Render(file)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, configFile), data); err != nil {
		return err
	}
	return writeFile(filepath.Join(out, targetsFile), []byte(targets.String()))
}

// botName is the name of the i-th bot, which its path and Secrets' names start from.
func botName(i int) string { return fmt.Sprintf("bot-%04d", i+1) }

// bot is one generated endpoint with the names of the sample's Secrets it was given instead.
type bot struct {
	endpoint configfile.Endpoint
	// renamed maps a Secret of the sample to the bot's own; prefix is the sample's name, which the bot's name
	// replaces at the start of its Secrets' names.
	renamed map[string]string
	prefix  string
	// password of the bot's basic auth, and the Authorization header that carries it.
	password, authorization string
}

// botFrom is the sample's endpoint as bot name on the gateway: its own path and Secrets, the sample's routes
// renamed after it, and r distinct routes numbered from first.
func botFrom(sample configfile.Endpoint, name string, first, r int) bot {
	b := bot{renamed: map[string]string{}, prefix: sample.Name + "-", password: "change-me-" + name}
	b.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte("dialogflow:"+b.password))
	spec := *sample.Spec.DeepCopy()
	spec.Path = "/bots/" + name
	spec.GatewayRef = &fulfillmentv1alpha1.LocalObjectReference{Name: gatewayName}
	spec.Replicas = nil // the gateway's: admission refuses it on an endpoint with gatewayRef
	if spec.Auth.Basic != nil {
		spec.Auth.Basic.SecretRef.Name = b.rename(spec.Auth.Basic.SecretRef.Name, name)
	}
	b.endpoint = configfile.Endpoint{Name: name, Namespace: namespace, Spec: spec}
	for _, route := range sample.Routes {
		routeSpec := *route.Spec.DeepCopy()
		routeSpec.EndpointRef.Name = name
		if routeSpec.Call != nil {
			for i, h := range routeSpec.Call.Headers {
				if h.ValueFrom != nil {
					routeSpec.Call.Headers[i].ValueFrom.SecretKeyRef.Name = b.rename(h.ValueFrom.SecretKeyRef.Name, name)
				}
			}
		}
		routeName := name + "-" + strings.TrimPrefix(route.Name, b.prefix)
		b.endpoint.Routes = append(b.endpoint.Routes, configfile.Route{Name: routeName, Spec: routeSpec})
	}
	for i := first; i < first+r; i++ {
		d := distinctroute.At(i)
		b.endpoint.Routes = append(b.endpoint.Routes, configfile.Route{Name: d.Name, Spec: fulfillmentv1alpha1.IntentRouteSpec{
			EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: name},
			Match:       fulfillmentv1alpha1.RouteMatch{Intents: []string{d.Intent}, When: d.Guard},
			Respond:     &fulfillmentv1alpha1.RespondAction{Text: d.Text},
		}})
	}
	return b
}

// rename gives the bot its own copy of the sample's Secret secret.
func (b bot) rename(secret, name string) string {
	own := name + "-" + strings.TrimPrefix(secret, b.prefix)
	b.renamed[secret] = own
	return own
}

// secrets are the bot's Secrets by name, the sample's values with the bot's own password.
func (b bot) secrets(sample config.MapSecrets, sampleNamespace string) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	for from, to := range b.renamed {
		data := map[string][]byte{}
		for key, value := range sample[sampleNamespace+"/"+from] {
			data[key] = value
		}
		if _, ok := data["password"]; ok {
			data["password"] = []byte(b.password)
		}
		out[to] = data
	}
	return out
}

// writeSecretCopies writes a Secret's keys as the gateway's Secret of copies holds them, mounted: one file per
// key, named after the Secret and the key.
func writeSecretCopies(dir, name string, data map[string][]byte) error {
	for key, value := range data {
		if err := writeFile(filepath.Join(dir, configfile.SecretCopyKey(name, key)), value); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
