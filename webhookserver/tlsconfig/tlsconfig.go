// Package tlsconfig serves TLS from certificate files that change under the running server: the serving
// certificate and key (a mounted kubernetes.io/tls Secret: tls.crt, tls.key, renewed by cert-manager or the
// operator's CA) and the bundle of CAs that sign client certificates. A Reloader polls the files, installs a new
// pair only when it loads completely, and hands every new handshake the current one, so rotation needs no
// restart and fails no request.
package tlsconfig

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often a Reloader looks at its files.
const DefaultInterval = 5 * time.Second

// Options configure a Reloader.
type Options struct {
	// CertFile and KeyFile are the PEM serving certificate (leaf first, then intermediates) and its key.
	CertFile, KeyFile string
	// ClientCAFile, when set, is the PEM bundle of CAs that sign client certificates. It becomes the ClientCAs of
	// the handshake: the list the server advertises to clients and, with ClientAuth VerifyClientCertIfGiven or
	// RequireAndVerifyClientCert, the pool the handshake verifies against.
	ClientCAFile string
	// ClientAuth is the handshake's policy. With per-endpoint checks in HTTP (auth.MTLS) use
	// tls.RequestClientCert: the handshake asks for a certificate and proves the client holds its key, and the
	// endpoint verifies the chain and answers 401 with a reason.
	ClientAuth tls.ClientAuthType
	// Interval between two looks at the files (DefaultInterval when zero).
	Interval time.Duration
	// NextProtos are the ALPN protocols offered (default h2 and http/1.1). Set only http/1.1 when the HTTP server
	// has HTTP/2 disabled.
	NextProtos []string
	// OnReload is called after a new certificate (or CA bundle) is installed.
	OnReload func(Info)
	// OnError is called when changed files cannot be installed; the current certificate keeps serving. A change
	// that fails is reported once it has been seen twice, so that a pair caught halfway through a write (the
	// certificate already new, the key still old) is not reported.
	OnError func(error)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Info describes the served certificate.
type Info struct {
	Subject   string
	DNSNames  []string
	Serial    *big.Int
	NotBefore time.Time
	NotAfter  time.Time
	// ClientCAs is the number of certificates in the client CA bundle (0 without ClientCAFile).
	ClientCAs int
}

// Reloader loads and reloads the serving certificate and the client CA bundle.
type Reloader struct {
	opts    Options
	current atomic.Pointer[material]

	mu sync.Mutex // serializes Reload
	// failed is the fingerprint of files that failed to load, and reported whether OnError has heard of it.
	failed   [sha256.Size]byte
	reported bool
	failure  error
}

// material is one loaded set of files and the handshake configuration made of it.
type material struct {
	fingerprint [sha256.Size]byte
	cert        *tls.Certificate
	clientCAs   *x509.CertPool
	info        Info
	config      *tls.Config
}

// New loads the files once: without a usable certificate there is nothing to serve, so that is an error.
func New(opts Options) (*Reloader, error) {
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, errors.New("tlsconfig: a certificate and a key file are required")
	}
	if opts.ClientAuth >= tls.VerifyClientCertIfGiven && opts.ClientCAFile == "" {
		// Without ClientCAs the handshake would trust every public CA for client certificates.
		return nil, errors.New("tlsconfig: verifying client certificates in the handshake needs a client CA file")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if len(opts.NextProtos) == 0 {
		opts.NextProtos = []string{"h2", "http/1.1"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Reloader{opts: opts}
	fingerprint, files, err := r.read()
	if err != nil {
		return nil, err
	}
	m, err := r.load(fingerprint, files)
	if err != nil {
		return nil, err
	}
	r.current.Store(m)
	return r, nil
}

// TLSConfig returns the configuration for the listener (http.Server.TLSConfig, tls.NewListener). Every
// handshake gets the configuration of the current files: a new connection sees a new certificate as soon as it
// is installed, while open connections keep theirs. MinVersion is TLS 1.2.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: append([]string(nil), r.opts.NextProtos...),
		ClientAuth: r.opts.ClientAuth,
		// GetConfigForClient decides; GetCertificate serves whoever uses this configuration without it.
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return r.current.Load().cert, nil
		},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.current.Load().config, nil
		},
	}
}

// Info describes the certificate served now.
func (r *Reloader) Info() Info { return r.current.Load().info }

// NotAfter is when the certificate served now expires.
func (r *Reloader) NotAfter() time.Time { return r.current.Load().info.NotAfter }

// ClientCAs is the client CA pool loaded now; nil without ClientCAFile. The pool must not be modified.
func (r *Reloader) ClientCAs() *x509.CertPool { return r.current.Load().clientCAs }

// Run looks at the files every Interval until ctx is done.
func (r *Reloader) Run(ctx context.Context) {
	ticker := time.NewTicker(r.opts.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			_, _ = r.Reload() // OnError hears of failures
		}
	}
}

// Reload installs the files when they changed and load; it reports whether it installed them. On an error the
// current certificate keeps serving.
func (r *Reloader) Reload() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fingerprint, files, err := r.read()
	if err != nil {
		r.fail(fingerprint, err)
		return false, err
	}
	if fingerprint == r.current.Load().fingerprint {
		r.failure = nil
		return false, nil
	}
	if r.failure != nil && fingerprint == r.failed {
		if !r.reported {
			r.report(r.failure) // seen twice: not a write in progress
		}
		return false, r.failure
	}
	m, err := r.load(fingerprint, files)
	if err != nil {
		r.fail(fingerprint, err)
		return false, err
	}
	r.current.Store(m)
	r.failure = nil
	if r.opts.OnReload != nil {
		r.opts.OnReload(m.info)
	}
	return true, nil
}

// fail remembers a failed load; it is reported when the same files fail again.
func (r *Reloader) fail(fingerprint [sha256.Size]byte, err error) {
	if r.failure != nil && fingerprint == r.failed {
		if !r.reported {
			r.report(err)
		}
		return
	}
	r.failed, r.failure, r.reported = fingerprint, err, false
}

func (r *Reloader) report(err error) {
	r.reported = true
	if r.opts.OnError != nil {
		r.opts.OnError(err)
	}
}

// files are the contents read in one look.
type files struct {
	cert, key, clientCAs []byte
}

// read reads the files (following the symlinks of a mounted volume) and fingerprints their contents: content
// and not mtime, because an atomic ..data swap may keep times, and a rewrite within one second may too.
func (r *Reloader) read() ([sha256.Size]byte, files, error) {
	var f files
	var err error
	hash := sha256.New()
	add := func(b []byte) {
		_ = binary.Write(hash, binary.BigEndian, uint64(len(b)))
		hash.Write(b)
	}
	if f.cert, err = os.ReadFile(r.opts.CertFile); err != nil {
		return [sha256.Size]byte{}, f, fmt.Errorf("tlsconfig: reading the certificate: %w", err)
	}
	if f.key, err = os.ReadFile(r.opts.KeyFile); err != nil {
		return [sha256.Size]byte{}, f, fmt.Errorf("tlsconfig: reading the key: %w", err)
	}
	add(f.cert)
	add(f.key)
	if r.opts.ClientCAFile != "" {
		if f.clientCAs, err = os.ReadFile(r.opts.ClientCAFile); err != nil {
			return [sha256.Size]byte{}, f, fmt.Errorf("tlsconfig: reading the client CA bundle: %w", err)
		}
		add(f.clientCAs)
	}
	var sum [sha256.Size]byte
	copy(sum[:], hash.Sum(nil))
	return sum, f, nil
}

// load parses files into material; any doubt is an error, so that a half-written pair is never installed.
func (r *Reloader) load(fingerprint [sha256.Size]byte, f files) (*material, error) {
	if err := completePEM(f.cert); err != nil {
		return nil, fmt.Errorf("tlsconfig: certificate %s: %w", r.opts.CertFile, err)
	}
	if err := completePEM(f.key); err != nil {
		return nil, fmt.Errorf("tlsconfig: key %s: %w", r.opts.KeyFile, err)
	}
	cert, err := tls.X509KeyPair(f.cert, f.key) // also checks that the key belongs to the certificate
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: %s and %s: %w", r.opts.CertFile, r.opts.KeyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsconfig: certificate %s: %w", r.opts.CertFile, err)
		}
	}
	now := r.opts.Now()
	if current := r.current.Load(); current != nil && now.After(leaf.NotAfter) && !now.After(current.info.NotAfter) {
		return nil, fmt.Errorf("tlsconfig: certificate %s expired at %s; the current one (valid until %s) keeps serving",
			r.opts.CertFile, leaf.NotAfter.UTC().Format(time.RFC3339), current.info.NotAfter.UTC().Format(time.RFC3339))
	}
	m := &material{
		fingerprint: fingerprint,
		cert:        &cert,
		info: Info{
			Subject:   leaf.Subject.String(),
			DNSNames:  leaf.DNSNames,
			Serial:    leaf.SerialNumber,
			NotBefore: leaf.NotBefore,
			NotAfter:  leaf.NotAfter,
		},
	}
	if r.opts.ClientCAFile != "" {
		var count int
		if m.clientCAs, count, err = parseCertificatePool(f.clientCAs); err != nil {
			return nil, fmt.Errorf("tlsconfig: client CA bundle %s: %w", r.opts.ClientCAFile, err)
		}
		m.info.ClientCAs = count
	}
	m.config = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		NextProtos:   r.opts.NextProtos,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   r.opts.ClientAuth,
		ClientCAs:    m.clientCAs,
	}
	return m, nil
}

// ParseCertificatePool reads a PEM bundle of CA certificates. Anything but complete CERTIFICATE blocks (a
// truncated file, a private key) is an error, and so is a bundle without certificates.
func ParseCertificatePool(bundle []byte) (*x509.CertPool, error) {
	pool, _, err := parseCertificatePool(bundle)
	return pool, err
}

func parseCertificatePool(bundle []byte) (*x509.CertPool, int, error) {
	if err := completePEM(bundle); err != nil {
		return nil, 0, err
	}
	pool := x509.NewCertPool()
	count := 0
	for rest := bundle; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, 0, fmt.Errorf("PEM block %d is a %s, not a CERTIFICATE", count+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, 0, fmt.Errorf("certificate %d: %w", count+1, err)
		}
		pool.AddCert(cert)
		count++
	}
	if count == 0 {
		return nil, 0, errors.New("no certificate")
	}
	return pool, count, nil
}

// completePEM refuses data with something after its last complete PEM block: pem.Decode stops quietly at a
// truncated block, which would drop the end of a chain being written.
func completePEM(data []byte) error {
	rest := data
	blocks := 0
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = next
		blocks++
	}
	if blocks == 0 {
		return errors.New("no PEM data")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return fmt.Errorf("incomplete or unreadable PEM after block %d", blocks)
	}
	return nil
}
