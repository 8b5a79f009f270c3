package dialogflow

import "strings"

// Draft is the environment of a session outside every environment: the agent's draft, as the console tests it.
const Draft = "draft"

// maxEnvironmentLen bounds an environment id read from a session name; Dialogflow's ids are far shorter.
const maxEnvironmentLen = 128

// Environment is the environment of a session name: E in ES's projects/P/agent/environments/E/users/U/sessions/S
// and CX's projects/P/locations/L/agents/A/environments/E/sessions/S, "draft" for a session in none. Only the
// segment after "environments" and before "sessions" counts, so that a session id that happens to read
// "environments" names nothing. An id that is empty, too long or not an id's characters gives "": such a session
// selects only routes that list no environment.
func Environment(session string) string {
	head, _, found := strings.Cut(session, "/sessions/")
	if !found {
		return ""
	}
	segments := strings.Split(head, "/")
	for i, segment := range segments {
		if segment == "environments" {
			if i+1 < len(segments) && validID(segments[i+1]) {
				return segments[i+1]
			}
			return ""
		}
	}
	return Draft
}

// validID accepts the characters of Dialogflow resource ids (ES environment names, CX UUIDs).
func validID(id string) bool {
	if id == "" || len(id) > maxEnvironmentLen {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
