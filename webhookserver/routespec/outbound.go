package routespec

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig"
)

// Defaults of OAuth2SecretRef's keys, as the schema sets them.
const (
	DefaultClientIDKey     = "clientID"
	DefaultClientSecretKey = "clientSecret"
)

// Keys of a kubernetes.io/tls Secret.
const (
	TLSCertificateKey = "tls.crt"
	TLSPrivateKeyKey  = "tls.key"
)

// Outbound is the compiled auth and tls of a call or forward: the credentials and certificates read from their
// Secrets. Its fields are nil when the spec has no such setting.
type Outbound struct {
	OAuth2 *OAuth2
	TLS    *TLS
}

// OAuth2 is a compiled oauth2 setting: the spec and the client's credentials.
type OAuth2 struct {
	Spec *fulfillmentv1alpha1.OAuth2ClientCredentials
	// ClientID and ClientSecret are read from the Secret, trimmed: never logged or echoed. Empty when Secrets
	// were not read.
	ClientID, ClientSecret string
}

// TLS is a compiled tls setting.
type TLS struct {
	ServerName string
	// RootCAs are the system's roots and the caRef bundle; nil without caRef or when Secrets were not read.
	RootCAs *x509.CertPool
	// ClientCertificate is the certificate and key of clientCertificateSecretRef; nil without one or when
	// Secrets were not read.
	ClientCertificate *tls.Certificate
}

// CompileOutbound compiles the auth and tls of a call or forward at field (spec.call, spec.forward). secret
// reads their Secret keys, configMap the ConfigMap key of a CA bundle; with a nil secret, neither is read.
func CompileOutbound(auth *fulfillmentv1alpha1.OutboundAuth, settings *fulfillmentv1alpha1.OutboundTLS, field string,
	secret, configMap func(name, key string) ([]byte, error)) (Outbound, error) {
	var out Outbound
	var errs []error
	if auth != nil && auth.OAuth2 != nil {
		compiled, err := compileOAuth2(auth.OAuth2, field+".auth.oauth2", secret)
		if err != nil {
			errs = append(errs, err)
		}
		out.OAuth2 = compiled
	}
	if settings != nil {
		compiled, err := compileTLS(settings, field+".tls", secret, configMap)
		if err != nil {
			errs = append(errs, err)
		}
		out.TLS = compiled
	}
	return out, errors.Join(errs...)
}

// OAuth2Keys are the Secret keys of the client ID and secret, with the defaults for unset ones.
func OAuth2Keys(ref fulfillmentv1alpha1.OAuth2SecretRef) (clientID, clientSecret string) {
	clientID, clientSecret = ref.ClientIDKey, ref.ClientSecretKey
	if clientID == "" {
		clientID = DefaultClientIDKey
	}
	if clientSecret == "" {
		clientSecret = DefaultClientSecretKey
	}
	return clientID, clientSecret
}

func compileOAuth2(spec *fulfillmentv1alpha1.OAuth2ClientCredentials, field string, secret func(name, key string) ([]byte, error)) (*OAuth2, error) {
	compiled := &OAuth2{Spec: spec}
	if spec.TokenURL == "" {
		return compiled, &FieldError{Field: field + ".tokenURL", Err: errors.New("required: the token endpoint's URL")}
	}
	switch spec.AuthStyle {
	case "", fulfillmentv1alpha1.OAuth2AuthStyleHeader, fulfillmentv1alpha1.OAuth2AuthStyleBody:
	default:
		return compiled, &FieldError{Field: field + ".authStyle", Err: fmt.Errorf("unknown style %q: use Header or Body", spec.AuthStyle)}
	}
	if secret == nil {
		return compiled, nil
	}
	at := field + ".secretRef"
	idKey, secretKey := OAuth2Keys(spec.SecretRef)
	var errs []error
	for _, k := range []struct {
		key  string
		into *string
		what string
	}{{idKey, &compiled.ClientID, "the OAuth2 client ID"}, {secretKey, &compiled.ClientSecret, "the OAuth2 client secret"}} {
		value, err := secret(spec.SecretRef.Name, k.key)
		if err != nil {
			errs = append(errs, &FieldError{Field: at, Err: err})
			continue
		}
		*k.into = strings.TrimSpace(string(value))
		if *k.into == "" {
			errs = append(errs, &FieldError{Field: at, Err: fmt.Errorf("secret %s key %q is empty: put %s there", spec.SecretRef.Name, k.key, k.what)})
		}
	}
	return compiled, errors.Join(errs...)
}

func compileTLS(spec *fulfillmentv1alpha1.OutboundTLS, field string, secret, configMap func(name, key string) ([]byte, error)) (*TLS, error) {
	compiled := &TLS{ServerName: spec.ServerName}
	if secret == nil {
		return compiled, nil
	}
	var errs []error
	if ref := spec.CARef; ref != nil && ref.SecretKeyRef != nil {
		compiled.RootCAs = trustBundle(&errs, field+".caRef.secretKeyRef", "secret", ref.SecretKeyRef.Name, ref.SecretKeyRef.Key, secret)
	}
	if ref := spec.CARef; ref != nil && ref.ConfigMapKeyRef != nil {
		compiled.RootCAs = trustBundle(&errs, field+".caRef.configMapKeyRef", "configmap", ref.ConfigMapKeyRef.Name, ref.ConfigMapKeyRef.Key, configMap)
	}
	if ref := spec.ClientCertificateSecretRef; ref != nil {
		at := field + ".clientCertificateSecretRef"
		certPEM, err1 := secret(ref.Name, TLSCertificateKey)
		keyPEM, err2 := secret(ref.Name, TLSPrivateKeyKey)
		switch {
		case err1 != nil || err2 != nil:
			for _, err := range []error{err1, err2} {
				if err != nil {
					errs = append(errs, &FieldError{Field: at, Err: err})
				}
			}
		default:
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				// The library's error is not quoted: it may describe the key.
				errs = append(errs, &FieldError{Field: at, Err: fmt.Errorf("secret %s does not hold a matching PEM certificate (tls.crt) "+
					"and private key (tls.key): write a kubernetes.io/tls Secret, e.g. kubectl create secret tls", ref.Name)})
			} else {
				compiled.ClientCertificate = &pair
			}
		}
	}
	return compiled, errors.Join(errs...)
}

// trustBundle reads the CA bundle at key of the kind's object name with read (nil: nothing of that kind is
// there) and returns the roots it makes trusted; a problem is added to errs at the field at.
func trustBundle(errs *[]error, at, kind, name, key string, read func(name, key string) ([]byte, error)) *x509.CertPool {
	if read == nil {
		*errs = append(*errs, &FieldError{Field: at, Err: fmt.Errorf("%s %s not found", kind, name)})
		return nil
	}
	bundle, err := read(name, key)
	if err != nil {
		*errs = append(*errs, &FieldError{Field: at, Err: err})
		return nil
	}
	roots, err := TrustedRoots(bundle)
	if err != nil {
		*errs = append(*errs, &FieldError{Field: at, Err: fmt.Errorf("%s %s key %q %w", kind, name, key, err)})
	}
	return roots
}

// TrustedRoots are the system's roots and the CAs of bundle: a private CA is trusted in addition, so that the
// same setting serves an upstream it signs and a public token endpoint.
func TrustedRoots(bundle []byte) (*x509.CertPool, error) {
	extra, err := tlsconfig.ParseCertificatePool(bundle)
	if err != nil {
		return nil, errors.New("holds no valid PEM certificate: put the PEM bundle of the CAs that sign the upstream's certificate there")
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		return extra, nil //nolint:nilerr // without system roots the bundle alone is trusted
	}
	if !pool.AppendCertsFromPEM(bundle) {
		return extra, nil
	}
	return pool, nil
}

// OutboundWarnings are what a route's auth sends in clear: an OAuth2 client secret to an http:// token URL, or
// an access token to an http:// call or forward URL. It is served (a mesh may encrypt the hop), so these are
// warnings: the server logs them when it loads, the operator writes them in the route's Accepted message.
func OutboundWarnings(spec *fulfillmentv1alpha1.IntentRouteSpec) []string {
	var warnings []string
	check := func(auth *fulfillmentv1alpha1.OutboundAuth, plain bool, field, target string) {
		if auth == nil || auth.OAuth2 == nil {
			return
		}
		if strings.HasPrefix(auth.OAuth2.TokenURL, "http://") {
			warnings = append(warnings, field+".auth.oauth2.tokenURL is http://: the client secret travels unencrypted to the token endpoint; use https://")
		}
		if plain {
			warnings = append(warnings, target+" is plain HTTP with auth.oauth2: the access token travels unencrypted to the upstream; use an https:// url")
		}
	}
	if c := spec.Call; c != nil {
		check(c.Auth, strings.HasPrefix(c.URL, "http://"), "spec.call", "spec.call.url")
	}
	if f := spec.Forward; f != nil {
		// A Service is reached over plain HTTP.
		check(f.Auth, f.Service != nil || strings.HasPrefix(f.URL, "http://"), "spec.forward", "spec.forward.url or service")
	}
	return warnings
}
