package server

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestFailingClientsBudget(t *testing.T) {
	clients := newFailingClients()
	now := time.Unix(1_700_000_000, 0)
	guesser, platform := netip.MustParseAddr("203.0.113.66"), netip.MustParseAddr("198.51.100.7")
	for i := range failureBurst {
		if ok, _ := clients.allow(guesser, "", now); !ok {
			t.Fatalf("refused after %d failures, want %d allowed", i, failureBurst)
		}
		clients.fail(guesser, "", now)
	}
	ok, retryAfter := clients.allow(guesser, "", now)
	if ok || retryAfter != int(failureInterval/time.Second) {
		t.Errorf("over the budget: allow = %v, retry after %ds; want refused, retry after %v", ok, retryAfter, failureInterval)
	}
	if ok, _ := clients.allow(guesser, "", now); ok {
		t.Error("asking again made room: allow must spend nothing")
	}
	if ok, _ := clients.allow(platform, "", now); !ok {
		t.Error("another address is refused for the guesser's failures")
	}
	later := now.Add(failureInterval)
	if ok, _ := clients.allow(guesser, "", later); !ok {
		t.Errorf("refused %v later, when one more failure is allowed", failureInterval)
	}
	clients.fail(guesser, "", later)
	if ok, _ := clients.allow(guesser, "", later); ok {
		t.Error("allowed again right after the failure the refill made room for")
	}
}

// An IPv6 client is usually given a /64: its addresses share one budget.
func TestFailingClientsShareTheBudgetOfAnIPv6Network(t *testing.T) {
	clients := newFailingClients()
	now := time.Unix(1_700_000_000, 0)
	for i := range failureBurst {
		clients.fail(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}), "", now)
	}
	if ok, _ := clients.allow(netip.MustParseAddr("2001:db8::ffff"), "", now); ok {
		t.Error("a new address of the same /64 has a fresh budget")
	}
	if ok, _ := clients.allow(netip.MustParseAddr("2001:db8:0:1::1"), "", now); !ok {
		t.Error("another /64 is refused")
	}
}

// The addresses remembered are bounded: past the bound, the one that failed least recently is forgotten.
func TestFailingClientsAreBounded(t *testing.T) {
	clients := newFailingClients()
	now := time.Unix(1_700_000_000, 0)
	first := netip.MustParseAddr("10.0.0.1")
	for range failureBurst {
		clients.fail(first, "", now)
	}
	for i := range maxFailingClients {
		clients.fail(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), "", now)
	}
	if n := clients.buckets.Len(); n != maxFailingClients {
		t.Errorf("%d addresses remembered, want at most %d", n, maxFailingClients)
	}
	if ok, _ := clients.allow(first, "", now); !ok {
		t.Error("the address that failed least recently is still remembered past the bound")
	}
}

// TestKnownCredentialsPassAnAddressOverItsBudget: behind an ingress every client has its address. A guesser's
// flood puts it over its budget; the platform's credential, which authenticated before, is still let through to
// be checked, a new guess is not, and a credential that stops authenticating is forgotten.
func TestKnownCredentialsPassAnAddressOverItsBudget(t *testing.T) {
	clients := newFailingClients()
	ingress := netip.MustParseAddr("10.0.0.7")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const platform = "Bearer the-platform-token"
	clients.succeed(platform)
	for i := 0; i < failureBurst; i++ {
		clients.fail(ingress, fmt.Sprintf("Bearer guess-%d", i), now)
	}
	if ok, _ := clients.allow(ingress, "Bearer guess-next", now); ok {
		t.Fatal("a new guess from an address over its budget was let through")
	}
	if ok, _ := clients.allow(ingress, "", now); ok {
		t.Fatal("a request without a credential from an address over its budget was let through")
	}
	if ok, _ := clients.allow(ingress, platform, now); !ok {
		t.Fatal("the platform's known credential was refused with the guesser's address")
	}
	clients.succeed(platform) // its next request: nothing to hash again, still known
	if ok, _ := clients.allow(ingress, platform, now); !ok {
		t.Fatal("the platform's credential was forgotten after a second success")
	}
	clients.fail(ingress, platform, now) // rotated away: it no longer authenticates
	if ok, _ := clients.allow(ingress, platform, now); ok {
		t.Error("a credential that failed is still let through an address over its budget")
	}
	if ok, _ := clients.allow(ingress, "Bearer guess-0", now); ok {
		t.Error("a guess that failed is let through")
	}
	clients.succeed(platform) // authenticates again: the failure forgot it as the last credential too
	if ok, _ := clients.allow(ingress, platform, now); !ok {
		t.Error("a credential that failed, then authenticated again, is not known")
	}
}

// TestBudgetsOutliveAReload: a reload (a rotated Secret, a route edit) keeps an endpoint's budgets of
// authentication failures, so a flooding address gets no fresh budget from it.
func TestBudgetsOutliveAReload(t *testing.T) {
	flooded := newFailingClients()
	previous := &snapshot{byPath: map[string]*served{"/events": {name: "default/events", failures: flooded}}}
	if got := previous.failuresOf("default/events"); got != flooded {
		t.Error("a reload gave the endpoint new budgets")
	}
	if got := previous.failuresOf("default/other"); got == flooded || got == nil {
		t.Error("another endpoint got the first one's budgets")
	}
	if got := (*snapshot)(nil).failuresOf("default/events"); got == nil {
		t.Error("the first load has no budgets")
	}
}
