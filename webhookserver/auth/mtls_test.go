package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig/tlstest"
)

func TestMTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "client CA")
	intermediate := ca.IntermediateCA(t, "client intermediate")
	other := tlstest.NewCA(t, "unrelated CA")
	allowed := []string{"dialogflow-client", "bot.example.com", "spiffe://example.com/ns/bots/sa/cx"}

	require, err := NewMTLS(&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire, AllowedSubjects: allowed}, ca.PEM)
	if err != nil {
		t.Fatal(err)
	}
	optional, err := NewMTLS(&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthOptional}, ca.PEM)
	if err != nil {
		t.Fatal(err)
	}
	state := func(c *tlstest.Cert) *tls.ConnectionState {
		certs := []*x509.Certificate{c.Leaf}
		for _, der := range c.TLS.Certificate[1:] {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, cert)
		}
		return &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: certs}
	}
	client := func(issuer *tlstest.CA, opts tlstest.Options) *tls.ConnectionState {
		if !opts.Server {
			opts.Client = true
		}
		return state(issuer.Issue(t, opts))
	}

	cases := map[string]struct {
		checker *MTLS
		state   *tls.ConnectionState
		status  int
		reason  string
	}{
		"allowed common name":            {require, client(ca, tlstest.Options{CommonName: "dialogflow-client"}), 0, ""},
		"allowed DNS name, other case":   {require, client(ca, tlstest.Options{CommonName: "x", DNSNames: []string{"Bot.Example.com"}}), 0, ""},
		"allowed URI":                    {require, client(ca, tlstest.Options{URIs: []string{"spiffe://example.com/ns/bots/sa/cx"}}), 0, ""},
		"through an intermediate":        {require, client(intermediate, tlstest.Options{CommonName: "dialogflow-client"}), 0, ""},
		"optional, no certificate":       {optional, &tls.ConnectionState{HandshakeComplete: true}, 0, ""},
		"optional, plain HTTP":           {optional, nil, 0, ""},
		"optional, any subject":          {optional, client(ca, tlstest.Options{CommonName: "anyone"}), 0, ""},
		"require, no certificate":        {require, &tls.ConnectionState{HandshakeComplete: true}, 401, "missing_client_certificate"},
		"require, plain HTTP":            {require, nil, 401, "missing_client_certificate"},
		"unrelated CA":                   {require, client(other, tlstest.Options{CommonName: "dialogflow-client"}), 401, "untrusted_client_certificate"},
		"optional, unrelated CA":         {optional, client(other, tlstest.Options{CommonName: "anyone"}), 401, "untrusted_client_certificate"},
		"expired":                        {require, client(ca, tlstest.Options{CommonName: "dialogflow-client", NotAfter: time.Now().Add(-time.Minute)}), 401, "client_certificate_expired"},
		"server-only certificate":        {require, client(ca, tlstest.Options{CommonName: "dialogflow-client", Server: true}), 401, "invalid_client_certificate"},
		"subject not allowed":            {require, client(ca, tlstest.Options{CommonName: "intruder", DNSNames: []string{"evil.example.com"}}), 403, "subject_not_allowed"},
		"allowed name only as a URI":     {require, client(ca, tlstest.Options{CommonName: "x", URIs: []string{"https://bot.example.com"}}), 403, "subject_not_allowed"},
		"allowed name as a prefix of CN": {require, client(ca, tlstest.Options{CommonName: "dialogflow-client.evil"}), 403, "subject_not_allowed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, failure := range []*Failure{
				tc.checker.CheckTLS(tc.state),
				CheckContext(WithConnectionState(context.Background(), tc.state), All{tc.checker}, &Request{Header: http.Header{}}),
			} {
				switch {
				case tc.reason == "" && failure != nil:
					t.Errorf("refused: %d %v", failure.Status, failure)
				case tc.reason != "" && failure == nil:
					t.Errorf("accepted, want %d %s", tc.status, tc.reason)
				case tc.reason != "" && (failure.Status != tc.status || failure.Reason != tc.reason || failure.Method != "mtls"):
					t.Errorf("got %d %s %s, want %d %s", failure.Status, failure.Method, failure.Reason, tc.status, tc.reason)
				}
			}
		})
	}

	t.Run("without the connection state it refuses, also in Optional mode", func(t *testing.T) {
		for _, failure := range []*Failure{
			optional.Check(&Request{Header: http.Header{}}),
			CheckContext(context.Background(), optional, &Request{Header: http.Header{}}),
		} {
			if failure == nil || failure.Status != http.StatusInternalServerError || failure.Reason != "tls_state_unavailable" {
				t.Errorf("got %v, want 500 tls_state_unavailable", failure)
			}
		}
	})

	t.Run("roots from a reloader: a nil pool trusts nothing, never the system roots", func(t *testing.T) {
		var pool *x509.CertPool
		m, err := NewMTLS(&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire}, nil,
			WithMTLSRoots(func() *x509.CertPool { return pool }))
		if err != nil {
			t.Fatal(err)
		}
		s := client(ca, tlstest.Options{CommonName: "a"})
		if f := m.CheckTLS(s); f == nil || f.Reason != "untrusted_client_certificate" {
			t.Errorf("nil pool: %v", f)
		}
		pool = ca.Pool()
		if f := m.CheckTLS(s); f != nil {
			t.Errorf("after the pool changed: %v", f)
		}
	})
}

func TestNewMTLSRefusesBadSpecs(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	key := ca.Issue(t, tlstest.Options{CommonName: "x"}).KeyPEM
	cases := map[string]struct {
		spec   *fulfillmentv1alpha1.ClientAuth
		bundle []byte
	}{
		"nil spec":        {nil, ca.PEM},
		"mode None":       {&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthNone}, ca.PEM},
		"unknown mode":    {&fulfillmentv1alpha1.ClientAuth{Mode: "Sometimes"}, ca.PEM},
		"empty bundle":    {&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire}, nil},
		"key in bundle":   {&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire}, append(append([]byte(nil), ca.PEM...), key...)},
		"truncated":       {&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire}, ca.PEM[:len(ca.PEM)-40]},
		"bundle not PEM":  {&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire}, []byte("hello")},
		"trailing junk":   {&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthRequire}, append(append([]byte(nil), ca.PEM...), "-----BEGIN CERT"...)},
		"optional, empty": {&fulfillmentv1alpha1.ClientAuth{Mode: fulfillmentv1alpha1.ClientAuthOptional}, []byte("\n")},
	}
	for name, tc := range cases {
		if _, err := NewMTLS(tc.spec, tc.bundle); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
