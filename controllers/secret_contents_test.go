package controllers

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig/tlstest"
)

func TestCheckSecretKeys(t *testing.T) {
	const secretValue = "s3cr3t-value-never-shown"
	basic := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Auth.Basic = &fulfillmentv1alpha1.BasicAuth{SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "creds"}}
	})
	bearer := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Auth.Bearer = &fulfillmentv1alpha1.BearerAuth{SecretRef: fulfillmentv1alpha1.SecretKeySelector{Name: "creds", Key: "token"}}
	})
	introspection := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Auth.OAuth2 = &fulfillmentv1alpha1.EndpointOAuth2{Introspection: fulfillmentv1alpha1.TokenIntrospection{
			URL: "https://auth.example.com/introspect", SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "creds"}}}
	})
	hmacEndpoint := func(scheme fulfillmentv1alpha1.HMACScheme, ref bool) *fulfillmentv1alpha1.WebhookEndpoint {
		return endpointFixture(withDialect(fulfillmentv1alpha1.DialectGeneric), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.Auth.HMAC = &fulfillmentv1alpha1.HMACAuth{Scheme: scheme}
			if ref {
				e.Spec.Auth.HMAC.SecretRef = &fulfillmentv1alpha1.LocalObjectReference{Name: "creds"}
			}
		})
	}
	redis := endpointFixture(withDialect(fulfillmentv1alpha1.DialectGeneric), func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Idempotency = &fulfillmentv1alpha1.Idempotency{Enabled: true, Store: fulfillmentv1alpha1.IdempotencyStoreRedis}
		e.Spec.Redis = &fulfillmentv1alpha1.RedisConnection{URLSecretRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "creds", Key: "url"}}
	})
	route := routeFixture("r", withCall(fulfillmentv1alpha1.CallAction{URL: "https://bank.internal", Headers: []fulfillmentv1alpha1.Header{
		{Name: "X-Token", ValueFrom: &fulfillmentv1alpha1.HeaderSource{SecretKeyRef: fulfillmentv1alpha1.SecretKeySelector{Name: "creds", Key: "token"}}},
	}}))

	outbound := routeFixture("r", withCall(fulfillmentv1alpha1.CallAction{URL: "https://bank.internal",
		Auth: &fulfillmentv1alpha1.OutboundAuth{OAuth2: &fulfillmentv1alpha1.OAuth2ClientCredentials{TokenURL: "https://idp.internal/token",
			SecretRef: fulfillmentv1alpha1.OAuth2SecretRef{Name: "creds"}}},
		TLS: &fulfillmentv1alpha1.OutboundTLS{CARef: &fulfillmentv1alpha1.CABundleRef{SecretKeyRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "creds", Key: "ca.crt"}},
			ClientCertificateSecretRef: &fulfillmentv1alpha1.LocalObjectReference{Name: "creds"}},
	}))
	ca := tlstest.NewCA(t, "upstream CA")
	clientCert, otherCert := ca.Issue(t, tlstest.Options{CommonName: "client", Client: true}), ca.Issue(t, tlstest.Options{CommonName: "other", Client: true})
	outboundData := func(change map[string]string) map[string]string {
		data := map[string]string{"clientID": "fulfillment", "clientSecret": secretValue, "ca.crt": string(ca.PEM),
			"tls.crt": string(clientCert.CertPEM), "tls.key": string(clientCert.KeyPEM)}
		for k, v := range change {
			if v == "" {
				delete(data, k)
			} else {
				data[k] = v
			}
		}
		return data
	}

	tests := map[string]struct {
		reqs []SecretKeyRequirement
		data map[string]string
		// want are "reason field key" of each problem.
		want []string
	}{
		"basic complete":         {reqs: EndpointSecretRequirements(basic), data: map[string]string{"username": "u", "password": secretValue}},
		"basic no password":      {reqs: EndpointSecretRequirements(basic), data: map[string]string{"username": "u"}, want: []string{"SecretKeyMissing spec.auth.basic.secretRef password"}},
		"basic no username":      {reqs: EndpointSecretRequirements(basic), data: map[string]string{"password": secretValue}, want: []string{"SecretKeyMissing spec.auth.basic.secretRef username"}},
		"basic empty password":   {reqs: EndpointSecretRequirements(basic), data: map[string]string{"username": "u", "password": " \n"}, want: []string{"SecretKeyInvalid spec.auth.basic.secretRef password"}},
		"bearer key present":     {reqs: EndpointSecretRequirements(bearer), data: map[string]string{"token": secretValue}},
		"bearer other key":       {reqs: EndpointSecretRequirements(bearer), data: map[string]string{"tok": secretValue}, want: []string{"SecretKeyMissing spec.auth.bearer.secretRef token"}},
		"introspection complete": {reqs: EndpointSecretRequirements(introspection), data: map[string]string{"clientID": "bot", "clientSecret": secretValue}},
		"introspection no client secret": {reqs: EndpointSecretRequirements(introspection), data: map[string]string{"clientID": "bot"},
			want: []string{"SecretKeyMissing spec.auth.oauth2.introspection.secretRef clientSecret"}},
		"introspection empty client ID": {reqs: EndpointSecretRequirements(introspection), data: map[string]string{"clientID": " ", "clientSecret": secretValue},
			want: []string{"SecretKeyInvalid spec.auth.oauth2.introspection.secretRef clientID"}},
		"hmac ref no secret":  {reqs: EndpointSecretRequirements(hmacEndpoint(fulfillmentv1alpha1.HMACSchemeGitHub, true)), data: map[string]string{"key": secretValue}, want: []string{"SecretKeyMissing spec.auth.hmac.secretRef secret"}},
		"hmac GitHub any key": {reqs: EndpointSecretRequirements(hmacEndpoint(fulfillmentv1alpha1.HMACSchemeGitHub, true)), data: map[string]string{"secret": secretValue}},
		"standard webhooks key": {reqs: EndpointSecretRequirements(hmacEndpoint(fulfillmentv1alpha1.HMACSchemeStandardWebhooks, false)),
			data: map[string]string{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		"standard webhooks hand-edited": {reqs: EndpointSecretRequirements(hmacEndpoint(fulfillmentv1alpha1.HMACSchemeStandardWebhooks, false)),
			data: map[string]string{"secret": "whsec_" + secretValue + "!"}, want: []string{"SecretKeyInvalid spec.auth.hmac (the key the operator generates) secret"}},
		"standard webhooks bad previous": {reqs: EndpointSecretRequirements(hmacEndpoint(fulfillmentv1alpha1.HMACSchemeStandardWebhooks, false)),
			data: map[string]string{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "previous": "not base64!"},
			want: []string{"SecretKeyInvalid spec.auth.hmac (the key the operator generates) previous"}},
		"standard webhooks cleared previous": {reqs: EndpointSecretRequirements(hmacEndpoint(fulfillmentv1alpha1.HMACSchemeStandardWebhooks, false)),
			data: map[string]string{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "previous": ""}},
		"redis url":         {reqs: EndpointSecretRequirements(redis), data: map[string]string{"url": "redis://:" + secretValue + "@redis:6379/0"}},
		"redis not a url":   {reqs: EndpointSecretRequirements(redis), data: map[string]string{"url": "http://" + secretValue}, want: []string{"SecretKeyInvalid spec.redis.urlSecretRef url"}},
		"redis missing key": {reqs: EndpointSecretRequirements(redis), data: map[string]string{"uri": "redis://redis"}, want: []string{"SecretKeyMissing spec.redis.urlSecretRef url"}},
		"header value":      {reqs: RouteSecretRequirements(route), data: map[string]string{"token": secretValue + "\n"}},
		"header line break": {reqs: RouteSecretRequirements(route), data: map[string]string{"token": "a\nb"}, want: []string{"SecretKeyInvalid spec.call.headers[0].valueFrom.secretKeyRef token"}},
		"header key missing": {reqs: RouteSecretRequirements(route), data: map[string]string{"tok": secretValue},
			want: []string{"SecretKeyMissing spec.call.headers[0].valueFrom.secretKeyRef token"}},
		"oauth2 and tls complete": {reqs: RouteSecretRequirements(outbound), data: outboundData(nil)},
		"oauth2 no client secret": {reqs: RouteSecretRequirements(outbound), data: outboundData(map[string]string{"clientSecret": ""}),
			want: []string{"SecretKeyMissing spec.call.auth.oauth2.secretRef clientSecret"}},
		"oauth2 blank client id": {reqs: RouteSecretRequirements(outbound), data: outboundData(map[string]string{"clientID": " "}),
			want: []string{"SecretKeyInvalid spec.call.auth.oauth2.secretRef clientID"}},
		"tls CA not PEM": {reqs: RouteSecretRequirements(outbound), data: outboundData(map[string]string{"ca.crt": secretValue}),
			want: []string{"SecretKeyInvalid spec.call.tls.caRef.secretKeyRef ca.crt"}},
		"tls no key": {reqs: RouteSecretRequirements(outbound), data: outboundData(map[string]string{"tls.key": ""}),
			want: []string{"SecretKeyMissing spec.call.tls.clientCertificateSecretRef tls.key"}},
		"tls key of another certificate": {reqs: RouteSecretRequirements(outbound), data: outboundData(map[string]string{"tls.key": string(otherCert.KeyPEM)}),
			want: []string{"SecretKeyInvalid spec.call.tls.clientCertificateSecretRef tls.crt"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := map[string][]byte{}
			for k, v := range tc.data {
				data[k] = []byte(v)
			}
			var got []string
			for _, p := range CheckSecretKeys(tc.reqs, data) {
				got = append(got, p.Reason+" "+p.Field+" "+p.Key)
				message := p.Message()
				if strings.Contains(message, secretValue) || !strings.Contains(message, "Secret "+p.Secret+" key "+p.Key) {
					t.Errorf("message %q must name the Secret and key and never hold the value", message)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFitConfiguration(t *testing.T) {
	endpoint := endpointFixture()
	text := func(n int) func(*fulfillmentv1alpha1.IntentRoute) {
		return func(r *fulfillmentv1alpha1.IntentRoute) {
			r.Spec.Respond = &fulfillmentv1alpha1.RespondAction{Text: strings.Repeat("x", n)}
		}
	}
	created := func(age time.Duration) func(*fulfillmentv1alpha1.IntentRoute) {
		return func(r *fulfillmentv1alpha1.IntentRoute) {
			r.CreationTimestamp = metav1.NewTime(acceptanceCreated.Add(-age))
		}
	}
	route := func(name string, modify ...func(*fulfillmentv1alpha1.IntentRoute)) fulfillmentv1alpha1.IntentRoute {
		return *routeFixture(name, modify...)
	}
	size := func(routes []fulfillmentv1alpha1.IntentRoute) int {
		data, _, err := RenderConfig(endpoint, routes, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(data)
	}
	const limit = 10_000
	tests := map[string]struct {
		routes   []fulfillmentv1alpha1.IntentRoute // in the server's order
		wantFit  []string
		wantLeft []string
	}{
		"everything fits": {
			routes:  []fulfillmentv1alpha1.IntentRoute{route("a", text(100)), route("b", text(100))},
			wantFit: []string{"a", "b"},
		},
		"one oversized route alone is left out": {
			routes:   []fulfillmentv1alpha1.IntentRoute{route("a", text(100)), route("huge", text(2*limit)), route("c", text(100))},
			wantFit:  []string{"a", "c"},
			wantLeft: []string{"huge"},
		},
		"the later routes that do not fit after the earlier ones": {
			routes: []fulfillmentv1alpha1.IntentRoute{route("p1", text(3000)), route("p2", text(3000)), route("p3", text(3000)),
				route("p4", text(3000)), route("small", text(10))},
			wantFit:  []string{"p1", "p2", "p3", "small"},
			wantLeft: []string{"p4"},
		},
		"order decides, not names": {
			routes:   []fulfillmentv1alpha1.IntentRoute{route("zz-first", text(6000), created(time.Hour)), route("aa-second", text(6000))},
			wantFit:  []string{"zz-first"},
			wantLeft: []string{"aa-second"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fit, tooLarge := FitConfiguration(endpoint, tc.routes, limit)
			var names []string
			for _, r := range fit {
				names = append(names, r.Name)
			}
			if !slices.Equal(names, tc.wantFit) {
				t.Errorf("fit = %v, want %v", names, tc.wantFit)
			}
			if got := size(fit); got > limit {
				t.Errorf("the kept routes render to %d bytes, over %d", got, limit)
			}
			left := slices.Sorted(func(yield func(string) bool) {
				for name := range tooLarge {
					if !yield(name) {
						return
					}
				}
			})
			if !slices.Equal(left, tc.wantLeft) {
				t.Errorf("left out = %v, want %v", left, tc.wantLeft)
			}
			for name, message := range tooLarge {
				if !strings.Contains(message, fmt.Sprintf("%d bytes", limit)) || !strings.Contains(message, "WebhookEndpoint bank") {
					t.Errorf("message of %s = %q: want the limit and the endpoint", name, message)
				}
			}
		})
	}

	// Exactly at the limit fits; one byte over does not.
	routes := []fulfillmentv1alpha1.IntentRoute{route("a", text(100))}
	exact := size(routes)
	if fit, _ := FitConfiguration(endpoint, routes, exact); len(fit) != 1 {
		t.Errorf("a configuration of exactly the limit must fit")
	}
	if fit, tooLarge := FitConfiguration(endpoint, routes, exact-1); len(fit) != 0 || tooLarge["a"] == "" {
		t.Errorf("a configuration one byte over the limit must leave the route out: fit %d, tooLarge %v", len(fit), tooLarge)
	}
}

func TestAcceptedRoutesLeavesOutWhatDoesNotFit(t *testing.T) {
	env := acceptanceEnv(t)
	endpoint := endpointFixture()
	huge := routeFixture("huge", withMatch(fulfillmentv1alpha1.RouteMatch{Intents: []string{"huge"}}), func(r *fulfillmentv1alpha1.IntentRoute) {
		r.Spec.Respond = &fulfillmentv1alpha1.RespondAction{Text: strings.Repeat("x", MaxConfigBytes+1)}
	})
	routes := []fulfillmentv1alpha1.IntentRoute{*routeFixture("small"), *huge}
	set := AcceptedRoutes(env, endpoint, routes, nil)
	if len(set.Accepted) != 1 || set.Accepted[0].Name != "small" {
		t.Fatalf("accepted = %v, want only small", set.Accepted)
	}
	if want := (fulfillmentv1alpha1.RouteCounts{Accepted: 1, Rejected: 1}); set.Counts != want {
		t.Errorf("counts = %+v, want %+v", set.Counts, want)
	}
	if !strings.Contains(set.TooLarge["huge"], "1048576 bytes (1.00 MiB)") {
		t.Errorf("message = %q, want the ConfigMap limit", set.TooLarge["huge"])
	}
}

func TestSecretsCheckReportsKeyProblems(t *testing.T) {
	endpoint := endpointFixture(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Auth.Basic = &fulfillmentv1alpha1.BasicAuth{SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: "creds"}}
	})
	invalid := CheckSecretKeys(EndpointSecretRequirements(endpoint), map[string][]byte{"username": []byte("u"), "password": []byte(" ")})
	c := secretsCheck(endpoint, nil, nil, invalid)
	if c.ok || !c.stalled || c.reason != fulfillmentv1alpha1.ReasonSecretKeyInvalid ||
		!strings.Contains(c.message, "spec.auth.basic.secretRef: Secret creds key password is empty") {
		t.Errorf("secretsCheck = %+v, want stalled SecretKeyInvalid naming field, Secret and key", c)
	}
	missing := CheckSecretKeys(EndpointSecretRequirements(endpoint), map[string][]byte{"password": []byte(" ")})
	if c := secretsCheck(endpoint, nil, nil, missing); c.reason != fulfillmentv1alpha1.ReasonSecretKeyMissing {
		t.Errorf("reason with a missing and an invalid key = %s, want SecretKeyMissing", c.reason)
	}
	// A missing Secret comes first: it is waited for, not stalled.
	if c := secretsCheck(endpoint, []string{"other"}, nil, invalid); c.stalled || c.reason != fulfillmentv1alpha1.ReasonSecretNotFound {
		t.Errorf("with a missing Secret = %+v, want SecretNotFound, not stalled", c)
	}
}

func TestCheckConfigMapKey(t *testing.T) {
	ca := tlstest.NewCA(t, "accounts CA")
	route := &fulfillmentv1alpha1.IntentRoute{Spec: fulfillmentv1alpha1.IntentRouteSpec{Forward: &fulfillmentv1alpha1.ForwardAction{
		URL: "https://accounts.bots.svc/webhook", TLS: &fulfillmentv1alpha1.OutboundTLS{CARef: &fulfillmentv1alpha1.CABundleRef{
			ConfigMapKeyRef: &fulfillmentv1alpha1.ConfigMapKeySelector{Name: "accounts-ca-bundle", Key: "ca.crt"}}}}}}
	reqs := RouteConfigMapRequirements(route)
	if len(reqs) != 1 || reqs[0].Field != "spec.forward.tls.caRef.configMapKeyRef" || reqs[0].ConfigMap != "accounts-ca-bundle" {
		t.Fatalf("requirements %+v", reqs)
	}
	if got := ReferencedConfigMaps([]fulfillmentv1alpha1.IntentRoute{*route, *route}); !slices.Equal(got, []string{"accounts-ca-bundle"}) {
		t.Errorf("ReferencedConfigMaps = %v", got)
	}
	cases := map[string]struct {
		exists     bool
		data       map[string]string
		binaryData map[string][]byte
		want       string // reason, "" when usable
	}{
		"the bundle in data":       {exists: true, data: map[string]string{"ca.crt": string(ca.PEM)}},
		"the bundle in binaryData": {exists: true, binaryData: map[string][]byte{"ca.crt": ca.PEM}},
		"no ConfigMap":             {want: fulfillmentv1alpha1.ReasonConfigMapNotFound},
		"no key":                   {exists: true, data: map[string]string{"tls.crt": string(ca.PEM)}, want: fulfillmentv1alpha1.ReasonConfigMapNotFound},
		"no PEM":                   {exists: true, data: map[string]string{"ca.crt": "not a certificate"}, want: fulfillmentv1alpha1.ReasonConfigMapKeyInvalid},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			problem, ok := CheckConfigMapKey(reqs[0], tc.exists, tc.data, tc.binaryData)
			if ok != (tc.want == "") || problem.Reason != tc.want {
				t.Fatalf("ok %t, problem %+v; want reason %q", ok, problem, tc.want)
			}
			if !ok && !strings.HasPrefix(problem.Message(), "spec.forward.tls.caRef.configMapKeyRef: ConfigMap accounts-ca-bundle ") {
				t.Errorf("message %q does not name the field and ConfigMap", problem.Message())
			}
		})
	}
}
