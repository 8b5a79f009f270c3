// Package pki is the operator's own small certificate authority for `tls.mode: SelfSigned`: it creates a CA,
// issues serving certificates from it, and says when a serving certificate must be issued again. Every function
// is pure apart from the randomness of keys and serial numbers: the clock is a parameter.
//
// Decisions, for the reader who wonders why:
//
//   - Keys are ECDSA P-256 (fast, small, accepted by every TLS client that matters) and are written as PKCS#8
//     "PRIVATE KEY" PEM blocks, which crypto/tls, OpenSSL and Java all read.
//   - tls.crt holds the leaf only; the CA certificate goes to ca.crt, as cert-manager does. A client of a private
//     CA must hold that CA as its trust anchor anyway, so sending it in the chain would add nothing.
//   - A serving certificate lives DefaultDuration (90 days) and is renewed a third of its lifetime before it
//     expires (cert-manager's default), or renewBefore before it when that is shorter than the lifetime.
//   - NotBefore is backdated by ClockSkew so that a client whose clock is a little behind accepts a certificate
//     issued a moment ago.
//   - The CA lives DefaultCAValidity (10 years). A serving certificate never outlives its CA: its NotAfter is cut
//     to the CA's. Rotating the CA (publishing old and new CA together, then switching) is future work; until
//     then a CA that expires, or a CA Secret that is deleted, means callers must trust the new ca.crt.
//   - The CA may only sign leaves (path length 0). It carries no name constraints: the DNS names of an endpoint
//     can change, and a constrained CA would then have to be replaced, which callers would notice. Callers
//     should therefore trust the published CA for this endpoint only, not add it to a system-wide trust store.
//   - Error messages name the Secret keys tls.crt and tls.key (both the CA Secret and the serving Secret use
//     them) and never echo key material.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

const (
	// DefaultDuration is the lifetime of a serving certificate when the endpoint sets none (cert-manager's too).
	DefaultDuration = 90 * 24 * time.Hour
	// DefaultCAValidity is the lifetime of a CA. CA rotation is future work, hence a long one.
	DefaultCAValidity = 10 * 365 * 24 * time.Hour
	// ClockSkew is how far NotBefore is backdated, so that clients whose clock is behind accept a new certificate.
	ClockSkew = 5 * time.Minute
	// maxCommonNameLength is ub-common-name of RFC 5280: some clients refuse a longer common name.
	maxCommonNameLength = 64
)

// PEM block types.
const (
	certificateBlock = "CERTIFICATE"
	privateKeyBlock  = "PRIVATE KEY"
)

// DefaultRenewBefore is how long before expiry a certificate of the given lifetime is renewed when the endpoint
// sets no renewBefore: a third of it, as cert-manager does.
func DefaultRenewBefore(duration time.Duration) time.Duration {
	return duration / 3
}

// NewCA generates a self-signed CA named commonName, valid from now (backdated by ClockSkew) for validity
// (DefaultCAValidity when 0). It returns the PEM certificate and the PEM PKCS#8 key, for the tls.crt and
// tls.key of the CA Secret.
func NewCA(commonName string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if commonName == "" {
		return nil, nil, errors.New("the CA needs a common name")
	}
	if len(commonName) > maxCommonNameLength {
		return nil, nil, fmt.Errorf("the CA common name is %d bytes long, at most %d are allowed", len(commonName), maxCommonNameLength)
	}
	if validity < 0 {
		return nil, nil, fmt.Errorf("the CA validity %s is negative", validity)
	}
	if validity == 0 {
		validity = DefaultCAValidity
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the CA key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             notBefore(now),
		NotAfter:              now.Add(validity).UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the CA certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: certificateBlock, Bytes: der}), keyPEM, nil
}

// IssueServing issues a serving certificate (server auth) for dnsNames, signed by the CA, valid from now
// (backdated by ClockSkew) for duration (DefaultDuration when 0) but never past the CA's own expiry. It returns
// the PEM leaf certificate alone (the CA goes to ca.crt) and its PEM PKCS#8 key, for tls.crt and tls.key.
func IssueServing(caCertPEM, caKeyPEM []byte, dnsNames []string, now time.Time, duration time.Duration) (certPEM, keyPEM []byte, err error) {
	if len(dnsNames) == 0 {
		return nil, nil, errors.New("a serving certificate needs at least one DNS name")
	}
	for _, name := range dnsNames {
		if name == "" {
			return nil, nil, errors.New("a serving certificate cannot have an empty DNS name")
		}
	}
	if duration < 0 {
		return nil, nil, fmt.Errorf("the certificate duration %s is negative", duration)
	}
	if duration == 0 {
		duration = DefaultDuration
	}
	ca, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	if !now.Before(ca.NotAfter) {
		return nil, nil, fmt.Errorf("the CA %q expired at %s: it must be replaced (delete the CA Secret), and callers must trust the new ca.crt",
			ca.Subject.CommonName, ca.NotAfter.UTC().Format(time.RFC3339))
	}
	notAfter := now.Add(duration).UTC().Truncate(time.Second)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the serving key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             notBefore(now),
		NotAfter:              notAfter,
		DNSNames:              append([]string(nil), dnsNames...),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	// The names are in the SAN extension, which is what clients check; a common name only helps people reading
	// the certificate, and is left out when too long to be valid.
	if len(dnsNames[0]) <= maxCommonNameLength {
		template.Subject = pkix.Name{CommonName: dnsNames[0]}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the serving certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: certificateBlock, Bytes: der}), keyPEM, nil
}

// parseCA reads a CA Secret's certificate and key and checks that they form a CA that can sign.
func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	ca, err := parseCertificate(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA: %w", err)
	}
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, nil, fmt.Errorf("the CA: the certificate %q in tls.crt is not a CA allowed to sign certificates", ca.Subject.CommonName)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA: %w", err)
	}
	if !publicKeysEqual(key.Public(), ca.PublicKey) {
		return nil, nil, fmt.Errorf("the CA: %w", ErrKeyMismatch)
	}
	return ca, key, nil
}

// notBefore is now backdated by ClockSkew, to the second as X.509 stores it.
func notBefore(now time.Time) time.Time {
	return now.Add(-ClockSkew).UTC().Truncate(time.Second)
}

// serialNumber is a random positive 128-bit serial number, as the CA/Browser Forum asks (at least 64 bits).
func serialNumber() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generating a serial number: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: privateKeyBlock, Bytes: der}), nil
}

// isPrivateKeyBlock matches "PRIVATE KEY", "EC PRIVATE KEY" and "RSA PRIVATE KEY", as crypto/tls does.
func isPrivateKeyBlock(blockType string) bool {
	return blockType == privateKeyBlock || strings.HasSuffix(blockType, " "+privateKeyBlock)
}
