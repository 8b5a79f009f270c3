// Package auth checks that a request comes from the configured caller. Every configured method must pass.
// Secrets are compared in constant time, and a failure names a reason code that helps the caller without
// revealing anything secret.
package auth

import (
	"net/http"
)

// Request is what authentication reads of a request: its headers, the raw body (for signatures) and the
// address of the TCP peer (for the IP allowlist).
type Request struct {
	Header http.Header
	Body   []byte
	// RemoteAddr is the peer's "host:port", as in http.Request.RemoteAddr.
	RemoteAddr string
}

// Failure is a refused request.
type Failure struct {
	// Status is 401 (no or wrong credentials) or 403 (valid credentials that are not allowed).
	Status int
	// Method is the auth method that refused: basic, bearer, hmac, oidc, mtls, ip.
	Method string
	// Reason is a code for the caller and metrics, e.g. missing_credentials, invalid_credentials.
	Reason string
	// BearerError is the RFC 6750 error code of a bearer token method's challenge (invalid_token,
	// insufficient_scope); empty when the request had no token or the method is not a bearer token method.
	BearerError string
	// Scope, with insufficient_scope, lists the scopes the token must grant, space-separated.
	Scope string
}

func (f *Failure) Error() string { return f.Method + " authentication failed: " + f.Reason }

// Checker is one authentication method.
type Checker interface {
	// Check returns nil when the request passes, or a *Failure.
	Check(r *Request) *Failure
}

// All passes when every checker passes; the first failure is returned.
type All []Checker

// Check implements Checker.
func (all All) Check(r *Request) *Failure {
	for _, c := range all {
		if f := c.Check(r); f != nil {
			return f
		}
	}
	return nil
}
