package tlsconfig_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tlsconfig/tlstest"
)

// secretFiles are the keys of a mounted kubernetes.io/tls Secret plus the client CA bundle.
func secretFiles(server *tlstest.Cert, clientCA []byte) map[string][]byte {
	return map[string][]byte{"tls.crt": server.CertPEM, "tls.key": server.KeyPEM, "ca.crt": clientCA}
}

func newReloader(t *testing.T, dir *tlstest.SecretDir, clientAuth tls.ClientAuthType, opts ...func(*tlsconfig.Options)) *tlsconfig.Reloader {
	t.Helper()
	o := tlsconfig.Options{
		CertFile: dir.Path("tls.crt"), KeyFile: dir.Path("tls.key"), ClientCAFile: dir.Path("ca.crt"),
		ClientAuth: clientAuth, Interval: 10 * time.Millisecond,
	}
	for _, opt := range opts {
		opt(&o)
	}
	r, err := tlsconfig.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// serve serves handler over TLS with config the way webhookserver does, and returns the base URL.
func serve(t *testing.T, config *tls.Config, handler http.Handler) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := &http.Server{
		Handler: handler, TLSConfig: config, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0), // handshake failures are expected in these tests
	}
	go func() { _ = server.ServeTLS(listener, "", "") }()
	t.Cleanup(func() { _ = server.Close() })
	return "https://" + listener.Addr().String()
}

// mtlsHandler answers 200 after the endpoint's client certificate check, or the failure's status and reason.
func mtlsHandler(checker auth.Checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := auth.WithConnectionState(r.Context(), r.TLS)
		if failure := auth.CheckContext(ctx, checker, &auth.Request{Header: r.Header}); failure != nil {
			http.Error(w, failure.Reason, failure.Status)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
}

func client(roots *x509.CertPool, cert *tlstest.Cert, keepAlive, http2 bool) *http.Client {
	config := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		config.Certificates = []tls.Certificate{cert.TLS}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: config, DisableKeepAlives: !keepAlive, ForceAttemptHTTP2: http2,
	}}
}

// get returns the status and body, or the error.
func get(c *http.Client, url string) (int, string, *tls.ConnectionState, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), resp.TLS, err
}

func TestMutualTLSAnswersWithReasons(t *testing.T) {
	serverCA, clientCA, otherCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA"), tlstest.NewCA(t, "unrelated CA")
	dir := tlstest.NewSecretDir(t, secretFiles(serverCA.ServerCert(t), clientCA.PEM))
	reloader := newReloader(t, dir, tls.RequestClientCert)
	checker, err := auth.NewMTLS(&fulfillmentv1alpha1.ClientAuth{
		Mode: fulfillmentv1alpha1.ClientAuthRequire, AllowedSubjects: []string{"dialogflow-client"},
	}, nil, auth.WithMTLSRoots(reloader.ClientCAs))
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, reloader.TLSConfig(), mtlsHandler(checker))

	foreign := otherCA.Issue(t, tlstest.Options{CommonName: "dialogflow-client", Client: true})
	cases := map[string]struct {
		cert   *tlstest.Cert
		always bool // present the certificate whatever CAs the server lists, as a platform with one certificate does
		status int
		body   string
	}{
		"valid client certificate": {clientCA.Issue(t, tlstest.Options{CommonName: "dialogflow-client", Client: true}), false, 200, "ok"},
		"no client certificate":    {nil, false, 401, "missing_client_certificate"},
		// The handshake lists the client CAs; a client that honors the list has nothing to send.
		"certificate of another CA, client honors the CA list": {foreign, false, 401, "missing_client_certificate"},
		"certificate of another CA, always presented":          {foreign, true, 401, "untrusted_client_certificate"},
		"subject not allowed":                                  {clientCA.Issue(t, tlstest.Options{CommonName: "intruder", Client: true}), false, 403, "subject_not_allowed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := client(serverCA.Pool(), tc.cert, false, false)
			if tc.always {
				config := c.Transport.(*http.Transport).TLSClientConfig
				config.Certificates = nil
				config.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tc.cert.TLS, nil }
			}
			status, body, state, err := get(c, url)
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.status || body != tc.body {
				t.Errorf("got %d %q, want %d %q", status, body, tc.status, tc.body)
			}
			if state.Version < tls.VersionTLS12 {
				t.Errorf("TLS version %x", state.Version)
			}
		})
	}

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		c := client(serverCA.Pool(), nil, false, false)
		c.Transport.(*http.Transport).TLSClientConfig.MinVersion = tls.VersionTLS10
		c.Transport.(*http.Transport).TLSClientConfig.MaxVersion = tls.VersionTLS11
		if _, _, _, err := get(c, url); err == nil {
			t.Error("a TLS 1.1 client was served")
		}
	})
}

func TestHandshakeVerificationFollowsTheCABundle(t *testing.T) {
	serverCA, clientCA, nextCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA"), tlstest.NewCA(t, "next client CA")
	server := serverCA.ServerCert(t)
	dir := tlstest.NewSecretDir(t, secretFiles(server, clientCA.PEM))
	reloader := newReloader(t, dir, tls.RequireAndVerifyClientCert)
	url := serve(t, reloader.TLSConfig(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	current := clientCA.Issue(t, tlstest.Options{CommonName: "a", Client: true})
	next := nextCA.Issue(t, tlstest.Options{CommonName: "a", Client: true})

	expect := func(cert *tlstest.Cert, ok bool) {
		t.Helper()
		status, _, _, err := get(client(serverCA.Pool(), cert, false, false), url)
		if ok && (err != nil || status != 200) {
			t.Errorf("refused: %d %v", status, err)
		}
		if !ok && err == nil {
			t.Errorf("served with status %d, want a handshake failure", status)
		}
	}
	expect(current, true)
	expect(nil, false)
	expect(next, false)

	dir.Write(t, secretFiles(server, nextCA.PEM)) // the client CA is rotated
	if changed, err := reloader.Reload(); !changed || err != nil {
		t.Fatalf("reload: %v %v", changed, err)
	}
	expect(next, true)
	expect(current, false)
	if n := reloader.Info().ClientCAs; n != 1 {
		t.Errorf("client CAs %d", n)
	}
}

func TestBadFilesKeepTheCurrentCertificate(t *testing.T) {
	ca := tlstest.NewCA(t, "server CA")
	first, second := ca.ServerCert(t), ca.ServerCert(t)
	intermediate := ca.IntermediateCA(t, "intermediate")
	chained := intermediate.ServerCert(t)
	expired := ca.Issue(t, tlstest.Options{CommonName: "localhost", Server: true, NotAfter: time.Now().Add(-time.Minute)})
	dir := tlstest.NewSecretDir(t, secretFiles(first, ca.PEM))
	var reported []string
	var reloads []tlsconfig.Info
	reloader := newReloader(t, dir, tls.RequestClientCert, func(o *tlsconfig.Options) {
		o.OnError = func(err error) { reported = append(reported, err.Error()) }
		o.OnReload = func(info tlsconfig.Info) { reloads = append(reloads, info) }
	})
	if got := reloader.NotAfter(); !got.Equal(first.Leaf.NotAfter) {
		t.Errorf("NotAfter %v, want %v", got, first.Leaf.NotAfter)
	}

	cases := map[string]struct {
		files map[string][]byte
		error string
	}{
		"key of another certificate": {map[string][]byte{"tls.crt": second.CertPEM, "tls.key": first.KeyPEM, "ca.crt": ca.PEM}, "private key does not match"},
		"chain cut mid-certificate": {
			map[string][]byte{"tls.crt": chained.CertPEM[:len(chained.CertPEM)-100], "tls.key": chained.KeyPEM, "ca.crt": ca.PEM}, "incomplete",
		},
		"empty key":            {map[string][]byte{"tls.crt": second.CertPEM, "tls.key": nil, "ca.crt": ca.PEM}, "no PEM data"},
		"key missing":          {map[string][]byte{"tls.crt": second.CertPEM, "ca.crt": ca.PEM}, "reading the key"},
		"expired certificate":  {secretFiles(expired, ca.PEM), "expired"},
		"client CA bundle key": {map[string][]byte{"tls.crt": second.CertPEM, "tls.key": second.KeyPEM, "ca.crt": second.KeyPEM}, "not a CERTIFICATE"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reported = nil
			dir.Write(t, tc.files) // "key missing": tls.key now links to nothing, as after a Secret lost the key
			for look := 1; look <= 3; look++ {
				changed, err := reloader.Reload()
				if changed || err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("look %d: changed %v, error %v; want an error with %q", look, changed, err, tc.error)
				}
				if reloader.Info().Serial.Cmp(first.Leaf.SerialNumber) != 0 {
					t.Fatal("the certificate was replaced")
				}
				if look == 1 && len(reported) != 0 {
					t.Errorf("reported at the first look, when it may still be a write in progress: %q", reported)
				}
			}
			// Seen once it may be a write in progress; seen again it is reported, once.
			if len(reported) != 1 || !strings.Contains(reported[0], tc.error) {
				t.Errorf("reported %q", reported)
			}
			dir.Write(t, secretFiles(first, ca.PEM))
			if _, err := reloader.Reload(); err != nil {
				t.Fatal(err)
			}
		})
	}

	reloads = nil
	dir.Write(t, secretFiles(chained, ca.PEM))
	if changed, err := reloader.Reload(); !changed || err != nil {
		t.Fatalf("a good chain: %v %v", changed, err)
	}
	if len(reloads) != 1 || reloads[0].Serial.Cmp(chained.Leaf.SerialNumber) != 0 || !reloader.NotAfter().Equal(chained.Leaf.NotAfter) {
		t.Errorf("OnReload %v, NotAfter %v", reloads, reloader.NotAfter())
	}
	if changed, err := reloader.Reload(); changed || err != nil {
		t.Errorf("unchanged files: %v %v", changed, err)
	}
}

func TestNewNeedsAUsableCertificate(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	a, b := ca.ServerCert(t), ca.ServerCert(t)
	for name, files := range map[string]map[string][]byte{
		"mismatched pair": {"tls.crt": a.CertPEM, "tls.key": b.KeyPEM, "ca.crt": ca.PEM},
		"no key":          {"tls.crt": a.CertPEM, "ca.crt": ca.PEM},
		"no client CA":    {"tls.crt": a.CertPEM, "tls.key": a.KeyPEM},
	} {
		dir := tlstest.NewSecretDir(t, files)
		_, err := tlsconfig.New(tlsconfig.Options{CertFile: dir.Path("tls.crt"), KeyFile: dir.Path("tls.key"), ClientCAFile: dir.Path("ca.crt")})
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := tlsconfig.New(tlsconfig.Options{}); err == nil {
		t.Error("no files: accepted")
	}
	dir := tlstest.NewSecretDir(t, map[string][]byte{"tls.crt": a.CertPEM, "tls.key": a.KeyPEM})
	if _, err := tlsconfig.New(tlsconfig.Options{
		CertFile: dir.Path("tls.crt"), KeyFile: dir.Path("tls.key"), ClientAuth: tls.RequireAndVerifyClientCert,
	}); err == nil {
		t.Error("handshake verification without a client CA file (the system roots): accepted")
	}
}

// TestRotationUnderLoad swaps the serving certificate several times, the way the kubelet updates a mounted
// Secret, while clients send requests over new and kept-alive connections (HTTP/1.1 and HTTP/2) with client
// certificates. No request may fail, and new connections must see each new certificate.
func TestRotationUnderLoad(t *testing.T) {
	serverCA, clientCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA")
	dir := tlstest.NewSecretDir(t, secretFiles(serverCA.ServerCert(t), clientCA.PEM))
	var reportedErrors atomic.Int32
	var lastError atomic.Value
	installed := make(chan time.Time, 16)
	reloader := newReloader(t, dir, tls.RequestClientCert, func(o *tlsconfig.Options) {
		o.OnError = func(err error) { reportedErrors.Add(1); lastError.Store(err.Error()) }
		o.OnReload = func(tlsconfig.Info) { installed <- time.Now() }
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go reloader.Run(ctx)
	checker, err := auth.NewMTLS(&fulfillmentv1alpha1.ClientAuth{
		Mode: fulfillmentv1alpha1.ClientAuthRequire, AllowedSubjects: []string{"dialogflow-client"},
	}, clientCA.PEM)
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, reloader.TLSConfig(), mtlsHandler(checker))
	clientCert := clientCA.Issue(t, tlstest.Options{CommonName: "dialogflow-client", Client: true})

	var (
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		requests atomic.Int64
		mu       sync.Mutex
		failures []string
		seen     = map[string]bool{} // serials seen by new connections
		protos   = map[string]bool{}
	)
	load := func(keepAlive, http2 bool) {
		defer wg.Done()
		c := client(serverCA.Pool(), clientCert, keepAlive, http2)
		defer c.CloseIdleConnections()
		for {
			select {
			case <-stop:
				return
			default:
			}
			status, body, state, err := get(c, url)
			requests.Add(1)
			mu.Lock()
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case status != 200:
				failures = append(failures, fmt.Sprintf("%d %s", status, body))
			default:
				protos[state.NegotiatedProtocol] = true
				if !keepAlive {
					seen[state.PeerCertificates[0].SerialNumber.String()] = true
				}
			}
			mu.Unlock()
		}
	}
	for i := range 6 {
		wg.Add(1)
		// Three over new connections (HTTP/1.1), three over kept-alive ones (HTTP/1.1, HTTP/2, HTTP/2).
		go load(i >= 3, i >= 4)
	}

	// servedSerial is the serial a new connection sees.
	servedSerial := func() *big.Int {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{
			RootCAs: serverCA.Pool(), Certificates: []tls.Certificate{clientCert.TLS}, MinVersion: tls.VersionTLS12,
		})
		if err != nil {
			t.Errorf("dial: %v", err)
			return nil
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber
	}
	waitForSerial := func(want *big.Int) time.Duration {
		start := time.Now()
		for {
			if got := servedSerial(); got != nil && got.Cmp(want) == 0 {
				return time.Since(start)
			}
			if time.Since(start) > 3*time.Second {
				t.Fatalf("new connections still do not see certificate %v after 3s", want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	const rotations = 6
	rotated := []string{}
	var slowestInstall, slowestVisible time.Duration
	for i := range rotations {
		time.Sleep(100 * time.Millisecond) // let load run on the current certificate
		next := serverCA.ServerCert(t)
		if i == rotations/2 {
			// A broken update in the middle: the key of another certificate. The current one keeps serving.
			before := reloader.Info().Serial
			dir.Write(t, map[string][]byte{"tls.crt": next.CertPEM, "tls.key": serverCA.ServerCert(t).KeyPEM, "ca.crt": clientCA.PEM})
			time.Sleep(100 * time.Millisecond)
			if got := servedSerial(); got == nil || got.Cmp(before) != 0 {
				t.Errorf("after a broken update new connections see %v, want the current %v", got, before)
			}
			if n := reportedErrors.Load(); n != 1 {
				t.Errorf("broken update reported %d times, want 1 (last: %v)", n, lastError.Load())
			}
		}
		written := time.Now()
		dir.Write(t, secretFiles(next, clientCA.PEM))
		visibleAfter := waitForSerial(next.Leaf.SerialNumber)
		select {
		case at := <-installed:
			slowestInstall = max(slowestInstall, at.Sub(written))
		case <-time.After(time.Second):
			t.Fatal("OnReload was not called")
		}
		slowestVisible = max(slowestVisible, visibleAfter)
		rotated = append(rotated, next.Leaf.SerialNumber.String())
		if !reloader.NotAfter().Equal(next.Leaf.NotAfter) {
			t.Errorf("NotAfter %v, want %v", reloader.NotAfter(), next.Leaf.NotAfter)
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()

	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed during rotation, first: %s", len(failures), requests.Load(), failures[0])
	}
	for _, serial := range rotated {
		if !seen[serial] {
			t.Errorf("no request over a new connection saw certificate %s", serial)
		}
	}
	if !protos["h2"] || !protos[""] { // HTTP/1.1 clients of net/http offer no ALPN: ""
		t.Errorf("negotiated protocols %v, want h2 and HTTP/1.1", protos)
	}
	if n := reportedErrors.Load(); n != 1 {
		t.Errorf("%d errors reported, want only the broken update's (last: %v)", n, lastError.Load())
	}
	t.Logf("%d requests, %d failed, over %d rotations; new connections saw %d certificates; slowest install %v after the "+
		"swap (interval 10ms), slowest seen by a new connection %v; protocols %v", requests.Load(), len(failures), rotations,
		len(seen), slowestInstall.Round(time.Millisecond), slowestVisible.Round(time.Millisecond), protos)
}
