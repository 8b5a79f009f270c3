package kubelet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/portforward"
)

// The kubelet API, reduced to port-forwarding: the API server proxies pods/portforward (kubectl port-forward,
// webhookserver send) to the node's kubelet, found at the node's InternalIP (the dev API server is told to
// prefer it) and status.daemonEndpoints.kubeletEndpoint.port. Streams are served by the kubelet's own code
// (k8s.io/cri-streaming), and each forwarded connection is dialled to the pod's address.

const (
	// portForwardIdleTimeout and portForwardStreamTimeout are a kubelet's defaults.
	portForwardIdleTimeout   = 4 * time.Hour
	portForwardStreamTimeout = 30 * time.Second
)

// listenAPI listens on a free loopback port with a certificate of its own. The API server checks no kubelet
// certificate when it is given no CA (--kubelet-certificate-authority), as in the dev control plane.
func listenAPI() (net.Listener, error) {
	certificate, err := selfSignedCertificate()
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return nil, fmt.Errorf("kubelet: listening for the kubelet API: %w", err)
	}
	return tls.NewListener(listener, &tls.Config{Certificates: []tls.Certificate{certificate}, MinVersion: tls.VersionTLS12}), nil
}

func selfSignedCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dev-local kubelet"},
		IPAddresses: []net.IP{net.ParseIP(loopback)}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// apiHandler serves /portForward/<namespace>/<pod>[/<uid>], as a kubelet does.
func (k *Kubelet) apiHandler() http.Handler {
	mux := http.NewServeMux()
	serve := func(w http.ResponseWriter, r *http.Request) {
		worker := k.worker(r.PathValue("namespace"), r.PathValue("pod"))
		if worker == nil {
			http.Error(w, "no such pod runs on this node", http.StatusNotFound)
			return
		}
		portforward.ServePortForward(w, r, worker, worker.name, string(worker.uid), &portforward.V4Options{},
			portForwardIdleTimeout, portForwardStreamTimeout, []string{portforward.ProtocolV1Name})
	}
	mux.HandleFunc("/portForward/{namespace}/{pod}", serve)
	mux.HandleFunc("/portForward/{namespace}/{pod}/{uid}", serve)
	return mux
}

// worker is the running pod namespace/name, or nil.
func (k *Kubelet) worker(namespace, name string) *worker {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, w := range k.workers {
		if w.namespace == namespace && w.name == name {
			return w
		}
	}
	return nil
}

// PortForward implements portforward.PortForwarder: it copies between stream and the pod's port.
func (w *worker) PortForward(ctx context.Context, _ string, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	address, ok := w.portAddress(port)
	if !ok {
		return fmt.Errorf("pod %s/%s does not listen on port %d", w.namespace, w.name, port)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", address)
	if err != nil {
		return fmt.Errorf("pod %s/%s port %d: %w", w.namespace, w.name, port, err)
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, stream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, conn); done <- struct{}{} }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// portAddress is where the pod's container port listens on the host.
func (w *worker) portAddress(port int32) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.containers {
		if local, ok := c.ports[port]; ok && c.cmd != nil {
			return net.JoinHostPort(w.ip, strconv.Itoa(local)), true
		}
	}
	return "", false
}
