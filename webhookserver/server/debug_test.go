package server

import (
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
)

// The route is named only to a request that asks, on an endpoint that authenticates.
func TestDebugRoute(t *testing.T) {
	s, _ := stageServer(t)
	outcome := &endpoint.Outcome{Status: http.StatusOK, Route: "greet"}
	for name, tc := range map[string]struct {
		path  string
		debug []string
		want  string
	}{
		"asked, authenticated":           {"/bearer", []string{"route"}, "default/greet"},
		"asked in a list, any case":      {"/bearer", []string{"explain, Route"}, "default/greet"},
		"asked in a second header":       {"/bearer", []string{"other", "route"}, "default/greet"},
		"not asked":                      {"/bearer", nil, ""},
		"asked for something else":       {"/bearer", []string{"routes"}, ""},
		"asked, endpoint open to anyone": {"/open", []string{"route"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			request := http.Header{DebugHeader: tc.debug}
			answer := http.Header{}
			if asksFor(request, DebugRoute) {
				debugRoute(answer, entryAt(t, s, tc.path), outcome)
			}
			if got := answer.Get(RouteHeader); got != tc.want || len(answer) > 1 {
				t.Errorf("%s: %q (headers %v), want %q", RouteHeader, got, answer, tc.want)
			}
		})
	}
	answer := http.Header{}
	debugRoute(answer, entryAt(t, s, "/bearer"), &endpoint.Outcome{Status: http.StatusOK, Fallback: endpoint.FallbackNoRoute})
	if len(answer) != 0 {
		t.Errorf("a fallback with no route named one: %v", answer)
	}
}
