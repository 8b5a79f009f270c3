package send

import (
	"net/http"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

func target(spec fulfillmentv1alpha1.WebhookEndpointSpec, secrets config.MapSecrets) *Target {
	if spec.Dialect == "" {
		spec.Dialect = "DialogflowES"
	}
	return &Target{Name: "bot", Namespace: "bots", Spec: spec, Secrets: secrets}
}

func hmacKey(t *testing.T, scheme fulfillmentv1alpha1.HMACScheme) []byte {
	t.Helper()
	key, err := hmackey.Generate(scheme)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestBuildAuthenticates builds a request for each authentication method and checks it with the server's own
// checker, made from the same Secret.
func TestBuildAuthenticates(t *testing.T) {
	now := time.Now()
	generic := &fulfillmentv1alpha1.GenericHMAC{Header: "X-Signature", Algorithm: "SHA512", Encoding: "Base64", Prefix: "sha512="}
	tests := map[string]struct {
		auth    fulfillmentv1alpha1.EndpointAuth
		secrets config.MapSecrets
		checker func(t *testing.T, secrets config.MapSecrets, spec fulfillmentv1alpha1.EndpointAuth) auth.Checker
	}{
		"basic": {
			auth:    fulfillmentv1alpha1.EndpointAuth{Basic: &fulfillmentv1alpha1.BasicAuth{SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "creds"}}},
			secrets: config.MapSecrets{"bots/creds": {"username": []byte("dialogflow"), "password": []byte("p'a:ss w\"ord")}},
			checker: func(t *testing.T, s config.MapSecrets, _ fulfillmentv1alpha1.EndpointAuth) auth.Checker {
				return auth.NewBasic(s["bots/creds"]["username"], s["bots/creds"]["password"])
			},
		},
		"bearer in Authorization": {
			auth: fulfillmentv1alpha1.EndpointAuth{Bearer: &fulfillmentv1alpha1.BearerAuth{
				SecretRef: fulfillmentv1alpha1.SecretKeySelector{Name: "token", Key: "token"}}},
			secrets: config.MapSecrets{"bots/token": {"token": []byte("t0ken\n")}},
			checker: func(*testing.T, config.MapSecrets, fulfillmentv1alpha1.EndpointAuth) auth.Checker {
				return auth.NewBearer("", []byte("t0ken"))
			},
		},
		"bearer in another header": {
			auth: fulfillmentv1alpha1.EndpointAuth{Bearer: &fulfillmentv1alpha1.BearerAuth{Header: "X-Webhook-Token",
				SecretRef: fulfillmentv1alpha1.SecretKeySelector{Name: "token", Key: "token"}}},
			secrets: config.MapSecrets{"bots/token": {"token": []byte("t0ken")}},
			checker: func(*testing.T, config.MapSecrets, fulfillmentv1alpha1.EndpointAuth) auth.Checker {
				return auth.NewBearer("X-Webhook-Token", []byte("t0ken"))
			},
		},
	}
	for _, scheme := range []fulfillmentv1alpha1.HMACScheme{fulfillmentv1alpha1.HMACSchemeStandardWebhooks,
		fulfillmentv1alpha1.HMACSchemeGitHub, fulfillmentv1alpha1.HMACSchemeStripe, fulfillmentv1alpha1.HMACSchemeSlack,
		fulfillmentv1alpha1.HMACSchemeShopify, fulfillmentv1alpha1.HMACSchemeGeneric} {
		spec := &fulfillmentv1alpha1.HMACAuth{Scheme: scheme}
		if scheme == fulfillmentv1alpha1.HMACSchemeGeneric {
			spec.Generic = generic
		}
		// The generated Secret (bot-hmac), with a previous key: the current one signs.
		tests["hmac "+string(scheme)] = struct {
			auth    fulfillmentv1alpha1.EndpointAuth
			secrets config.MapSecrets
			checker func(t *testing.T, secrets config.MapSecrets, spec fulfillmentv1alpha1.EndpointAuth) auth.Checker
		}{
			auth:    fulfillmentv1alpha1.EndpointAuth{HMAC: spec},
			secrets: config.MapSecrets{"bots/bot-hmac": {"secret": append(hmacKey(t, scheme), '\n'), "previous": hmacKey(t, scheme)}},
			checker: func(t *testing.T, s config.MapSecrets, a fulfillmentv1alpha1.EndpointAuth) auth.Checker {
				checker, err := auth.NewHMAC(a.HMAC, hmackey.Keys(s["bots/bot-hmac"]))
				if err != nil {
					t.Fatal(err)
				}
				return checker
			},
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := Build(target(fulfillmentv1alpha1.WebhookEndpointSpec{Auth: tc.auth}, tc.secrets),
				&Options{Intent: "GetAccountBalance"}, now)
			if err != nil {
				t.Fatal(err)
			}
			checker := tc.checker(t, tc.secrets, tc.auth)
			if failure := checker.Check(&auth.Request{Header: req.Header, Body: req.Body}); failure != nil {
				t.Fatalf("the server's checker refused the request: %v (headers %v)", failure, req.Header)
			}
			// The same credentials on another body: only a signature notices.
			if tc.auth.HMAC != nil {
				if failure := checker.Check(&auth.Request{Header: req.Header, Body: append(req.Body, ' ')}); failure == nil {
					t.Error("a changed body passed the signature check")
				}
			}
			if got := req.Header.Get(server.DebugHeader); got != server.DebugRoute {
				t.Errorf("%s: %q, want %q", server.DebugHeader, got, server.DebugRoute)
			}
		})
	}
}

// TestBuildRefuses: what send cannot do by itself is said, with the flag that does it.
func TestBuildRefuses(t *testing.T) {
	secretRef := fulfillmentv1alpha1.LocalObjectReference{Name: "creds"}
	tests := map[string]struct {
		spec fulfillmentv1alpha1.WebhookEndpointSpec
		opts Options
		want string
	}{
		"OIDC without a token": {
			spec: fulfillmentv1alpha1.WebhookEndpointSpec{Auth: fulfillmentv1alpha1.EndpointAuth{OIDC: &fulfillmentv1alpha1.OIDCAuth{Issuer: "https://accounts.google.com"}}},
			opts: Options{Intent: "i"}, want: "--header 'Authorization: Bearer TOKEN'",
		},
		"OAuth2 introspection without a token": {
			spec: fulfillmentv1alpha1.WebhookEndpointSpec{Auth: fulfillmentv1alpha1.EndpointAuth{OAuth2: &fulfillmentv1alpha1.EndpointOAuth2{}}},
			opts: Options{Intent: "i"}, want: "auth.oauth2: send cannot obtain an access token",
		},
		"client certificate required": {
			spec: fulfillmentv1alpha1.WebhookEndpointSpec{TLS: &fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSecret,
				ClientAuth: &fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire}}},
			opts: Options{Intent: "i"}, want: "give --cert and --key",
		},
		"Secret missing": {
			spec: fulfillmentv1alpha1.WebhookEndpointSpec{Auth: fulfillmentv1alpha1.EndpointAuth{Basic: &fulfillmentv1alpha1.BasicAuth{SecretRef: secretRef}}},
			opts: Options{Intent: "i"}, want: "auth.basic: secret bots/creds not found",
		},
		"a selector the dialect lacks": {
			spec: fulfillmentv1alpha1.WebhookEndpointSpec{Auth: fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true}},
			opts: Options{Tag: "t"}, want: "carry no tag",
		},
		"data file missing": {
			spec: fulfillmentv1alpha1.WebhookEndpointSpec{Dialect: "Generic"},
			opts: Options{Event: "e", Data: "@/nonexistent/event.json"}, want: "--data: open /nonexistent/event.json",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Build(target(tc.spec, config.MapSecrets{}), &tc.opts, time.Now())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// An OIDC endpoint takes a token given with --header.
	opts := Options{Intent: "i"}
	if err := opts.Headers.Set("Authorization: Bearer id-token"); err != nil {
		t.Fatal(err)
	}
	req, err := Build(target(tests["OIDC without a token"].spec, nil), &opts, time.Now())
	if err != nil || req.Header.Get("Authorization") != "Bearer id-token" {
		t.Fatalf("with --header: %v, %v", err, req)
	}
}

func TestResolve(t *testing.T) {
	req := &Request{Path: "/bank-bot"}
	for _, tc := range []struct{ url, base, want string }{
		{"", "http://127.0.0.1:8080", "http://127.0.0.1:8080/bank-bot"},
		{"localhost:9000", "", "http://localhost:9000/bank-bot"},
		{"https://bots.example.com/", "", "https://bots.example.com/bank-bot"},
		{"https://bots.example.com/elsewhere?x=1", "", "https://bots.example.com/elsewhere?x=1"},
	} {
		u, err := req.Resolve(tc.url, tc.base)
		if err != nil || u.String() != tc.want {
			t.Errorf("Resolve(%q, %q) = %v, %v; want %s", tc.url, tc.base, u, err, tc.want)
		}
	}
	if _, err := req.Resolve("http://", ""); err == nil {
		t.Error("a URL without a host was taken")
	}
	if got := localBase(false); got != "http://127.0.0.1:8080" {
		t.Errorf("the local server is %s", got)
	}
}

// TestCurlQuotes runs the printed command with a curl that prints its arguments: every argument arrives as
// built, whatever it holds.
func TestCurlQuotes(t *testing.T) {
	req := &Request{Method: http.MethodPut, Header: http.Header{
		"Authorization": {"Basic a'b"}, "X-Note": {"$HOME `id` \"q\" \\ !x"},
	}, Body: []byte("{\"text\":\"it's\\n $(rm -rf /)\"}\n")}
	command := Curl(req, "http://127.0.0.1:8080/a?b=c&d", &Options{CertFile: "my cert.pem", KeyFile: "key.pem"})
	out, err := exec.Command("bash", "-c", `curl() { printf '%s\0' "$@"; }; `+command).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	want := []string{"-sS", "-X", "PUT", "-H", "Authorization: Basic a'b", "-H", "X-Note: $HOME `id` \"q\" \\ !x",
		"--cert", "my cert.pem", "--key", "key.pem", "--data-binary", string(req.Body), "http://127.0.0.1:8080/a?b=c&d"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("curl got\n%q\nwant\n%q\n(command %s)", got, want, command)
	}
}

func TestParams(t *testing.T) {
	var p params
	for _, arg := range []string{"account=demo", "amount:=12.5", "note=a=b", "tags:=[\"x\"]", "empty=", "url=http://x:=y"} {
		if err := p.Set(arg); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
	}
	want := params{"account": "demo", "amount": 12.5, "note": "a=b", "tags": []any{"x"}, "empty": "", "url": "http://x:=y"}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("params %v, want %v", p, want)
	}
	for _, bad := range []string{"noequals", "=v", "n:={", ":=1"} {
		if err := p.Set(bad); err == nil {
			t.Errorf("%q was taken", bad)
		}
	}
}
