package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// IPAllowlist admits only clients from the allowed networks. The client is the TCP peer, unless the peer is a
// trusted proxy: then X-Forwarded-For is read from the right, skipping trusted proxies, so that a client cannot
// choose its own address by sending the header itself.
type IPAllowlist struct {
	allowed []netip.Prefix
	clients ClientAddresses
}

// NewIPAllowlist parses the CIDRs.
func NewIPAllowlist(cidrs, trustedProxies []string) (*IPAllowlist, error) {
	allowed, err := parsePrefixes(cidrs)
	if err != nil {
		return nil, fmt.Errorf("cidrs: %w", err)
	}
	clients, err := NewClientAddresses(trustedProxies)
	if err != nil {
		return nil, err
	}
	return &IPAllowlist{allowed: allowed, clients: clients}, nil
}

// Clients finds client addresses as the allowlist does.
func (l *IPAllowlist) Clients() ClientAddresses { return l.clients }

func parsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(cidrs))
	for _, cidr := range cidrs {
		prefix, err := netip.ParsePrefix(strings.TrimSpace(cidr))
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, prefix.Masked())
	}
	return prefixes, nil
}

// Check implements Checker.
func (l *IPAllowlist) Check(r *Request) *Failure {
	client, ok := l.clients.Of(r)
	if !ok {
		return &Failure{Status: http.StatusForbidden, Method: "ip", Reason: "unknown_client_address"}
	}
	if !contains(l.allowed, client) {
		return &Failure{Status: http.StatusForbidden, Method: "ip", Reason: "address_not_allowed"}
	}
	return nil
}

// ClientAddresses finds the address of a request's client: the TCP peer, or, when the peer is a trusted proxy,
// the first address of X-Forwarded-For from the right that is not one. The zero value trusts no proxy.
type ClientAddresses struct {
	trusted []netip.Prefix
}

// NewClientAddresses trusts the X-Forwarded-For of the proxies in trustedProxies (CIDRs).
func NewClientAddresses(trustedProxies []string) (ClientAddresses, error) {
	trusted, err := parsePrefixes(trustedProxies)
	if err != nil {
		return ClientAddresses{}, fmt.Errorf("trustedProxies: %w", err)
	}
	return ClientAddresses{trusted: trusted}, nil
}

// Of is the client address of r; false when the peer or a forwarded address is not an IP address.
func (c ClientAddresses) Of(r *Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	client := peer.Unmap()
	if !contains(c.trusted, client) {
		return client, true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false
		}
		client = hop.Unmap()
		if !contains(c.trusted, client) {
			return client, true
		}
	}
	return client, true // every hop is a trusted proxy: the request started inside
}

func contains(prefixes []netip.Prefix, addr netip.Addr) bool {
	for _, prefix := range prefixes {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}
