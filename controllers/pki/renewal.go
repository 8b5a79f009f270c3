package pki

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// NeedsRenewal says whether the serving certificate certPEM must be issued again, and why: it is missing or
// unparsable, not signed by the CA caCertPEM, not for exactly wantDNSNames (in any order), not valid yet, or
// now is at or past its renewal time. The renewal time is NotAfter minus renewBefore when 0 < renewBefore <
// lifetime, else minus a third of the lifetime (cert-manager's rule, so a renewBefore longer than the
// certificate never makes it reissue forever).
//
// When no renewal is needed, checkAgainAt is the renewal time, for RequeueAfter. When one is, checkAgainAt is
// now: issue, then ask again. The key is not looked at: check it with CheckPair.
//
// A certificate that already ends with its CA is not renewed before it expires: a new one would end then too.
func NeedsRenewal(certPEM []byte, caCertPEM []byte, wantDNSNames []string, now time.Time, renewBefore time.Duration) (renew bool, reason string, checkAgainAt time.Time) {
	if len(certPEM) == 0 {
		return true, "no serving certificate has been issued yet", now
	}
	leaf, err := parseCertificate(certPEM)
	if err != nil {
		return true, fmt.Sprintf("the serving certificate is unusable: %v", err), now
	}
	ca, err := parseCertificate(caCertPEM)
	if err != nil {
		return true, fmt.Sprintf("the CA certificate is unusable: %v", err), now
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return true, fmt.Sprintf("the serving certificate was not issued by the current CA %q", ca.Subject.CommonName), now
	}
	if have, want := normalizedNames(leaf.DNSNames), normalizedNames(wantDNSNames); !slices.Equal(have, want) {
		return true, fmt.Sprintf("the serving certificate is for DNS names [%s], wanted [%s]",
			strings.Join(have, ", "), strings.Join(want, ", ")), now
	}
	if now.Before(leaf.NotBefore) {
		return true, fmt.Sprintf("the serving certificate is not valid before %s", formatTime(leaf.NotBefore)), now
	}
	if !now.Before(leaf.NotAfter) {
		return true, fmt.Sprintf("the serving certificate expired at %s", formatTime(leaf.NotAfter)), now
	}
	if !leaf.NotAfter.Before(ca.NotAfter) {
		return false, fmt.Sprintf("the serving certificate is valid until %s, when the CA expires too: the CA must be replaced before then",
			formatTime(leaf.NotAfter)), leaf.NotAfter
	}
	renewAt := renewalTime(leaf.NotBefore, leaf.NotAfter, renewBefore)
	if !now.Before(renewAt) {
		return true, fmt.Sprintf("the serving certificate expires at %s and was due for renewal at %s",
			formatTime(leaf.NotAfter), formatTime(renewAt)), now
	}
	return false, fmt.Sprintf("the serving certificate is valid until %s, renewal at %s",
		formatTime(leaf.NotAfter), formatTime(renewAt)), renewAt
}

// renewalTime is notAfter minus renewBefore when that is shorter than the lifetime, else minus a third of the
// lifetime, to the second.
func renewalTime(notBefore, notAfter time.Time, renewBefore time.Duration) time.Time {
	lifetime := notAfter.Sub(notBefore)
	if renewBefore <= 0 || renewBefore >= lifetime {
		renewBefore = DefaultRenewBefore(lifetime)
	}
	return notAfter.Add(-renewBefore).Truncate(time.Second)
}

// normalizedNames are DNS names lower-cased, sorted and without duplicates: DNS names are case-insensitive
// and a certificate's are a set.
func normalizedNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, name := range names {
		out = append(out, strings.ToLower(name))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
