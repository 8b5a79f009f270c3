// Package tlstest makes certificates for tests: CAs, server and client certificates, and Secret directories laid
// out and swapped the way the kubelet mounts them.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// serials makes serial numbers unique within a test binary, so that tests can tell certificates apart.
var serials atomic.Int64

// CA is a certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// PEM is the CA certificate, as in a CA bundle.
	PEM []byte
}

// Cert is an issued certificate.
type Cert struct {
	Leaf    *x509.Certificate
	CertPEM []byte // leaf, then the chain it was issued with
	KeyPEM  []byte
	TLS     tls.Certificate
}

// Options describe a certificate to issue.
type Options struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	URIs       []string
	// Server and Client set the extended key usages; neither means both.
	Server, Client bool
	// NotBefore and NotAfter default to an hour ago and a day from now.
	NotBefore, NotAfter time.Time
	// Intermediate issues a CA certificate that can itself issue (see IntermediateCA).
	Intermediate bool
}

// NewCA returns a self-signed CA.
func NewCA(t testing.TB, commonName string) *CA {
	t.Helper()
	key := newKey(t)
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(serials.Add(1)),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Pool returns a pool holding the CA.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// Issue issues a certificate signed by the CA.
func (ca *CA) Issue(t testing.TB, opts Options) *Cert {
	t.Helper()
	key := newKey(t)
	template := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)),
		Subject:      pkix.Name{CommonName: opts.CommonName},
		DNSNames:     opts.DNSNames,
		IPAddresses:  opts.IPs,
		NotBefore:    opts.NotBefore,
		NotAfter:     opts.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if template.NotBefore.IsZero() {
		template.NotBefore = time.Now().Add(-time.Hour)
	}
	if template.NotAfter.IsZero() {
		template.NotAfter = time.Now().Add(24 * time.Hour)
	}
	for _, raw := range opts.URIs {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		template.URIs = append(template.URIs, u)
	}
	if opts.Server || !opts.Client {
		template.ExtKeyUsage = append(template.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if opts.Client || !opts.Server {
		template.ExtKeyUsage = append(template.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	if opts.Intermediate {
		template.IsCA, template.BasicConstraintsValid = true, true
		template.KeyUsage |= x509.KeyUsageCertSign
		template.ExtKeyUsage = nil
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain := [][]byte{der}
	if ca.Cert.Subject.String() != ca.Cert.Issuer.String() { // an intermediate: send it along
		certPEM = append(certPEM, ca.PEM...)
		chain = append(chain, ca.Cert.Raw)
	}
	return &Cert{
		Leaf:    leaf,
		CertPEM: certPEM,
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		TLS:     tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf},
	}
}

// IntermediateCA issues an intermediate CA.
func (ca *CA) IntermediateCA(t testing.TB, commonName string) *CA {
	t.Helper()
	c := ca.Issue(t, Options{CommonName: commonName, Intermediate: true})
	return &CA{Cert: c.Leaf, Key: c.TLS.PrivateKey.(*ecdsa.PrivateKey), PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw})}
}

// ServerCert issues a serving certificate for 127.0.0.1, ::1 and localhost.
func (ca *CA) ServerCert(t testing.TB) *Cert {
	t.Helper()
	return ca.Issue(t, Options{
		CommonName: "localhost", DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, Server: true,
	})
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// SecretDir is a directory laid out like a Secret volume the kubelet mounts: the files live in a timestamped
// directory, ..data links to it, and each key links to ..data/<key>. Write swaps all files at once by renaming a
// new ..data link over the old one, as the kubelet's atomic writer does.
type SecretDir struct {
	Dir     string
	version int
}

// NewSecretDir creates a Secret directory under a test temp dir holding files.
func NewSecretDir(t testing.TB, files map[string][]byte) *SecretDir {
	t.Helper()
	d := &SecretDir{Dir: t.TempDir()}
	d.Write(t, files)
	return d
}

// Path is the path of a key.
func (d *SecretDir) Path(key string) string { return filepath.Join(d.Dir, key) }

// Write replaces the contents with files atomically.
func (d *SecretDir) Write(t testing.TB, files map[string][]byte) {
	t.Helper()
	d.version++
	versionDir := "..v" + strconv.Itoa(d.version)
	if err := os.Mkdir(filepath.Join(d.Dir, versionDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for key, data := range files {
		if err := os.WriteFile(filepath.Join(d.Dir, versionDir, key), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(d.Dir, "..data_tmp")
	if err := os.Symlink(versionDir, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.Dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for key := range files {
		link := filepath.Join(d.Dir, key)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", key), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d.version > 1 {
		_ = os.RemoveAll(filepath.Join(d.Dir, "..v"+strconv.Itoa(d.version-1)))
	}
}
