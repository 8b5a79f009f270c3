package hmackey

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

func toKeys(keys ...string) [][]byte {
	out := make([][]byte, len(keys))
	for i, key := range keys {
		out[i] = []byte(key)
	}
	return out
}

func TestGenerate(t *testing.T) {
	formats := map[fulfillmentv1alpha1.HMACScheme]*regexp.Regexp{
		fulfillmentv1alpha1.HMACSchemeStandardWebhooks: regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`),
		fulfillmentv1alpha1.HMACSchemeGitHub:           regexp.MustCompile(`^[0-9a-f]{64}$`),
		fulfillmentv1alpha1.HMACSchemeStripe:           regexp.MustCompile(`^[0-9a-f]{64}$`),
		fulfillmentv1alpha1.HMACSchemeSlack:            regexp.MustCompile(`^[0-9a-f]{64}$`),
		fulfillmentv1alpha1.HMACSchemeShopify:          regexp.MustCompile(`^[0-9a-f]{64}$`),
		fulfillmentv1alpha1.HMACSchemeGeneric:          regexp.MustCompile(`^[0-9a-f]{64}$`),
	}
	for s, format := range formats {
		t.Run(string(s), func(t *testing.T) {
			seen := map[string]bool{}
			for range 100 {
				key, err := Generate(s)
				if err != nil {
					t.Fatal(err)
				}
				if !format.Match(key) {
					t.Fatalf("key of the wrong form (%d bytes)", len(key))
				}
				if seen[string(key)] {
					t.Fatal("the same key twice")
				}
				seen[string(key)] = true
			}
			if s == fulfillmentv1alpha1.HMACSchemeStandardWebhooks {
				key, _ := Generate(s)
				decoded, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(key), "whsec_"))
				if err != nil || len(decoded) != 32 {
					t.Fatalf("decodes to %d bytes, %v", len(decoded), err)
				}
			}
		})
	}
	if _, err := Generate("Twilio"); err == nil {
		t.Error("no error for an unknown scheme")
	}
}

func TestKeys(t *testing.T) {
	cases := map[string]struct {
		data map[string][]byte
		want []string
	}{
		"current only":   {map[string][]byte{"secret": []byte("a")}, []string{"a"}},
		"with previous":  {map[string][]byte{"secret": []byte("a\n"), "previous": []byte("b\n")}, []string{"a\n", "b\n"}},
		"empty previous": {map[string][]byte{"secret": []byte("a"), "previous": []byte(" \n")}, []string{"a"}},
		"no current":     {map[string][]byte{"previous": []byte("b")}, []string{"", "b"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Keys(tc.data)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", toKeys(tc.want...)) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
