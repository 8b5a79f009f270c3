package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
)

// TestBotsLoadAsTheServerReadsThem generates a few bots and reads them back with the server's loader, as a
// gateway pod reads its configuration: every bot is an endpoint on its own path with the sample's routes and
// its own distinct ones, its Secrets copied where the file says (none mounted on its own), and the targets
// list each bot's path with the credentials its Secret holds.
func TestBotsLoadAsTheServerReadsThem(t *testing.T) {
	const bots, perBot = 5, 3
	out := t.TempDir()
	if err := generate("../../../config/samples/dialogflow-es-bank", out, bots, perBot); err != nil {
		t.Fatal(err)
	}
	sample, err := config.LoadManifests("../../../config/samples/dialogflow-es-bank")
	if err != nil {
		t.Fatal(err)
	}
	sampleRoutes := len(sample.File.Endpoints[0].Routes)

	path := filepath.Join(out, configFile)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	file, err := config.ParseFile(path, content)
	if err != nil {
		t.Fatalf("the server refuses the configuration: %v", err)
	}
	if !file.Admitted || len(file.Endpoints) != bots {
		t.Fatalf("admitted %v, %d endpoints; want an admitted file with %d", file.Admitted, len(file.Endpoints), bots)
	}
	mounted, err := os.ReadDir(config.SecretsFolder(path, file.SecretsDir))
	if err != nil || len(mounted) != 0 {
		t.Fatalf("Secrets mounted on their own: %v, %v; want none, every one copied", mounted, err)
	}
	secrets := config.CopiedSecrets{Copies: config.SecretCopiesFolder(path, file.SecretCopiesDir),
		Mounted: config.DirSecrets(config.SecretsFolder(path, file.SecretsDir))}
	paths, intents := map[string]string{}, map[string]bool{}
	for _, endpoint := range file.Endpoints {
		paths[endpoint.Spec.Path] = endpoint.Name
		if endpoint.Spec.GatewayRef == nil || endpoint.Spec.Replicas != nil {
			t.Errorf("%s: gatewayRef %v, replicas %v; want a gateway's endpoint", endpoint.Name, endpoint.Spec.GatewayRef, endpoint.Spec.Replicas)
		}
		if len(endpoint.Routes) != sampleRoutes+perBot {
			t.Errorf("%s has %d routes, want the sample's %d and %d more", endpoint.Name, len(endpoint.Routes), sampleRoutes, perBot)
		}
		for _, r := range endpoint.Routes {
			if r.Spec.EndpointRef.Name != endpoint.Name {
				t.Errorf("route %s of %s names endpoint %s", r.Name, endpoint.Name, r.Spec.EndpointRef.Name)
			}
			for _, h := range callHeaders(r.Spec.Call) {
				if h.ValueFrom == nil {
					continue
				}
				ref := h.ValueFrom.SecretKeyRef
				if _, err := secrets.Secret(endpoint.Namespace, ref.Name, ref.Key); err != nil || !strings.HasPrefix(ref.Name, endpoint.Name+"-") {
					t.Errorf("route %s of %s reads Secret %s: %v; want a Secret of its own", r.Name, endpoint.Name, ref.Name, err)
				}
			}
			if strings.HasPrefix(r.Name, "bench-route-") {
				intents[r.Spec.Match.Intents[0]+" "+r.Spec.Match.When] = true
			}
		}
		password, err := secrets.Secret(endpoint.Namespace, endpoint.Spec.Auth.Basic.SecretRef.Name, "password")
		if err != nil || string(password) != "change-me-"+endpoint.Name {
			t.Errorf("%s's basic auth Secret: %q, %v", endpoint.Name, password, err)
		}
	}
	if len(paths) != bots || len(intents) != bots*perBot {
		t.Errorf("%d distinct paths and %d distinct routes, want %d and %d", len(paths), len(intents), bots, bots*perBot)
	}

	targets, err := os.ReadFile(filepath.Join(out, targetsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(targets)), "\n")
	for _, line := range lines {
		p, authorization, _ := strings.Cut(line, " ")
		name, listed := paths[p]
		credentials, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(authorization, "Basic "))
		if !listed || string(credentials) != "dialogflow:change-me-"+name {
			t.Errorf("target %q: want a bot's path and its credentials", line)
		}
	}
	if len(lines) != bots {
		t.Errorf("%d targets, want %d", len(lines), bots)
	}
}

// callHeaders are a call's headers; none without a call.
func callHeaders(call *fulfillmentv1alpha1.CallAction) []fulfillmentv1alpha1.Header {
	if call == nil {
		return nil
	}
	return call.Headers
}
