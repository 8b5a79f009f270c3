package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Bearer is a token in a header: `Authorization: Bearer <token>`, or the raw value of another header.
type Bearer struct {
	header string
	token  [sha256.Size]byte
}

// NewBearer returns a Bearer checker reading header (Authorization when empty).
func NewBearer(header string, token []byte) *Bearer {
	if header == "" {
		header = "Authorization"
	}
	return &Bearer{header: header, token: sha256.Sum256(token)}
}

// Check implements Checker.
func (b *Bearer) Check(r *Request) *Failure {
	value := r.Header.Get(b.header)
	if strings.EqualFold(b.header, "Authorization") {
		scheme, token, ok := strings.Cut(value, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return &Failure{Status: http.StatusUnauthorized, Method: "bearer", Reason: "missing_credentials"}
		}
		value = strings.TrimSpace(token)
	}
	if value == "" {
		return &Failure{Status: http.StatusUnauthorized, Method: "bearer", Reason: "missing_credentials"}
	}
	digest := sha256.Sum256([]byte(value))
	if subtle.ConstantTimeCompare(digest[:], b.token[:]) != 1 {
		return &Failure{Status: http.StatusUnauthorized, Method: "bearer", Reason: "invalid_credentials"}
	}
	return nil
}
