package action

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing"
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

// forbidden says whether ip is a link-local or metadata address that allowed does not exempt. The address is
// judged without its IPv6 zone (fe80::1%eth0) and IPv4-mapped form, since a prefix never contains a zoned
// address and the zone changes only the interface, not where the connection goes.
func forbidden(ip netip.Addr, allowed []netip.Prefix) bool {
	ip = ip.WithZone("").Unmap()
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

// ErrRedirectRefused is returned when an upstream's redirect is not followed.
var ErrRedirectRefused = errors.New("redirect not followed")

// maxRedirects is how many redirects a call or forward follows.
const maxRedirects = 5

// NewClient returns the HTTP client of outbound calls: connections are pooled and reused, every connection is
// checked after DNS resolution against link-local and metadata addresses (except those in allowed, an explicit
// exemption such as a link-local service you run), and redirects are followed only to the same host and never
// from https to http (checkRedirect). The request context bounds every call.
func NewClient(allowed ...netip.Prefix) *http.Client {
	return newClient(nil, allowed)
}

// newClient is NewClient with the TLS settings tlsConfig (nil: the system's roots, no client certificate).
func newClient(tlsConfig *tls.Config, allowed []netip.Prefix) *http.Client {
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
			if ip := addrPort.Addr(); forbidden(ip, allowed) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // upstreams are reached directly; a proxy would hide the address check
		TLSClientConfig:       tlsConfig,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	// Each request made in a traced request's context gets a client span and carries its traceparent.
	return &http.Client{Transport: tracing.Transport(transport), CheckRedirect: checkRedirect}
}

// checkRedirect follows a redirect only to the host the route names, and never from https to http, where
// the request and its answer would travel in clear.
func checkRedirect(req *http.Request, via []*http.Request) error {
	previous := via[len(via)-1]
	switch {
	case len(via) > maxRedirects:
		return fmt.Errorf("%w: more than %d redirects", ErrRedirectRefused, maxRedirects)
	case req.URL.Host != via[0].URL.Host:
		return fmt.Errorf("%w: redirect to another host (%s) refused", ErrRedirectRefused, req.URL.Host)
	case previous.URL.Scheme == "https" && req.URL.Scheme != "https":
		return fmt.Errorf("%w: redirect from https to %s refused: the request would leave TLS; make the upstream "+
			"redirect to https, or call the target URL", ErrRedirectRefused, req.URL.Scheme)
	}
	return nil
}

// withoutRedirects returns a client that shares c's connections and follows no redirect, for a call that
// carries credentials: they are meant for the URL the route names, and a redirect chosen by the upstream's
// answer (a moved path, an open redirect) must not receive them.
func withoutRedirects(c *http.Client) *http.Client {
	noRedirects := *c
	noRedirects.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return fmt.Errorf("%w: the call carries credentials (a header from a Secret, or %s), which are sent "+
			"to the route's URL only; call the redirect's target directly", ErrRedirectRefused, strings.Join(credentialHeaders, ", "))
	}
	return &noRedirects
}

// credentialHeaders are the headers whose value is a credential whatever its source (as Go's client treats
// them when a redirect changes host).
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// carriesCredentials tells whether a call sends a credential: a header read from a Secret or one of
// credentialHeaders, however its value is written.
func carriesCredentials(headers []routespec.Header) bool {
	for _, h := range headers {
		if h.Value == nil || slices.ContainsFunc(credentialHeaders, func(name string) bool { return strings.EqualFold(name, h.Name) }) {
			return true
		}
	}
	return false
}

// refused tells whether err is the outbound guard refusing a connection or redirect: a decision, not a fault
// of the upstream, so it is neither retried nor counted against the upstream's health.
func refused(err error) bool {
	return errors.Is(err, ErrForbiddenAddress) || errors.Is(err, ErrRedirectRefused)
}

// Upstreams are what call and forward actions use to reach upstreams: an HTTP client (its connection pool),
// the circuit breakers, and the route's OAuth2 tokens.
type Upstreams struct {
	Client   *http.Client
	Breakers *Breakers
	// Tokens obtains the access token each request carries; nil without auth.oauth2.
	Tokens *Tokens
}

// NewUpstreams are the upstreams of a route's call or forward with its auth and tls settings: a guarded client
// of its own, and its token source (sharing the token of its grant in tokens), which reaches the token endpoint through the same guard and tls settings
// (but the token endpoint's own server name) and follows no redirect with the client's credentials.
func NewUpstreams(route string, outbound routespec.Outbound, allowed []netip.Prefix, breakers *Breakers, tokens *TokenStore, observe TokenFetchObserver) Upstreams {
	upstreams := Upstreams{Client: newClient(outboundTLSConfig(outbound.TLS, true), allowed), Breakers: breakers}
	if outbound.OAuth2 != nil {
		tokenClient := withoutRedirects(newClient(outboundTLSConfig(outbound.TLS, false), allowed))
		upstreams.Tokens = NewTokens(route, outbound.OAuth2, tokenClient, observe, tokens)
	}
	return upstreams
}

// outboundTLSConfig is the client TLS configuration of settings, nil without any; withServerName applies
// serverName, which names the upstream, not the token endpoint. Certificates are always verified.
func outboundTLSConfig(settings *routespec.TLS, withServerName bool) *tls.Config {
	if settings == nil {
		return nil
	}
	config := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: settings.RootCAs}
	if withServerName {
		config.ServerName = settings.ServerName
	}
	if cert := settings.ClientCertificate; cert != nil {
		// Sent whenever the server asks, whatever CAs it names: Certificates would be withheld from a server that
		// lists only an intermediate's issuer, and the upstream's refusal says more than a missing certificate.
		config.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return config
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
