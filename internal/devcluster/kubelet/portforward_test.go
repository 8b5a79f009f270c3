package kubelet

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster/proc"
)

// TestPortForward forwards a local port to a pod's container port through the kubelet API, with client-go's
// port-forward as kubectl and the API server's proxy speak it, and gets the pod's answer.
func TestPortForward(t *testing.T) {
	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "from the pod") }))
	defer pod.Close()
	podPort := pod.Listener.Addr().(*net.TCPAddr).Port

	k := New(Config{})
	k.workers["uid-1"] = &worker{k: k, namespace: "bots", name: "bank-bot-0", uid: "uid-1", ip: loopback,
		containers: []*container{{ports: map[int32]int{8080: podPort}, cmd: &proc.Process{}}}}
	listener, err := listenAPI()
	if err != nil {
		t.Fatal(err)
	}
	api := &http.Server{Handler: k.apiHandler(), ReadHeaderTimeout: time.Second}
	go func() { _ = api.Serve(listener) }()
	defer api.Close()

	forward := func(podName string) (string, error) {
		config := &rest.Config{Host: "https://" + listener.Addr().String(), TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
		transport, upgrader, err := spdy.RoundTripperFor(config)
		if err != nil {
			return "", err
		}
		target := &url.URL{Scheme: "https", Host: listener.Addr().String(), Path: "/portForward/bots/" + podName}
		dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, target)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ready := make(chan struct{})
		forwarder, err := portforward.NewOnAddressesWithContext(ctx, dialer, []string{loopback}, []string{"0:8080"}, ready, io.Discard, io.Discard)
		if err != nil {
			return "", err
		}
		failed := make(chan error, 1)
		go func() { failed <- forwarder.ForwardPorts() }()
		select {
		case <-ready:
		case err := <-failed:
			return "", err
		}
		ports, err := forwarder.GetPorts()
		if err != nil {
			return "", err
		}
		resp, err := http.Get(fmt.Sprintf("http://%s:%d/", loopback, ports[0].Local))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	if got, err := forward("bank-bot-0"); err != nil || got != "from the pod" {
		t.Errorf("through the port-forward: %q, %v", got, err)
	}
	if _, err := forward("no-such-pod"); err == nil {
		t.Error("a port-forward to a pod the node does not run succeeded")
	}
}
