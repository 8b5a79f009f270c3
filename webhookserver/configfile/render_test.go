package configfile

import (
	"strings"
	"testing"
)

// The operator's ConfigMap, and the hash that rolls its pods, must change only when the content does: the order
// the endpoints, routes and pods were listed in must not show.
func TestRenderIsDeterministic(t *testing.T) {
	file := &File{
		Endpoints: []Endpoint{
			{Name: "b", Namespace: "bots", Routes: []Route{{Name: "z"}, {Name: "a"}}},
			{Name: "a", Namespace: "bots"},
		},
		DrainPods: []string{"pod-2", "pod-1"},
	}
	reversed := &File{
		Endpoints: []Endpoint{
			{Name: "a", Namespace: "bots"},
			{Name: "b", Namespace: "bots", Routes: []Route{{Name: "a"}, {Name: "z"}}},
		},
		DrainPods: []string{"pod-1", "pod-2"},
	}
	got, err := Render(file)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Render(reversed)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("the order shows:\n%s\nvs\n%s", got, want)
	}
	for _, line := range []string{"apiVersion: " + APIVersion, "kind: " + Kind} {
		if !strings.Contains(string(got), line) {
			t.Errorf("no %q in\n%s", line, got)
		}
	}
	if file.Endpoints[0].Name != "b" || file.Endpoints[0].Routes[0].Name != "z" || file.DrainPods[0] != "pod-2" {
		t.Error("Render sorted the caller's file")
	}
}
