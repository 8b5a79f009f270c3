// Package serviceproxy gives every Service port of the dev cluster a loopback address, as kube-proxy gives it
// a cluster IP: connections are spread round-robin over the ready pods behind it, at the TCP level, so HTTPS
// and mTLS reach the pods unchanged. An address, once given, stays the same while the Service exists.
package serviceproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Backends are the ready addresses of the pods selector selects in namespace, at targetPort.
type Backends func(namespace string, selector labels.Selector, targetPort intstr.IntOrString) []string

// Proxy listens for every Service port with a selector.
type Proxy struct {
	client   kubernetes.Interface
	backends Backends
	log      *slog.Logger

	mu        sync.Mutex
	listeners map[portKey]*servicePort
}

type portKey struct {
	service types.NamespacedName
	port    string // the port's name, or its number when unnamed
}

type servicePort struct {
	listener net.Listener
	number   int32
	mu       sync.Mutex
	// selector and targetPort follow the Service's updates.
	selector   labels.Selector
	targetPort intstr.IntOrString
	next       atomic.Uint64
}

// New returns a proxy that finds pods with backends.
func New(client kubernetes.Interface, backends Backends, log *slog.Logger) *Proxy {
	return &Proxy{client: client, backends: backends, log: log, listeners: map[portKey]*servicePort{}}
}

// Run follows Services until ctx ends, then closes every listener.
func (p *Proxy) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(p.client, 0)
	services := factory.Core().V1().Services()
	if _, err := services.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.update(ctx, obj) },
		UpdateFunc: func(_, obj any) { p.update(ctx, obj) },
		DeleteFunc: p.remove,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, port := range p.listeners {
		_ = port.listener.Close()
		delete(p.listeners, key)
	}
	return nil
}

// Address is the loopback address of a Service's port, by the port's number, once listening.
func (p *Proxy) Address(service types.NamespacedName, port int32) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, sp := range p.listeners {
		if key.service == service && sp.number == port {
			return sp.listener.Addr().String(), true
		}
	}
	return "", false
}

func (p *Proxy) update(ctx context.Context, obj any) {
	service, ok := obj.(*corev1.Service)
	if !ok || len(service.Spec.Selector) == 0 || ctx.Err() != nil {
		return
	}
	name := types.NamespacedName{Namespace: service.Namespace, Name: service.Name}
	selector := labels.SelectorFromSet(service.Spec.Selector)
	p.mu.Lock()
	defer p.mu.Unlock()
	wanted := map[portKey]bool{}
	for _, port := range service.Spec.Ports {
		if port.Protocol != "" && port.Protocol != corev1.ProtocolTCP {
			continue
		}
		key := portKey{service: name, port: port.Name}
		if key.port == "" {
			key.port = fmt.Sprint(port.Port)
		}
		wanted[key] = true
		targetPort := port.TargetPort
		if targetPort.Type == intstr.Int && targetPort.IntVal == 0 {
			targetPort = intstr.FromInt32(port.Port)
		}
		if existing, ok := p.listeners[key]; ok {
			existing.number = port.Port
			existing.mu.Lock()
			existing.selector, existing.targetPort = selector, targetPort
			existing.mu.Unlock()
			continue
		}
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			p.log.Error("listening for a Service", "service", name, "port", key.port, "error", err)
			continue
		}
		sp := &servicePort{listener: listener, number: port.Port, selector: selector, targetPort: targetPort}
		p.listeners[key] = sp
		go p.serve(name, sp)
	}
	for key, sp := range p.listeners {
		if key.service == name && !wanted[key] {
			_ = sp.listener.Close()
			delete(p.listeners, key)
		}
	}
}

func (p *Proxy) remove(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	service, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, sp := range p.listeners {
		if key.service.Namespace == service.Namespace && key.service.Name == service.Name {
			_ = sp.listener.Close()
			delete(p.listeners, key)
		}
	}
}

// serve accepts connections until the listener closes.
func (p *Proxy) serve(service types.NamespacedName, sp *servicePort) {
	for {
		conn, err := sp.listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.log.Error("accepting for a Service", "service", service, "error", err)
			}
			return
		}
		go p.forward(service, sp, conn)
	}
}

// dialTimeout bounds a connection to one backend; the next ready backend is tried after it.
const dialTimeout = 2 * time.Second

// forward connects conn to the next ready backend, trying each once, and copies both ways until both sides
// are done. With no ready backend the connection is closed, as a Service without endpoints refuses.
func (p *Proxy) forward(service types.NamespacedName, sp *servicePort, conn net.Conn) {
	defer func() { _ = conn.Close() }()
	sp.mu.Lock()
	selector, targetPort := sp.selector, sp.targetPort
	sp.mu.Unlock()
	backends := p.backends(service.Namespace, selector, targetPort)
	var upstream net.Conn
	for range backends {
		address := backends[int(sp.next.Add(1)%uint64(len(backends)))]
		var err error
		if upstream, err = net.DialTimeout("tcp", address, dialTimeout); err == nil {
			break
		}
	}
	if upstream == nil {
		return
	}
	defer func() { _ = upstream.Close() }()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(upstream, conn)
		closeWrite(upstream)
		close(done)
	}()
	_, _ = io.Copy(conn, upstream)
	closeWrite(conn)
	<-done
}

func closeWrite(conn net.Conn) {
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
}
