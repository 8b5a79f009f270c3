package action

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// maxUpstreamBodyBytes bounds what is read of an upstream answer, so that a misbehaving upstream cannot
// exhaust memory.
const maxUpstreamBodyBytes = 1 << 20

// metadataAddresses are cloud instance metadata services: credentials live there, so a call that reaches one
// (by a crafted URL, DNS name or redirect) is server-side request forgery.
var metadataAddresses = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local, with 169.254.169.254 (AWS, GCP, Azure...)
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS IPv6 metadata
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
}

// forbidden says whether ip is a link-local or metadata address that allowed does not exempt.
func forbidden(ip netip.Addr, allowed []netip.Prefix) bool {
	for _, prefix := range allowed {
		if prefix.Contains(ip) {
			return false
		}
	}
	for _, prefix := range metadataAddresses {
		if prefix.Contains(ip) {
			return true
		}
	}
	return false
}

// ErrForbiddenAddress is returned when an outbound connection would reach a link-local or metadata address.
var ErrForbiddenAddress = errors.New("outbound connection to a link-local or cloud metadata address refused")

// NewClient returns the HTTP client of outbound calls: connections are pooled and reused, every connection is
// checked after DNS resolution against link-local and metadata addresses (except those in allowed, an explicit
// exemption such as a link-local service you run), and redirects to another host are refused. The request
// context bounds every call.
func NewClient(allowed ...netip.Prefix) *http.Client {
	dialer := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		// Control runs on the resolved address of every connection, redirects included, so a DNS name that
		// resolves to a metadata address is refused too.
		Control: func(_, address string, _ syscall.RawConn) error {
			addrPort, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			if ip := addrPort.Addr().Unmap(); forbidden(ip, allowed) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // upstreams are reached directly; a proxy would hide the address check
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			if req.URL.Host != via[0].URL.Host {
				return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
			}
			return nil
		},
	}
}

// Upstreams are what call and forward actions use to reach upstreams: an HTTP client (its connection pool)
// and the circuit breakers.
type Upstreams struct {
	Client   *http.Client
	Breakers *Breakers
}

// ParseAllowedCIDRs parses the exemptions from the outbound address check.
func ParseAllowedCIDRs(cidrs []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(cidrs))
	for _, cidr := range cidrs {
		prefix, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR: %w", cidr, err)
		}
		prefixes = append(prefixes, prefix.Masked())
	}
	return prefixes, nil
}

// upstreamOf is the scheme://host:port a URL reaches: what a circuit breaker guards.
func upstreamOf(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	return u.Scheme + "://" + u.Host
}

// remaining is the time left before ctx's deadline, or fallback when it has none.
func remaining(ctx context.Context, fallback time.Duration) time.Duration {
	if deadline, ok := ctx.Deadline(); ok {
		return time.Until(deadline)
	}
	return fallback
}
