package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// Basic is HTTP basic authentication.
type Basic struct {
	// Digests of the expected credentials: comparing fixed-size digests in constant time also hides the
	// length of the secret.
	username, password [sha256.Size]byte
}

// NewBasic returns a Basic checker for the credentials.
func NewBasic(username, password []byte) *Basic {
	return &Basic{username: sha256.Sum256(username), password: sha256.Sum256(password)}
}

// Check implements Checker.
func (b *Basic) Check(r *Request) *Failure {
	header := r.Header.Get("Authorization")
	scheme, encoded, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return &Failure{Status: http.StatusUnauthorized, Method: "basic", Reason: "missing_credentials"}
	}
	// Decoded into a buffer on the stack, as DecodeString would decode it: its allocation and the string copies
	// showed in the CPU profile of a Dialogflow ES request.
	var buf [128]byte
	encoded = strings.TrimSpace(encoded)
	decoded := buf[:]
	if n := base64.StdEncoding.DecodedLen(len(encoded)); n > len(buf) {
		decoded = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(decoded, []byte(encoded))
	if err != nil {
		return &Failure{Status: http.StatusUnauthorized, Method: "basic", Reason: "malformed_credentials"}
	}
	username, password, ok := bytes.Cut(decoded[:n], []byte(":"))
	if !ok {
		return &Failure{Status: http.StatusUnauthorized, Method: "basic", Reason: "malformed_credentials"}
	}
	userDigest, passwordDigest := sha256.Sum256(username), sha256.Sum256(password)
	// Both comparisons always run, so the time does not tell which part was wrong.
	userOK := subtle.ConstantTimeCompare(userDigest[:], b.username[:])
	passwordOK := subtle.ConstantTimeCompare(passwordDigest[:], b.password[:])
	if userOK&passwordOK != 1 {
		return &Failure{Status: http.StatusUnauthorized, Method: "basic", Reason: "invalid_credentials"}
	}
	return nil
}
