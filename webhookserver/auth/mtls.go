package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig"
)

const mtlsMethod = "mtls"

// Reasons of an mTLS Failure.
const (
	// mtlsReasonMissing: Require, and the client sent no certificate.
	mtlsReasonMissing = "missing_client_certificate"
	// mtlsReasonUntrusted: the certificate does not chain to a CA of the endpoint's bundle.
	mtlsReasonUntrusted = "untrusted_client_certificate"
	// mtlsReasonExpired: the certificate (or one in its chain) is expired or not yet valid.
	mtlsReasonExpired = "client_certificate_expired"
	// mtlsReasonInvalid: any other verification failure, e.g. a certificate not meant for client authentication.
	mtlsReasonInvalid = "invalid_client_certificate"
	// mtlsReasonSubjectNotAllowed: a valid certificate whose subject is not listed.
	mtlsReasonSubjectNotAllowed = "subject_not_allowed"
	// mtlsReasonNoConnectionState: the server did not pass the TLS state (WithConnectionState): a wiring bug,
	// answered 500 so that it is found, and never let through.
	mtlsReasonNoConnectionState = "tls_state_unavailable"
)

// MTLS checks the client certificate of the connection (spec.tls.clientAuth).
//
// The chain is verified here, against the endpoint's CA bundle, and not (only) in the handshake: the listener
// asks for a certificate with tls.RequestClientCert (see tlsconfig). Reasons:
//   - several endpoints may share one listener, each with its own CA bundle and mode, and the endpoint is only
//     known from the path, after the handshake;
//   - a caller with a wrong certificate gets a 401 with a reason (untrusted_client_certificate, ...) in the log
//     and metrics of the endpoint, instead of a handshake alert that Dialogflow reports as an opaque TLS error;
//   - CA bundle changes take effect with the configuration, without touching the listener.
//
// The handshake still proves that the client holds the certificate's private key (CertificateVerify), whatever
// the ClientAuth type. Revocation (CRL, OCSP) is not checked.
type MTLS struct {
	require  bool
	roots    func() *x509.CertPool
	subjects map[string]bool // common names and URI SANs, exact
	dnsNames map[string]bool // DNS SANs, lower case
	now      func() time.Time
}

// MTLSOption configures NewMTLS.
type MTLSOption func(*MTLS)

// WithMTLSRoots makes the check use the CA pool roots returns at each request instead of the bundle given to
// NewMTLS, e.g. (*tlsconfig.Reloader).ClientCAs to follow a reloaded file. A nil pool trusts nothing.
func WithMTLSRoots(roots func() *x509.CertPool) MTLSOption { return func(m *MTLS) { m.roots = roots } }

// WithMTLSClock sets the clock that certificate validity is checked with.
func WithMTLSClock(now func() time.Time) MTLSOption { return func(m *MTLS) { m.now = now } }

// NewMTLS returns the client certificate check for spec (mode Optional or Require). caBundle is the PEM bundle
// of the CAs that sign client certificates (the key of spec.caSecretRef); it may be empty with WithMTLSRoots.
func NewMTLS(spec *fulfillmentv1alpha1.ClientAuth, caBundle []byte, opts ...MTLSOption) (*MTLS, error) {
	if spec == nil || spec.Mode == "" || spec.Mode == fulfillmentv1alpha1.ClientAuthNone {
		return nil, errors.New("mtls: clientAuth mode None needs no check")
	}
	if spec.Mode != fulfillmentv1alpha1.ClientAuthOptional && spec.Mode != fulfillmentv1alpha1.ClientAuthRequire {
		return nil, fmt.Errorf("mtls: unknown clientAuth mode %q", spec.Mode)
	}
	m := &MTLS{require: spec.Mode == fulfillmentv1alpha1.ClientAuthRequire, now: time.Now}
	for _, opt := range opts {
		opt(m)
	}
	if m.roots == nil {
		pool, err := tlsconfig.ParseCertificatePool(caBundle)
		if err != nil {
			return nil, fmt.Errorf("mtls: CA bundle: %w", err)
		}
		m.roots = func() *x509.CertPool { return pool }
	}
	if len(spec.AllowedSubjects) > 0 {
		m.subjects, m.dnsNames = map[string]bool{}, map[string]bool{}
		for _, s := range spec.AllowedSubjects {
			m.subjects[s] = true
			m.dnsNames[strings.ToLower(s)] = true
		}
	}
	return m, nil
}

type connectionStateKey struct{}

// WithConnectionState attaches the request's TLS state (http.Request.TLS, nil for plain HTTP) to ctx for
// ContextCheckers such as MTLS.
func WithConnectionState(ctx context.Context, state *tls.ConnectionState) context.Context {
	return context.WithValue(ctx, connectionStateKey{}, state)
}

// ConnectionStateFrom returns the TLS state WithConnectionState attached; ok is false when none was attached.
func ConnectionStateFrom(ctx context.Context) (state *tls.ConnectionState, ok bool) {
	state, ok = ctx.Value(connectionStateKey{}).(*tls.ConnectionState)
	return state, ok
}

// Check implements Checker. A Request does not carry the connection, so Check refuses (500
// tls_state_unavailable): call CheckContext with WithConnectionState, or CheckTLS.
func (m *MTLS) Check(*Request) *Failure {
	return &Failure{Status: http.StatusInternalServerError, Method: mtlsMethod, Reason: mtlsReasonNoConnectionState}
}

// CheckContext implements ContextChecker with the state WithConnectionState attached to ctx.
func (m *MTLS) CheckContext(ctx context.Context, _ *Request) *Failure {
	state, ok := ConnectionStateFrom(ctx)
	if !ok {
		return m.Check(nil)
	}
	return m.CheckTLS(state)
}

// CheckTLS checks the client certificate of a connection: nil state means plain HTTP, so no certificate.
func (m *MTLS) CheckTLS(state *tls.ConnectionState) *Failure {
	if state == nil || len(state.PeerCertificates) == 0 {
		if m.require {
			return mtlsFailure(http.StatusUnauthorized, mtlsReasonMissing)
		}
		return nil // Optional: no certificate is fine, an invalid one is not
	}
	roots := m.roots()
	if roots == nil {
		roots = x509.NewCertPool() // never the system roots
	}
	intermediates := x509.NewCertPool()
	for _, cert := range state.PeerCertificates[1:] {
		intermediates.AddCert(cert)
	}
	leaf := state.PeerCertificates[0]
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   m.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return mtlsFailure(http.StatusUnauthorized, mtlsVerifyReason(err))
	}
	if m.subjects != nil && !m.subjectAllowed(leaf) {
		return mtlsFailure(http.StatusForbidden, mtlsReasonSubjectNotAllowed)
	}
	return nil
}

// subjectAllowed matches the common name, a DNS SAN (case-insensitively) or a URI SAN.
func (m *MTLS) subjectAllowed(cert *x509.Certificate) bool {
	if cert.Subject.CommonName != "" && m.subjects[cert.Subject.CommonName] {
		return true
	}
	for _, name := range cert.DNSNames {
		if m.dnsNames[strings.ToLower(name)] {
			return true
		}
	}
	for _, uri := range cert.URIs {
		if m.subjects[uri.String()] {
			return true
		}
	}
	return false
}

func mtlsVerifyReason(err error) string {
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return mtlsReasonUntrusted
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
		return mtlsReasonExpired
	}
	return mtlsReasonInvalid
}

func mtlsFailure(status int, reason string) *Failure {
	return &Failure{Status: status, Method: mtlsMethod, Reason: reason}
}
