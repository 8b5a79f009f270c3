package auth

import (
	"encoding/base64"
	"net/http"
	"testing"
)

func TestBasicAndBearer(t *testing.T) {
	basic := NewBasic([]byte("dialogflow"), []byte("s3cret"))
	bearer := NewBearer("", []byte("tok-123"))
	custom := NewBearer("X-Webhook-Token", []byte("tok-123"))
	encode := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := map[string]struct {
		checker Checker
		header  http.Header
		reason  string
	}{
		"basic ok":             {basic, http.Header{"Authorization": {encode("dialogflow:s3cret")}}, ""},
		"basic wrong password": {basic, http.Header{"Authorization": {encode("dialogflow:s3cret!")}}, "invalid_credentials"},
		"basic wrong user":     {basic, http.Header{"Authorization": {encode("dialogflowx:s3cret")}}, "invalid_credentials"},
		"basic missing":        {basic, http.Header{}, "missing_credentials"},
		"basic not base64":     {basic, http.Header{"Authorization": {"Basic %%%"}}, "malformed_credentials"},
		"basic no colon":       {basic, http.Header{"Authorization": {encode("dialogflow")}}, "malformed_credentials"},
		"bearer ok":            {bearer, http.Header{"Authorization": {"Bearer tok-123"}}, ""},
		"bearer lower case":    {bearer, http.Header{"Authorization": {"bearer tok-123"}}, ""},
		"bearer wrong":         {bearer, http.Header{"Authorization": {"Bearer tok-124"}}, "invalid_credentials"},
		"bearer basic scheme":  {bearer, http.Header{"Authorization": {encode("a:b")}}, "missing_credentials"},
		"custom header ok":     {custom, http.Header{"X-Webhook-Token": {"tok-123"}}, ""},
		"custom header prefix": {custom, http.Header{"X-Webhook-Token": {"Bearer tok-123"}}, "invalid_credentials"},
		"custom header empty":  {custom, http.Header{}, "missing_credentials"},
		"all: one fails":       {All{basic, bearer}, http.Header{"Authorization": {"Bearer tok-123"}}, "missing_credentials"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			failure := tc.checker.Check(&Request{Header: tc.header})
			switch {
			case tc.reason == "" && failure != nil:
				t.Errorf("refused: %v", failure)
			case tc.reason != "" && failure == nil:
				t.Error("accepted")
			case tc.reason != "" && (failure.Reason != tc.reason || failure.Status != http.StatusUnauthorized):
				t.Errorf("got %d %s, want 401 %s", failure.Status, failure.Reason, tc.reason)
			}
		})
	}
}
