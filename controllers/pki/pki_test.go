package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

var serviceNames = []string{"bank-bot", "bank-bot.bots", "bank-bot.bots.svc", "bank-bot.bots.svc.cluster.local"}

type pair struct{ cert, key []byte }

func newCA(t *testing.T, at time.Time, validity time.Duration) pair {
	t.Helper()
	cert, key, err := NewCA("bots/bank-bot fulfillment CA", at, validity)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return pair{cert, key}
}

func issue(t *testing.T, ca pair, names []string, at time.Time, duration time.Duration) pair {
	t.Helper()
	cert, key, err := IssueServing(ca.cert, ca.key, names, at, duration)
	if err != nil {
		t.Fatalf("IssueServing: %v", err)
	}
	return pair{cert, key}
}

func mustParse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	cert, err := parseCertificate(certPEM)
	if err != nil {
		t.Fatalf("parsing: %v", err)
	}
	return cert
}

func pemBlocks(data []byte) []string {
	var types []string
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return types
		}
		types = append(types, block.Type)
	}
}

func TestNewCA(t *testing.T) {
	tests := map[string]struct {
		commonName   string
		validity     time.Duration
		wantNotAfter time.Time
		wantErr      string
	}{
		"default validity is ten years": {
			commonName: "bots/bank-bot fulfillment CA", wantNotAfter: now.Add(10 * 365 * day),
		},
		"a given validity": {
			commonName: "ca", validity: 30 * day, wantNotAfter: now.Add(30 * day),
		},
		"a common name is required": {
			wantErr: "the CA needs a common name",
		},
		"a common name over 64 bytes is refused": {
			commonName: strings.Repeat("x", 65), wantErr: "at most 64",
		},
		"a negative validity is refused": {
			commonName: "ca", validity: -time.Hour, wantErr: "negative",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			certPEM, keyPEM, err := NewCA(tt.commonName, now, tt.validity)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewCA: %v", err)
			}
			ca := mustParse(t, certPEM)
			if ca.Subject.CommonName != tt.commonName {
				t.Errorf("common name = %q, want %q", ca.Subject.CommonName, tt.commonName)
			}
			if !ca.IsCA || !ca.BasicConstraintsValid || !ca.MaxPathLenZero || ca.MaxPathLen != 0 {
				t.Errorf("basic constraints: IsCA %v valid %v MaxPathLen %d zero %v, want a CA limited to leaves",
					ca.IsCA, ca.BasicConstraintsValid, ca.MaxPathLen, ca.MaxPathLenZero)
			}
			if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; ca.KeyUsage != want {
				t.Errorf("key usage = %b, want %b", ca.KeyUsage, want)
			}
			if err := ca.CheckSignatureFrom(ca); err != nil {
				t.Errorf("not self-signed: %v", err)
			}
			if len(ca.SubjectKeyId) == 0 {
				t.Error("no subject key identifier: issued certificates would carry no authority key identifier")
			}
			if key, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || key.Curve != elliptic.P256() {
				t.Errorf("public key %T, want ECDSA P-256", ca.PublicKey)
			}
			if !ca.NotBefore.Equal(now.Add(-ClockSkew)) || !ca.NotAfter.Equal(tt.wantNotAfter) {
				t.Errorf("validity [%s, %s], want [%s, %s]", ca.NotBefore, ca.NotAfter, now.Add(-ClockSkew), tt.wantNotAfter)
			}
			if got := pemBlocks(keyPEM); len(got) != 1 || got[0] != "PRIVATE KEY" {
				t.Errorf("key PEM blocks = %q, want one PKCS#8 PRIVATE KEY", got)
			}
			if err := CheckPair(certPEM, keyPEM); err != nil {
				t.Errorf("CheckPair: %v", err)
			}
		})
	}
}

func TestNewCAGivesDistinctKeysAndSerials(t *testing.T) {
	a, b := newCA(t, now, 0), newCA(t, now, 0)
	if bytes.Equal(a.key, b.key) {
		t.Error("two CAs share a key")
	}
	if mustParse(t, a.cert).SerialNumber.Cmp(mustParse(t, b.cert).SerialNumber) == 0 {
		t.Error("two CAs share a serial number")
	}
}

func TestIssueServing(t *testing.T) {
	ca := newCA(t, now, 0)
	shortCA := newCA(t, now, 30*day)
	otherCA := newCA(t, now, 0)
	expiredCA := newCA(t, now.Add(-2*day), day)
	leaf := issue(t, ca, serviceNames, now, 0)
	tests := map[string]struct {
		ca           pair
		names        []string
		duration     time.Duration
		wantNotAfter time.Time
		wantCN       string
		wantErr      string
	}{
		"service names, default duration": {
			ca: ca, names: serviceNames, wantNotAfter: now.Add(90 * day), wantCN: "bank-bot",
		},
		"a given duration": {
			ca: ca, names: []string{"bot.example.com"}, duration: 24 * time.Hour, wantNotAfter: now.Add(24 * time.Hour), wantCN: "bot.example.com",
		},
		"a wildcard name": {
			ca: ca, names: []string{"*.bots.example.com"}, duration: day, wantNotAfter: now.Add(day), wantCN: "*.bots.example.com",
		},
		"never outlives the CA": {
			ca: shortCA, names: serviceNames, duration: 90 * day, wantNotAfter: now.Add(30 * day), wantCN: "bank-bot",
		},
		"a first name too long for a common name leaves the subject empty": {
			ca: ca, names: []string{strings.Repeat("a", 60) + ".example.com"}, wantNotAfter: now.Add(90 * day),
		},
		"no DNS names": {
			ca: ca, wantErr: "at least one DNS name",
		},
		"an empty DNS name": {
			ca: ca, names: []string{"bank-bot", ""}, wantErr: "empty DNS name",
		},
		"a negative duration": {
			ca: ca, names: serviceNames, duration: -time.Hour, wantErr: "negative",
		},
		"an expired CA": {
			ca: expiredCA, names: serviceNames, wantErr: "expired at 2026-03-09T12:00:00Z",
		},
		"a CA certificate that is not a CA": {
			ca: leaf, names: serviceNames, wantErr: "is not a CA allowed to sign certificates",
		},
		"a CA key that is not the CA's": {
			ca: pair{ca.cert, otherCA.key}, names: serviceNames, wantErr: "the CA: the key in tls.key does not match the certificate in tls.crt",
		},
		"a CA certificate that is garbage": {
			ca: pair{[]byte("garbage"), ca.key}, names: serviceNames, wantErr: "the CA: tls.crt holds no PEM certificate",
		},
		"a CA without key": {
			ca: pair{ca.cert, nil}, names: serviceNames, wantErr: "the CA: tls.key holds no PEM private key: it is empty",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			certPEM, keyPEM, err := IssueServing(tt.ca.cert, tt.ca.key, tt.names, now, tt.duration)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("IssueServing: %v", err)
			}
			if got := pemBlocks(certPEM); len(got) != 1 || got[0] != "CERTIFICATE" {
				t.Errorf("tls.crt PEM blocks = %q, want the leaf alone", got)
			}
			if err := CheckPair(certPEM, keyPEM); err != nil {
				t.Errorf("CheckPair: %v", err)
			}
			cert := mustParse(t, certPEM)
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(tt.ca.cert)
			for _, dnsName := range tt.names {
				host := strings.Replace(dnsName, "*", "anything", 1)
				if _, err := cert.Verify(x509.VerifyOptions{
					DNSName: host, Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				}); err != nil {
					t.Errorf("Verify(%s): %v", host, err)
				}
			}
			// The same check must be able to fail, or the loop above proves nothing.
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: "elsewhere.example.com", Roots: roots, CurrentTime: now}); err == nil {
				t.Error("Verify accepted a name the certificate does not hold")
			}
			other := x509.NewCertPool()
			other.AppendCertsFromPEM(otherCA.cert)
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: tt.names[0], Roots: other, CurrentTime: now}); err == nil {
				t.Error("Verify accepted the certificate under another CA")
			}
			if cert.IsCA || cert.KeyUsage != x509.KeyUsageDigitalSignature ||
				len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
				t.Errorf("usages: IsCA %v, key usage %b, extended %v; want a leaf for digital signature and server auth",
					cert.IsCA, cert.KeyUsage, cert.ExtKeyUsage)
			}
			if !cert.NotBefore.Equal(now.Add(-ClockSkew)) || !cert.NotAfter.Equal(tt.wantNotAfter) {
				t.Errorf("validity [%s, %s], want [%s, %s]", cert.NotBefore, cert.NotAfter, now.Add(-ClockSkew), tt.wantNotAfter)
			}
			if cert.Subject.CommonName != tt.wantCN {
				t.Errorf("common name = %q, want %q", cert.Subject.CommonName, tt.wantCN)
			}
			if key, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || key.Curve != elliptic.P256() {
				t.Errorf("public key %T, want ECDSA P-256", cert.PublicKey)
			}
		})
	}
}

// TestIssueServingHandshake serves the issued certificate over a real TLS handshake, with the published CA as
// the client's only root, the way a caller uses ca.crt.
func TestIssueServingHandshake(t *testing.T) {
	ca := newCA(t, now, 0)
	leaf := issue(t, ca, serviceNames, now, 0)
	serving, err := tls.X509KeyPair(leaf.cert, leaf.key)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.cert) {
		t.Fatal("the CA certificate does not load into a pool")
	}
	clock := func() time.Time { return now.Add(time.Minute) }
	tests := map[string]struct {
		serverName string
		roots      *x509.CertPool
		wantErr    bool
	}{
		"the service's full name":     {serverName: "bank-bot.bots.svc.cluster.local", roots: roots},
		"the service's short name":    {serverName: "bank-bot.bots.svc", roots: roots},
		"a name outside the cert":     {serverName: "bank-bot.other.svc", roots: roots, wantErr: true},
		"a client without the CA":     {serverName: "bank-bot.bots.svc", roots: x509.NewCertPool(), wantErr: true},
		"the service in the same ns":  {serverName: "bank-bot", roots: roots},
		"the service across the ns":   {serverName: "bank-bot.bots", roots: roots},
		"a wildcard that is not held": {serverName: "x.bank-bot.bots.svc", roots: roots, wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			// Loopback TCP rather than net.Pipe: a pipe has no buffer, so a client writing its alert while the
			// server still writes its flight would deadlock.
			listener, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = listener.Close() }()
			done := make(chan error, 1)
			go func() {
				conn, err := listener.Accept()
				if err != nil {
					done <- err
					return
				}
				server := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{serving}, Time: clock, MinVersion: tls.VersionTLS12})
				defer func() { _ = server.Close() }()
				if err := server.Handshake(); err != nil {
					done <- err
					return
				}
				_, err = io.WriteString(server, "ok")
				done <- err
			}()
			conn, err := net.DialTimeout("tcp", listener.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			client := tls.Client(conn, &tls.Config{ServerName: tt.serverName, RootCAs: tt.roots, Time: clock, MinVersion: tls.VersionTLS12})
			defer func() { _ = client.Close() }()
			_ = client.SetDeadline(time.Now().Add(10 * time.Second))
			err = client.Handshake()
			if tt.wantErr {
				var verifyErr *tls.CertificateVerificationError
				if !errors.As(err, &verifyErr) {
					t.Fatalf("handshake error = %v, want a certificate verification error", err)
				}
				_ = client.Close()
				if err := <-done; err == nil {
					t.Error("the server completed a handshake the client refused")
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			got, err := io.ReadAll(client)
			if err != nil || string(got) != "ok" {
				t.Fatalf("read %q, %v", got, err)
			}
			if err := <-done; err != nil {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

func TestNeedsRenewal(t *testing.T) {
	ca := newCA(t, now, 0)
	otherCA := newCA(t, now, 0)
	shortCA := newCA(t, now, 30*day)
	fresh := issue(t, ca, serviceNames, now, 0)            // [now-5m, now+90d], renewal at now+60d-5m/3
	withRenewal := issue(t, ca, serviceNames, now, 90*day) // same lifetime, for an explicit renewBefore
	hourly := issue(t, ca, serviceNames, now, time.Hour)
	fromOtherCA := issue(t, otherCA, serviceNames, now, 0)
	clamped := issue(t, shortCA, serviceNames, now, 0) // ends with its CA, at now+30d

	lifetime := 90*day + ClockSkew
	defaultRenewAt := now.Add(90 * day).Add(-lifetime / 3).Truncate(time.Second)

	tests := map[string]struct {
		cert        []byte
		ca          []byte
		names       []string
		at          time.Time
		renewBefore time.Duration
		wantRenew   bool
		wantReason  string
		wantCheckAt time.Time
	}{
		"fresh": {
			cert: fresh.cert, ca: ca.cert, names: serviceNames, at: now,
			wantReason: "the serving certificate is valid until 2026-06-08T12:00:00Z, renewal at", wantCheckAt: defaultRenewAt,
		},
		"fresh, names in another order and case": {
			cert: fresh.cert, ca: ca.cert, names: []string{"Bank-Bot.bots.svc.cluster.local", "bank-bot.bots.svc", "bank-bot.bots", "bank-bot", "bank-bot"},
			at: now, wantCheckAt: defaultRenewAt,
		},
		"a second before the default renewal time (a third of the lifetime)": {
			cert: fresh.cert, ca: ca.cert, names: serviceNames, at: defaultRenewAt.Add(-time.Second), wantCheckAt: defaultRenewAt,
		},
		"at the default renewal time": {
			cert: fresh.cert, ca: ca.cert, names: serviceNames, at: defaultRenewAt,
			wantRenew: true, wantReason: "expires at 2026-06-08T12:00:00Z and was due for renewal at", wantCheckAt: defaultRenewAt,
		},
		"an explicit renewBefore": {
			cert: withRenewal.cert, ca: ca.cert, names: serviceNames, at: now, renewBefore: 7 * day,
			wantCheckAt: now.Add(83 * day),
		},
		"near expiry with an explicit renewBefore": {
			cert: withRenewal.cert, ca: ca.cert, names: serviceNames, at: now.Add(83 * day), renewBefore: 7 * day,
			wantRenew: true, wantReason: "was due for renewal at 2026-06-01T12:00:00Z", wantCheckAt: now.Add(83 * day),
		},
		"a renewBefore longer than the lifetime falls back to a third": {
			cert: hourly.cert, ca: ca.cert, names: serviceNames, at: now, renewBefore: 2 * time.Hour,
			wantCheckAt: now.Add(time.Hour).Add(-(time.Hour + ClockSkew) / 3).Truncate(time.Second),
		},
		"expired": {
			cert: fresh.cert, ca: ca.cert, names: serviceNames, at: now.Add(90 * day),
			wantRenew: true, wantReason: "the serving certificate expired at 2026-06-08T12:00:00Z", wantCheckAt: now.Add(90 * day),
		},
		"not valid yet (the clock went back)": {
			cert: fresh.cert, ca: ca.cert, names: serviceNames, at: now.Add(-time.Hour),
			wantRenew: true, wantReason: "not valid before 2026-03-10T11:55:00Z", wantCheckAt: now.Add(-time.Hour),
		},
		"wrong names": {
			cert: fresh.cert, ca: ca.cert, names: []string{"bot.example.com"}, at: now,
			wantRenew: true, wantReason: "is for DNS names [bank-bot, bank-bot.bots, bank-bot.bots.svc, bank-bot.bots.svc.cluster.local], wanted [bot.example.com]", wantCheckAt: now,
		},
		"a name missing": {
			cert: fresh.cert, ca: ca.cert, names: append([]string{"bot.example.com"}, serviceNames...), at: now,
			wantRenew: true, wantReason: "wanted [bank-bot, bank-bot.bots, bank-bot.bots.svc, bank-bot.bots.svc.cluster.local, bot.example.com]", wantCheckAt: now,
		},
		"issued by another CA": {
			cert: fromOtherCA.cert, ca: ca.cert, names: serviceNames, at: now,
			wantRenew: true, wantReason: `was not issued by the current CA "bots/bank-bot fulfillment CA"`, wantCheckAt: now,
		},
		"the CA itself in tls.crt": {
			cert: ca.cert, ca: ca.cert, names: serviceNames, at: now,
			wantRenew: true, wantReason: "is for DNS names [], wanted", wantCheckAt: now,
		},
		"missing": {
			ca: ca.cert, names: serviceNames, at: now,
			wantRenew: true, wantReason: "no serving certificate has been issued yet", wantCheckAt: now,
		},
		"garbage": {
			cert: []byte("not a certificate"), ca: ca.cert, names: serviceNames, at: now,
			wantRenew: true, wantReason: "the serving certificate is unusable: tls.crt holds no PEM certificate", wantCheckAt: now,
		},
		"a corrupt certificate block": {
			cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x01}}), ca: ca.cert, names: serviceNames, at: now,
			wantRenew: true, wantReason: "tls.crt holds a CERTIFICATE that cannot be parsed", wantCheckAt: now,
		},
		"a garbage CA": {
			cert: fresh.cert, ca: []byte("garbage"), names: serviceNames, at: now,
			wantRenew: true, wantReason: "the CA certificate is unusable: tls.crt holds no PEM certificate", wantCheckAt: now,
		},
		"ends with its CA: not renewed before it expires": {
			cert: clamped.cert, ca: shortCA.cert, names: serviceNames, at: now.Add(29 * day),
			wantReason: "when the CA expires too: the CA must be replaced", wantCheckAt: now.Add(30 * day),
		},
		"ends with its CA, expired": {
			cert: clamped.cert, ca: shortCA.cert, names: serviceNames, at: now.Add(30 * day),
			wantRenew: true, wantReason: "expired at 2026-04-09T12:00:00Z", wantCheckAt: now.Add(30 * day),
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			renew, reason, checkAt := NeedsRenewal(tt.cert, tt.ca, tt.names, tt.at, tt.renewBefore)
			if renew != tt.wantRenew {
				t.Errorf("renew = %v (%s), want %v", renew, reason, tt.wantRenew)
			}
			if !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason = %q, want one containing %q", reason, tt.wantReason)
			}
			if !checkAt.Equal(tt.wantCheckAt) {
				t.Errorf("checkAgainAt = %s, want %s", checkAt, tt.wantCheckAt)
			}
		})
	}
}

func TestCheckPair(t *testing.T) {
	ca := newCA(t, now, 0)
	leaf := issue(t, ca, serviceNames, now, 0)
	other := issue(t, ca, serviceNames, now, 0)
	sec1 := toSEC1(t, leaf.key)
	tests := map[string]struct {
		cert, key []byte
		wantErr   string
		wantIs    error
	}{
		"a matching pair":                     {cert: leaf.cert, key: leaf.key},
		"a matching pair with a SEC 1 key":    {cert: leaf.cert, key: sec1},
		"a chain in tls.crt":                  {cert: append(append([]byte{}, leaf.cert...), ca.cert...), key: leaf.key},
		"the key of another certificate":      {cert: leaf.cert, key: other.key, wantIs: ErrKeyMismatch, wantErr: "the key in tls.key does not match the certificate in tls.crt"},
		"the CA key":                          {cert: leaf.cert, key: ca.key, wantIs: ErrKeyMismatch},
		"no key":                              {cert: leaf.cert, wantIs: ErrNoKey, wantErr: "tls.key holds no PEM private key: it is empty"},
		"garbage key":                         {cert: leaf.cert, key: []byte("secret-ish"), wantIs: ErrNoKey},
		"swapped":                             {cert: leaf.key, key: leaf.cert, wantErr: "are tls.crt and tls.key swapped?"},
		"a certificate in tls.key":            {cert: leaf.cert, key: leaf.cert, wantIs: ErrNoKey, wantErr: `only ["CERTIFICATE"] blocks`},
		"a corrupt key block":                 {cert: leaf.cert, key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), wantErr: `tls.key holds a "PRIVATE KEY" PEM block that cannot be parsed`},
		"no certificate":                      {key: leaf.key, wantIs: ErrNoCertificate},
		"a chain with a corrupt second block": {cert: append(append([]byte{}, leaf.cert...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})...), key: leaf.key, wantErr: "tls.crt holds a chain whose certificate 2 cannot be parsed"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckPair(tt.cert, tt.key)
			if tt.wantErr == "" && tt.wantIs == nil {
				if err != nil {
					t.Fatalf("CheckPair: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckPair accepted the pair")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %q", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret-ish") {
				t.Errorf("error %q echoes the key", err)
			}
		})
	}
}

func toSEC1(t *testing.T, keyPEM []byte) []byte {
	t.Helper()
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func TestInspect(t *testing.T) {
	ca := newCA(t, now, 0)
	leaf := issue(t, ca, serviceNames, now, 0)
	tests := map[string]struct {
		cert    []byte
		want    Info
		wantErr string
		wantIs  error
	}{
		"a serving certificate": {
			cert: leaf.cert,
			want: Info{Subject: "CN=bank-bot", Issuer: "CN=bots/bank-bot fulfillment CA", DNSNames: serviceNames,
				NotBefore: now.Add(-ClockSkew), NotAfter: now.Add(90 * day)},
		},
		"a chain: the first certificate is described": {
			cert: append(append([]byte{}, leaf.cert...), ca.cert...),
			want: Info{Subject: "CN=bank-bot", Issuer: "CN=bots/bank-bot fulfillment CA", DNSNames: serviceNames,
				NotBefore: now.Add(-ClockSkew), NotAfter: now.Add(90 * day)},
		},
		"the CA": {
			cert: ca.cert,
			want: Info{Subject: "CN=bots/bank-bot fulfillment CA", Issuer: "CN=bots/bank-bot fulfillment CA",
				NotBefore: now.Add(-ClockSkew), NotAfter: now.Add(DefaultCAValidity), IsCA: true},
		},
		"empty":         {cert: []byte("\n"), wantIs: ErrNoCertificate, wantErr: "tls.crt holds no PEM certificate: it is empty"},
		"not PEM":       {cert: []byte("MIIB..."), wantIs: ErrNoCertificate, wantErr: "tls.crt holds no PEM certificate"},
		"a key first":   {cert: leaf.key, wantErr: `tls.crt starts with a "PRIVATE KEY" PEM block instead of a CERTIFICATE: are tls.crt and tls.key swapped?`},
		"another block": {cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}), wantErr: `starts with a "CERTIFICATE REQUEST" PEM block instead of a CERTIFICATE`},
		"corrupt DER":   {cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}), wantErr: "tls.crt holds a CERTIFICATE that cannot be parsed"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Inspect(tt.cert)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %q is not %q", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if got.Subject != tt.want.Subject || got.Issuer != tt.want.Issuer || got.IsCA != tt.want.IsCA ||
				!got.NotBefore.Equal(tt.want.NotBefore) || !got.NotAfter.Equal(tt.want.NotAfter) ||
				strings.Join(got.DNSNames, ",") != strings.Join(tt.want.DNSNames, ",") {
				t.Errorf("Inspect = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDefaultRenewBefore(t *testing.T) {
	if got := DefaultRenewBefore(DefaultDuration); got != 30*day {
		t.Errorf("DefaultRenewBefore(90d) = %s, want 720h (30 days)", got)
	}
}
