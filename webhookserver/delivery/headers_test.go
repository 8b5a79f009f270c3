package delivery

import (
	"reflect"
	"testing"
)

func TestStoredHeaders(t *testing.T) {
	for name, tc := range map[string]struct {
		in, want map[string][]string
	}{
		"nothing":          {nil, nil},
		"only credentials": {credentialHeaders, nil},
		"what the dialects read, credentials dropped": {
			in: withCredentials(&Event{Header: map[string][]string{
				"Content-Type": {"application/json"}, "Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1700000000"},
				"X-Github-Event": {"push"}, "X-Github-Delivery": {"d-1"}, "X-Github-Hook-Id": {"42"},
				"X-Shopify-Topic": {"orders/create"}, "X-Shopify-Webhook-Id": {"w-1"},
				"X-Shopify-Shop-Domain": {"shop.example"}, "X-Shopify-Api-Version": {"2025-01"},
				"User-Agent": {"GitHub-Hookshot/1"}, "X-Request-Id": {"r-1"}, "Accept": {"application/json"},
			}}).Header,
			want: map[string][]string{
				"Content-Type": {"application/json"}, "Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1700000000"},
				"X-Github-Event": {"push"}, "X-Github-Delivery": {"d-1"}, "X-Github-Hook-Id": {"42"},
				"X-Shopify-Topic": {"orders/create"}, "X-Shopify-Webhook-Id": {"w-1"},
				"X-Shopify-Shop-Domain": {"shop.example"}, "X-Shopify-Api-Version": {"2025-01"},
				"User-Agent": {"GitHub-Hookshot/1"}, "X-Request-Id": {"r-1"}, "Accept": {"application/json"},
			},
		},
		"names in any case, kept under the canonical one": {
			in:   map[string][]string{"content-type": {"text/xml"}, "AUTHORIZATION": {"Bearer x"}, "x-github-event": {"ping"}},
			want: map[string][]string{"Content-Type": {"text/xml"}, "X-Github-Event": {"ping"}},
		},
		"repeated values": {
			in:   map[string][]string{"Accept": {"a", "b"}},
			want: map[string][]string{"Accept": {"a", "b"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := StoredHeaders(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("StoredHeaders(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestStoredHeadersCopies(t *testing.T) {
	in := map[string][]string{"Content-Type": {"application/json"}}
	out := StoredHeaders(in)
	out["Content-Type"][0] = "changed"
	if in["Content-Type"][0] != "application/json" {
		t.Error("StoredHeaders shares its values with the request's headers")
	}
}
