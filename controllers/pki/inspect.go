package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Errors a caller may want to tell apart, for example to replace a broken Secret rather than report it.
var (
	// ErrNoCertificate: tls.crt is empty or holds no PEM block at all.
	ErrNoCertificate = errors.New("tls.crt holds no PEM certificate")
	// ErrNoKey: tls.key is empty or holds no PEM private key block.
	ErrNoKey = errors.New("tls.key holds no PEM private key")
	// ErrKeyMismatch: the key is not the one whose public half the certificate holds.
	ErrKeyMismatch = errors.New("the key in tls.key does not match the certificate in tls.crt")
)

// Info is what the operator reports about a certificate.
type Info struct {
	// Subject and Issuer are distinguished names in RFC 2253 form.
	Subject string
	Issuer  string
	// DNSNames are the DNS subject alternative names.
	DNSNames  []string
	NotBefore time.Time
	NotAfter  time.Time
	IsCA      bool
}

// Inspect parses the first PEM block of certPEM, which must be a certificate, and describes it. It does not
// check validity dates or the signature.
func Inspect(certPEM []byte) (Info, error) {
	cert, err := parseCertificate(certPEM)
	if err != nil {
		return Info{}, err
	}
	return Info{
		Subject:   cert.Subject.String(),
		Issuer:    cert.Issuer.String(),
		DNSNames:  append([]string(nil), cert.DNSNames...),
		NotBefore: cert.NotBefore,
		NotAfter:  cert.NotAfter,
		IsCA:      cert.IsCA,
	}, nil
}

// CheckPair checks that tls.crt and tls.key form a key pair the server can load (crypto/tls.X509KeyPair, which
// the server uses), with a message that says what is wrong when they do not. Expiry is not checked here.
func CheckPair(certPEM, keyPEM []byte) error {
	cert, err := parseCertificate(certPEM)
	if err != nil {
		return err
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return err
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return ErrKeyMismatch
	}
	// crypto/tls parses only the leaf and sends the rest of the chain as it is: a corrupt intermediate would
	// load and then fail every client.
	if err := checkChain(certPEM); err != nil {
		return err
	}
	// The checks above explain the common mistakes; X509KeyPair is the final word, since it is what the server
	// runs.
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("tls.crt and tls.key do not form a usable key pair: %w", err)
	}
	return nil
}

// checkChain checks that every CERTIFICATE block of tls.crt after the first parses.
func checkChain(certPEM []byte) error {
	_, rest := pem.Decode(certPEM)
	for position := 2; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil
		}
		if block.Type != certificateBlock {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("tls.crt holds a chain whose certificate %d cannot be parsed: %w", position, err)
		}
		position++
	}
}

// parseCertificate parses the first PEM block of certPEM as a certificate.
func parseCertificate(certPEM []byte) (*x509.Certificate, error) {
	if len(bytes.TrimSpace(certPEM)) == 0 {
		return nil, fmt.Errorf("%w: it is empty", ErrNoCertificate)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, ErrNoCertificate
	}
	if block.Type != certificateBlock {
		if isPrivateKeyBlock(block.Type) {
			return nil, fmt.Errorf("tls.crt starts with a %q PEM block instead of a CERTIFICATE: are tls.crt and tls.key swapped?", block.Type)
		}
		return nil, fmt.Errorf("tls.crt starts with a %q PEM block instead of a CERTIFICATE", block.Type)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tls.crt holds a CERTIFICATE that cannot be parsed: %w", err)
	}
	return cert, nil
}

// parsePrivateKey parses the first private key PEM block of keyPEM, skipping other blocks as crypto/tls does:
// PKCS#8, SEC 1 (EC PRIVATE KEY) or PKCS#1 (RSA PRIVATE KEY).
func parsePrivateKey(keyPEM []byte) (crypto.Signer, error) {
	if len(bytes.TrimSpace(keyPEM)) == 0 {
		return nil, fmt.Errorf("%w: it is empty", ErrNoKey)
	}
	var skipped []string
	rest := keyPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if !isPrivateKeyBlock(block.Type) {
			skipped = append(skipped, block.Type)
			continue
		}
		key, err := parseKeyDER(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("tls.key holds a %q PEM block that cannot be parsed: %w", block.Type, err)
		}
		return key, nil
	}
	if len(skipped) > 0 {
		return nil, fmt.Errorf("%w, only %q blocks: are tls.crt and tls.key swapped?", ErrNoKey, skipped)
	}
	return nil, ErrNoKey
}

func parseKeyDER(der []byte) (crypto.Signer, error) {
	if key, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("a %T private key cannot sign", key)
		}
		return signer, nil
	}
	if key, err := x509.ParseECPrivateKey(der); err == nil {
		return key, nil
	}
	if key, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return key, nil
	}
	return nil, errors.New("it is neither a PKCS#8, an EC nor a PKCS#1 private key")
}

// publicKeysEqual compares two public keys of the kinds crypto/x509 parses.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	switch key := a.(type) {
	case *ecdsa.PublicKey:
		return key.Equal(b)
	case *rsa.PublicKey:
		return key.Equal(b)
	case ed25519.PublicKey:
		return key.Equal(b)
	default:
		return false
	}
}
