package dialogflow

import "testing"

func TestEnvironment(t *testing.T) {
	tests := map[string]struct {
		session, want string
	}{
		"ES draft":              {"projects/p/agent/sessions/s1", Draft},
		"ES environment":        {"projects/p/agent/environments/production/users/-/sessions/s1", "production"},
		"ES regional":           {"projects/p/locations/europe-west1/agent/environments/test/users/u/sessions/s", "test"},
		"CX draft":              {"projects/p/locations/global/agents/a/sessions/s1", Draft},
		"CX environment":        {"projects/p/locations/global/agents/a/environments/6f1c0a1e-1f9d-4c3b-9a55-0c0e8f1b2a3d/sessions/s1", "6f1c0a1e-1f9d-4c3b-9a55-0c0e8f1b2a3d"},
		"session id says so":    {"projects/p/agent/sessions/environments/x", Draft},
		"no session":            {"", ""},
		"not a session name":    {"projects/p/agent/environments/production", ""},
		"empty environment":     {"projects/p/agent/environments//users/u/sessions/s", ""},
		"hostile environment":   {"projects/p/agent/environments/pro\nduction/users/u/sessions/s", ""},
		"environment too long":  {"projects/p/agent/environments/" + string(make([]byte, 200)) + "/sessions/s", ""},
		"environments is last":  {"projects/p/agent/environments/sessions/s", ""},
		"environment then user": {"projects/p/agent/environments/e.1_x/users/u/sessions/s", "e.1_x"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Environment(tc.session); got != tc.want {
				t.Errorf("Environment(%q) = %q, want %q", tc.session, got, tc.want)
			}
		})
	}
}
