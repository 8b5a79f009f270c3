package controllers

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
	"golang.org/x/net/http/httpguts"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig"
)

// SecretKeyFormat is what the server needs a Secret key to hold, as it loads it (webhookserver/endpoint and
// webhookserver/action).
type SecretKeyFormat string

const (
	// FormatCredential: a basic, bearer or introspection client credential, not empty once trimmed
	// (endpoint.credential).
	FormatCredential SecretKeyFormat = "Credential"
	// FormatHMACKey: a key of the endpoint's HMAC scheme, as hmackey.Check reads it (StandardWebhooks: whsec_ and
	// base64; the other schemes: any non-empty value).
	FormatHMACKey SecretKeyFormat = "HMACKey"
	// FormatCABundle: PEM certificates for client authentication (auth.NewMTLS).
	FormatCABundle SecretKeyFormat = "CABundle"
	// FormatRedisURL: a redis:// or rediss:// URL (redis.ParseURL, as the idempotency store and queue parse it).
	FormatRedisURL SecretKeyFormat = "RedisURL"
	// FormatHeaderValue: a call header value without control characters inside (routespec.CompileCall).
	FormatHeaderValue SecretKeyFormat = "HeaderValue"
	// FormatOAuth2ClientID and FormatOAuth2ClientSecret: an OAuth2 client's ID and secret, not empty once
	// trimmed (routespec.CompileOutbound).
	FormatOAuth2ClientID     SecretKeyFormat = "OAuth2ClientID"
	FormatOAuth2ClientSecret SecretKeyFormat = "OAuth2ClientSecret"
	// FormatUpstreamCABundle: PEM certificates of the CAs that sign an upstream's certificate.
	FormatUpstreamCABundle SecretKeyFormat = "UpstreamCABundle"
	// FormatTLSKeyPair: a kubernetes.io/tls Secret's tls.crt, a PEM certificate whose private key is in tls.key
	// of the same Secret (tls.X509KeyPair, as routespec.CompileOutbound loads it).
	FormatTLSKeyPair SecretKeyFormat = "TLSKeyPair"
	// FormatOTLPEndpoint: the base URL of an OTLP/HTTP receiver, http:// or https:// (tracing.endpointSecretRef).
	FormatOTLPEndpoint SecretKeyFormat = "OTLPEndpoint"
	// FormatOTLPHeaders: comma-separated key=value pairs, as OTEL_EXPORTER_OTLP_HEADERS reads them.
	FormatOTLPHeaders SecretKeyFormat = "OTLPHeaders"
)

// SecretKeyRequirement is one key the server reads from a referenced Secret, the field that references it and
// the format it needs.
type SecretKeyRequirement struct {
	Secret, Key string
	// Field references the Secret, e.g. spec.auth.basic.secretRef.
	Field  string
	Format SecretKeyFormat
	// Optional keys may be absent (the previous HMAC key); when present they must have the format.
	Optional bool
	// Generated marks the Secret the operator generates (<endpoint>-hmac).
	Generated bool
	// HMAC is the endpoint's spec.auth.hmac, for FormatHMACKey; ClientAuth its spec.tls.clientAuth, for
	// FormatCABundle.
	HMAC       *fulfillmentv1alpha1.HMACAuth
	ClientAuth *fulfillmentv1alpha1.ClientAuth
}

// SecretKeyProblem is a requirement a Secret does not meet. Problem never holds a value.
type SecretKeyProblem struct {
	SecretKeyRequirement
	// Reason is fulfillmentv1alpha1.ReasonSecretKeyMissing or fulfillmentv1alpha1.ReasonSecretKeyInvalid.
	Reason  string
	Problem string
}

// Message says which field, Secret and key, what is wrong and what to do; never the value.
func (p SecretKeyProblem) Message() string {
	return fmt.Sprintf("%s: Secret %s key %s %s", p.Field, p.Secret, p.Key, p.Problem)
}

// EndpointSecretRequirements are the Secret keys the server reads for an endpoint, as it compiles it: basic
// (username, password), bearer (its key), token introspection (clientID, clientSecret), HMAC (secret, and previous when present; the referenced or the
// generated Secret), the client CA when clientAuth is on, and the Redis URL when Redis is used (the same
// Secrets as ReferencedSecrets, without the routes).
func EndpointSecretRequirements(endpoint *fulfillmentv1alpha1.WebhookEndpoint) []SecretKeyRequirement {
	var reqs []SecretKeyRequirement
	spec := &endpoint.Spec
	if b := spec.Auth.Basic; b != nil {
		for _, key := range []string{"username", "password"} {
			reqs = append(reqs, SecretKeyRequirement{Secret: b.SecretRef.Name, Key: key, Field: "spec.auth.basic.secretRef",
				Format: FormatCredential})
		}
	}
	if b := spec.Auth.Bearer; b != nil {
		reqs = append(reqs, SecretKeyRequirement{Secret: b.SecretRef.Name, Key: b.SecretRef.Key, Field: "spec.auth.bearer.secretRef",
			Format: FormatCredential})
	}
	if o := spec.Auth.OAuth2; o != nil {
		for _, key := range []string{"clientID", "clientSecret"} {
			reqs = append(reqs, SecretKeyRequirement{Secret: o.Introspection.SecretRef.Name, Key: key,
				Field: "spec.auth.oauth2.introspection.secretRef", Format: FormatCredential})
		}
	}
	if h := spec.Auth.HMAC; h != nil {
		field, generated := "spec.auth.hmac.secretRef", h.SecretRef == nil
		if generated {
			field = "spec.auth.hmac (the key the operator generates)"
		}
		name := HMACSecretName(endpoint)
		reqs = append(reqs,
			SecretKeyRequirement{Secret: name, Key: hmackey.SecretKey, Field: field, Format: FormatHMACKey, HMAC: h, Generated: generated},
			SecretKeyRequirement{Secret: name, Key: hmackey.PreviousSecretKey, Field: field, Format: FormatHMACKey, HMAC: h,
				Generated: generated, Optional: true})
	}
	if t := spec.TLS; t != nil && t.ClientAuth != nil && t.ClientAuth.CASecretRef != nil &&
		t.ClientAuth.Mode != "" && t.ClientAuth.Mode != fulfillmentv1alpha1.ClientAuthNone {
		reqs = append(reqs, SecretKeyRequirement{Secret: t.ClientAuth.CASecretRef.Name, Key: t.ClientAuth.CASecretRef.Key,
			Field: "spec.tls.clientAuth.caSecretRef", Format: FormatCABundle, ClientAuth: t.ClientAuth})
	}
	if r := spec.Redis; r != nil && r.URLSecretRef != nil && usesRedis(spec) {
		reqs = append(reqs, SecretKeyRequirement{Secret: r.URLSecretRef.Name, Key: r.URLSecretRef.Key, Field: "spec.redis.urlSecretRef",
			Format: FormatRedisURL})
	}
	return reqs
}

// RouteSecretRequirements are the Secret keys a route reads: its call headers', and the OAuth2 client
// credentials, CA bundle and client certificate of its call or forward.
func RouteSecretRequirements(route *fulfillmentv1alpha1.IntentRoute) []SecretKeyRequirement {
	var reqs []SecretKeyRequirement
	if call := route.Spec.Call; call != nil {
		for i, header := range call.Headers {
			if header.ValueFrom != nil {
				ref := header.ValueFrom.SecretKeyRef
				reqs = append(reqs, SecretKeyRequirement{Secret: ref.Name, Key: ref.Key,
					Field: fmt.Sprintf("spec.call.headers[%d].valueFrom.secretKeyRef", i), Format: FormatHeaderValue})
			}
		}
		reqs = append(reqs, outboundSecretRequirements(call.Auth, call.TLS, "spec.call")...)
	}
	if forward := route.Spec.Forward; forward != nil {
		reqs = append(reqs, outboundSecretRequirements(forward.Auth, forward.TLS, "spec.forward")...)
	}
	return reqs
}

// outboundSecretRequirements are the Secret keys of a call's or forward's auth and tls at field.
func outboundSecretRequirements(auth *fulfillmentv1alpha1.OutboundAuth, settings *fulfillmentv1alpha1.OutboundTLS, field string) []SecretKeyRequirement {
	var reqs []SecretKeyRequirement
	if auth != nil && auth.OAuth2 != nil {
		ref := auth.OAuth2.SecretRef
		idKey, secretKey := routespec.OAuth2Keys(ref)
		reqs = append(reqs,
			SecretKeyRequirement{Secret: ref.Name, Key: idKey, Field: field + ".auth.oauth2.secretRef", Format: FormatOAuth2ClientID},
			SecretKeyRequirement{Secret: ref.Name, Key: secretKey, Field: field + ".auth.oauth2.secretRef", Format: FormatOAuth2ClientSecret})
	}
	if settings == nil {
		return reqs
	}
	if ca := settings.CARef; ca != nil && ca.SecretKeyRef != nil {
		reqs = append(reqs, SecretKeyRequirement{Secret: ca.SecretKeyRef.Name, Key: ca.SecretKeyRef.Key, Field: field + ".tls.caRef.secretKeyRef",
			Format: FormatUpstreamCABundle})
	}
	if ref := settings.ClientCertificateSecretRef; ref != nil {
		at := field + ".tls.clientCertificateSecretRef"
		reqs = append(reqs,
			SecretKeyRequirement{Secret: ref.Name, Key: routespec.TLSCertificateKey, Field: at, Format: FormatTLSKeyPair},
			SecretKeyRequirement{Secret: ref.Name, Key: routespec.TLSPrivateKeyKey, Field: at, Format: FormatTLSKeyPair})
	}
	return reqs
}

// ConfigMapKeyRequirement is one key the server reads from a ConfigMap a route references: a CA bundle, the
// only ConfigMap a route reads.
type ConfigMapKeyRequirement struct {
	ConfigMap, Key string
	// Field references the ConfigMap, e.g. spec.call.tls.caRef.configMapKeyRef.
	Field string
}

// ConfigMapKeyProblem is a requirement a ConfigMap does not meet.
type ConfigMapKeyProblem struct {
	ConfigMapKeyRequirement
	// Reason is fulfillmentv1alpha1.ReasonConfigMapNotFound or ReasonConfigMapKeyInvalid.
	Reason, Problem string
}

// Message says which field, ConfigMap and key, and what is wrong.
func (p ConfigMapKeyProblem) Message() string {
	return fmt.Sprintf("%s: ConfigMap %s %s", p.Field, p.ConfigMap, p.Problem)
}

// RouteConfigMapRequirements are the ConfigMap keys a route reads: the CA bundle of its call or forward.
func RouteConfigMapRequirements(route *fulfillmentv1alpha1.IntentRoute) []ConfigMapKeyRequirement {
	var reqs []ConfigMapKeyRequirement
	add := func(settings *fulfillmentv1alpha1.OutboundTLS, field string) {
		if settings != nil && settings.CARef != nil && settings.CARef.ConfigMapKeyRef != nil {
			ref := settings.CARef.ConfigMapKeyRef
			reqs = append(reqs, ConfigMapKeyRequirement{ConfigMap: ref.Name, Key: ref.Key, Field: field + ".tls.caRef.configMapKeyRef"})
		}
	}
	if call := route.Spec.Call; call != nil {
		add(call.TLS, "spec.call")
	}
	if forward := route.Spec.Forward; forward != nil {
		add(forward.TLS, "spec.forward")
	}
	return reqs
}

// CheckConfigMapKey checks what the server would read for req from a ConfigMap's data and binaryData (nil data
// when the ConfigMap does not exist); ok when it can load it.
func CheckConfigMapKey(req ConfigMapKeyRequirement, exists bool, data map[string]string, binaryData map[string][]byte) (ConfigMapKeyProblem, bool) {
	problem := ConfigMapKeyProblem{ConfigMapKeyRequirement: req, Reason: fulfillmentv1alpha1.ReasonConfigMapNotFound}
	if !exists {
		problem.Problem = "not found: create it or fix the reference"
		return problem, false
	}
	value, ok := binaryData[req.Key]
	if text, inData := data[req.Key]; inData {
		value, ok = []byte(text), true
	}
	if !ok {
		problem.Problem = fmt.Sprintf("has no key %s: add it (%s)", req.Key, formatHint(SecretKeyRequirement{Format: FormatUpstreamCABundle}))
		return problem, false
	}
	if _, err := tlsconfig.ParseCertificatePool(value); err != nil {
		problem.Reason = fulfillmentv1alpha1.ReasonConfigMapKeyInvalid
		problem.Problem = fmt.Sprintf("key %s holds no valid PEM certificate: put %s there", req.Key,
			formatHint(SecretKeyRequirement{Format: FormatUpstreamCABundle}))
		return problem, false
	}
	return ConfigMapKeyProblem{}, true
}

// requirementsOf are the requirements on one Secret.
func requirementsOf(reqs []SecretKeyRequirement, secret string) []SecretKeyRequirement {
	var of []SecretKeyRequirement
	for _, r := range reqs {
		if r.Secret == secret {
			of = append(of, r)
		}
	}
	return of
}

// CheckSecretKeys checks the data of one Secret against the requirements on it, as the server would load it.
// The problems come in the order of the requirements; none holds a value.
func CheckSecretKeys(reqs []SecretKeyRequirement, data map[string][]byte) []SecretKeyProblem {
	var problems []SecretKeyProblem
	for _, req := range reqs {
		value, ok := data[req.Key]
		if !ok {
			if !req.Optional {
				problems = append(problems, SecretKeyProblem{SecretKeyRequirement: req, Reason: fulfillmentv1alpha1.ReasonSecretKeyMissing,
					Problem: "does not exist: add it (" + formatHint(req) + ")"})
			}
			continue
		}
		if req.Format == FormatTLSKeyPair {
			// The pair is checked once, at the certificate; a missing half is reported at its own key above.
			if _, hasKey := data[routespec.TLSPrivateKeyKey]; req.Key == routespec.TLSCertificateKey && hasKey {
				if _, err := tls.X509KeyPair(value, data[routespec.TLSPrivateKeyKey]); err != nil {
					problems = append(problems, SecretKeyProblem{SecretKeyRequirement: req, Reason: fulfillmentv1alpha1.ReasonSecretKeyInvalid,
						Problem: "and tls.key are not a matching PEM certificate and private key: put " + formatHint(req) + " there"})
				}
			}
			continue
		}
		if problem := checkSecretValue(req, value); problem != "" {
			problems = append(problems, SecretKeyProblem{SecretKeyRequirement: req, Reason: fulfillmentv1alpha1.ReasonSecretKeyInvalid, Problem: problem})
		}
	}
	return problems
}

// checkSecretValue says what is wrong with value for req, "" when nothing. Library errors are never quoted:
// some would echo the value.
func checkSecretValue(req SecretKeyRequirement, value []byte) string {
	trimmed := bytes.TrimSpace(value)
	switch req.Format {
	case FormatCredential:
		if len(trimmed) == 0 {
			return "is empty: put " + formatHint(req) + " there (an empty credential admits anybody who sends an empty one)"
		}
	case FormatOAuth2ClientID, FormatOAuth2ClientSecret:
		if len(trimmed) == 0 {
			return "is empty: put " + formatHint(req) + " there"
		}
	case FormatUpstreamCABundle:
		if _, err := tlsconfig.ParseCertificatePool(value); err != nil {
			return "holds no valid PEM certificate: put " + formatHint(req) + " there"
		}
	case FormatHMACKey:
		if len(trimmed) == 0 {
			if req.Optional {
				return "" // a cleared previous key
			}
			return "is empty: put " + formatHint(req) + " there"
		}
		if req.HMAC != nil {
			if err := hmackey.Check(req.HMAC, [][]byte{value}); err != nil {
				problem := fmt.Sprintf("is not a valid %s key: %s", req.HMAC.Scheme, formatHint(req))
				if req.Generated {
					problem += fmt.Sprintf("; it was changed since the operator generated it: delete Secret %s and the operator "+
						"generates a new key (give it to the senders)", req.Secret)
				}
				return problem
			}
		}
	case FormatCABundle:
		if _, err := tlsconfig.ParseCertificatePool(value); err != nil {
			return "holds no valid PEM certificate: put " + formatHint(req) + " there"
		}
	case FormatRedisURL:
		if _, err := redis.ParseURL(string(trimmed)); err != nil {
			return "is not a Redis URL: put " + formatHint(req) + " there"
		}
	case FormatHeaderValue:
		if !httpguts.ValidHeaderFieldValue(string(trimmed)) {
			return "is not a valid header value (it holds a line break or another control character inside)"
		}
	case FormatOTLPEndpoint:
		if u, err := url.Parse(string(trimmed)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "is not an http or https URL: put " + formatHint(req) + " there"
		}
	case FormatOTLPHeaders:
		if !validOTLPHeaders(string(trimmed)) {
			return "is not a list of headers: put " + formatHint(req) + " there"
		}
	}
	return ""
}

// validOTLPHeaders reports whether value reads as OTEL_EXPORTER_OTLP_HEADERS: key=value pairs separated by
// commas, each key a header name and each value a header value once URL-decoded.
func validOTLPHeaders(value string) bool {
	if value == "" {
		return false
	}
	for _, pair := range strings.Split(value, ",") {
		key, val, ok := strings.Cut(pair, "=")
		key = strings.TrimSpace(key)
		decoded, err := url.PathUnescape(strings.TrimSpace(val))
		if !ok || !httpguts.ValidHeaderFieldName(key) || err != nil || !httpguts.ValidHeaderFieldValue(decoded) {
			return false
		}
	}
	return true
}

// formatHint says what a key must hold.
func formatHint(req SecretKeyRequirement) string {
	switch req.Format {
	case FormatCredential:
		if strings.HasPrefix(req.Field, "spec.auth.oauth2.") {
			return "the " + map[string]string{"clientID": "client ID", "clientSecret": "client secret"}[req.Key] +
				" this server introspects tokens with"
		}
		switch req.Key {
		case "username":
			return "the username callers send"
		case "password":
			return "the password callers send"
		}
		return "the token callers send"
	case FormatHMACKey:
		if req.HMAC != nil && req.HMAC.Scheme == fulfillmentv1alpha1.HMACSchemeStandardWebhooks {
			return "the signing key, whsec_ followed by base64"
		}
		return "the signing key"
	case FormatCABundle:
		return "the PEM CA certificates that sign client certificates"
	case FormatRedisURL:
		return "a URL such as redis://host:6379/0 or rediss://user:password@host:6380"
	case FormatHeaderValue:
		return "the header value"
	case FormatOAuth2ClientID:
		return "the OAuth2 client ID"
	case FormatOAuth2ClientSecret:
		return "the OAuth2 client secret"
	case FormatUpstreamCABundle:
		return "the PEM CA certificates that sign the upstream's certificate"
	case FormatTLSKeyPair:
		return "the client certificate (tls.crt) and its private key (tls.key), as kubectl create secret tls writes them"
	case FormatOTLPEndpoint:
		return "the OTLP/HTTP receiver's base URL, such as https://otlp.example.com:4318"
	case FormatOTLPHeaders:
		return "comma-separated key=value pairs, such as api-key=abc123"
	}
	return "the value"
}

// secretKeyProblemsMessage lists problems on one line, at most maxRouteProblems of them.
func secretKeyProblemsMessage(problems []SecretKeyProblem) string {
	messages := make([]string, 0, len(problems))
	for _, p := range problems {
		messages = append(messages, p.Message())
	}
	return problemList(slices.Compact(messages))
}

// secretKeyProblemsReason is SecretKeyMissing when a key is missing, else SecretKeyInvalid.
func secretKeyProblemsReason(problems []SecretKeyProblem) string {
	for _, p := range problems {
		if p.Reason == fulfillmentv1alpha1.ReasonSecretKeyMissing {
			return fulfillmentv1alpha1.ReasonSecretKeyMissing
		}
	}
	return fulfillmentv1alpha1.ReasonSecretKeyInvalid
}

// requirementsSignature identifies a set of requirements on one Secret, for the verdict cache.
func requirementsSignature(reqs []SecretKeyRequirement) string {
	parts := make([]string, 0, len(reqs))
	for _, r := range reqs {
		part := fmt.Sprintf("%s|%s|%s|%t|%t", r.Key, r.Field, r.Format, r.Optional, r.Generated)
		if r.HMAC != nil {
			part += "|" + string(r.HMAC.Scheme)
			if g := r.HMAC.Generic; g != nil {
				part += fmt.Sprintf("|%s|%s", g.Algorithm, g.Encoding)
			}
		}
		if r.ClientAuth != nil {
			part += "|" + string(r.ClientAuth.Mode)
		}
		parts = append(parts, part)
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}
