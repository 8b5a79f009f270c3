package auth

import "slices"

// CredentialHeaderChecker is implemented by methods whose credential is the value of one request header that a
// caller sends the same on every request (basic, bearer, an OIDC token for its lifetime), unlike a signature,
// which changes with every body.
type CredentialHeaderChecker interface {
	CredentialHeader() string
}

// CredentialHeader implements CredentialHeaderChecker.
func (b *Basic) CredentialHeader() string { return "Authorization" }

// CredentialHeader implements CredentialHeaderChecker.
func (b *Bearer) CredentialHeader() string { return b.header }

// CredentialHeader implements CredentialHeaderChecker.
func (o *OIDC) CredentialHeader() string { return "Authorization" }

// CredentialHeaders lists, once each, the headers that carry the credentials of the checks that have one.
func CredentialHeaders(checks All) []string {
	var names []string
	for _, check := range checks {
		if c, ok := check.(CredentialHeaderChecker); ok && !slices.Contains(names, c.CredentialHeader()) {
			names = append(names, c.CredentialHeader())
		}
	}
	return names
}
