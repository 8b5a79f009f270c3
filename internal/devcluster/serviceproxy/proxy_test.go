package serviceproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
)

func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The proxy follows a Service: an address per port, connections spread over the ready backends of the
// selector and target port, refused without backends, closed with the Service.
func TestProxyFollowsTheService(t *testing.T) {
	var backends []string
	for i := range 2 {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "pod-%d", i) }))
		t.Cleanup(server.Close)
		backends = append(backends, strings.TrimPrefix(server.URL, "http://"))
	}
	var mu sync.Mutex
	ready := backends
	find := func(namespace string, selector labels.Selector, targetPort intstr.IntOrString) []string {
		mu.Lock()
		defer mu.Unlock()
		if namespace != "bots" || !selector.Matches(labels.Set{"app": "bot"}) || targetPort.String() != "webhook" {
			t.Errorf("backends asked for %s %s %s", namespace, selector, targetPort.String())
		}
		return ready
	}
	client := fake.NewClientset()
	proxy := New(client, find, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- proxy.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	service := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "bots", Name: "bot"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "bot"},
		Ports:    []corev1.ServicePort{{Name: "webhook", Port: 80, TargetPort: intstr.FromString("webhook")}},
	}}
	if _, err := client.CoreV1().Services("bots").Create(ctx, service, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name := types.NamespacedName{Namespace: "bots", Name: "bot"}
	var address string
	waitFor(t, "the Service's address", func() bool {
		var ok bool
		address, ok = proxy.Address(name, 80)
		return ok
	})
	if _, ok := proxy.Address(name, 81); ok {
		t.Errorf("an address for a port the Service does not have")
	}

	seen := map[string]int{}
	for range 6 {
		// A new connection each time: the proxy balances connections, not requests.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		response, err := client.Get("http://" + address)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(response.Body)
		_ = response.Body.Close()
		seen[string(body)]++
	}
	if seen["pod-0"] != 3 || seen["pod-1"] != 3 {
		t.Errorf("answers %v, want 3 from each pod", seen)
	}

	mu.Lock()
	ready = nil
	mu.Unlock()
	conn, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("without ready pods: read %d bytes, %v; want the connection closed", n, err)
	}
	_ = conn.Close()

	if err := client.CoreV1().Services("bots").Delete(ctx, "bot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the address released", func() bool { _, ok := proxy.Address(name, 80); return !ok })
	if conn, err := net.DialTimeout("tcp", address, time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("the deleted Service's address still accepts connections")
	}
}
