package auth

import (
	"net/http"
	"testing"
)

func TestIPAllowlist(t *testing.T) {
	list, err := NewIPAllowlist([]string{"10.0.0.0/8", "2001:db8::/32"}, []string{"192.168.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		remote string
		xff    []string
		reason string
	}{
		"allowed peer":                      {"10.1.2.3:5555", nil, ""},
		"allowed IPv6 peer":                 {"[2001:db8::1]:443", nil, ""},
		"IPv4-mapped IPv6 peer":             {"[::ffff:10.0.0.1]:1", nil, ""},
		"peer not allowed":                  {"203.0.113.7:5555", nil, "address_not_allowed"},
		"header from an untrusted peer":     {"203.0.113.7:5555", []string{"10.0.0.1"}, "address_not_allowed"},
		"allowed client via trusted proxy":  {"192.168.1.10:80", []string{"10.9.9.9"}, ""},
		"spoofed first hop via proxy":       {"192.168.1.10:80", []string{"10.0.0.1, 203.0.113.9"}, "address_not_allowed"},
		"several trusted proxies":           {"192.168.1.10:80", []string{"10.2.2.2, 192.168.1.11"}, ""},
		"garbage in the header":             {"192.168.1.10:80", []string{"not-an-ip"}, "unknown_client_address"},
		"disallowed client via the proxy":   {"192.168.1.10:80", []string{"203.0.113.9"}, "address_not_allowed"},
		"address without a port":            {"10.0.0.5", nil, ""},
		"an unparsable peer is not allowed": {"somewhere", nil, "unknown_client_address"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			header := http.Header{}
			for _, v := range tc.xff {
				header.Add("X-Forwarded-For", v)
			}
			failure := list.Check(&Request{Header: header, RemoteAddr: tc.remote})
			switch {
			case tc.reason == "" && failure != nil:
				t.Errorf("refused: %v", failure)
			case tc.reason != "" && failure == nil:
				t.Error("admitted")
			case tc.reason != "" && (failure.Reason != tc.reason || failure.Status != http.StatusForbidden):
				t.Errorf("got %d %s, want 403 %s", failure.Status, failure.Reason, tc.reason)
			}
		})
	}
}
