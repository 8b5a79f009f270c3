package routespec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// FallbackWarnings are the problems of a fallback that compiles but may not render: each template of it that
// reads a value a request may lack (params.account without has()), at field (e.g. spec.fallback). when is the
// route's match.when, whose has() tests hold whenever the route answers; "" for an endpoint's fallback. A
// fallback that fails to render is not answered (the next one is), so these are warnings: the server logs them
// when it loads, the operator writes them in the route's Accepted message.
func FallbackWarnings(env *expr.Env, spec *fulfillmentv1alpha1.Fallback, when, field string) []string {
	if spec == nil {
		return nil
	}
	var warnings []string
	if reads := env.UnguardedReads(spec.Text, when); len(reads) > 0 {
		warnings = append(warnings, unguardedWarning(field+".text", reads))
	}
	if spec.Payload == nil || len(spec.Payload.Raw) == 0 {
		return warnings
	}
	var payload any
	if err := utiljson.Unmarshal(spec.Payload.Raw, &payload); err != nil {
		return warnings // compiling reports it
	}
	for _, s := range templateStrings(payload, field+".payload") {
		if reads := env.UnguardedReads(s.text, when); len(reads) > 0 {
			warnings = append(warnings, unguardedWarning(s.path, reads))
		}
	}
	return warnings
}

func unguardedWarning(field string, reads []string) string {
	return fmt.Sprintf("%s reads %s, which a request may lack: this fallback then cannot render and the next one "+
		"is answered (the endpoint's, else an empty answer); test it with has() or read it as optional "+
		"(%s)", field, strings.Join(reads, ", "), optionalRead(reads[0]))
}

// optionalRead is how to read key (params.account) as an optional value with a default: params.?account, or
// request.headers[?"x-id"] for a name that is no identifier.
func optionalRead(key string) string {
	m, name, _ := strings.Cut(key, ".")
	if m == "request" { // request.body.order: the map is request.body
		field, rest, _ := strings.Cut(name, ".")
		m, name = m+"."+field, rest
	}
	if isIdentifier(name) {
		return m + ".?" + name + `.orValue("")`
	}
	return m + `[?` + strconv.Quote(name) + `].orValue("")`
}

// isIdentifier: CEL's identifiers are [_a-zA-Z][_a-zA-Z0-9]*.
func isIdentifier(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return name != ""
}

// templateString is a string of a JSON value, at its path.
type templateString struct{ path, text string }

// templateStrings are the strings of a decoded JSON value with their paths, map keys in order.
func templateStrings(value any, path string) []templateString {
	switch v := value.(type) {
	case string:
		return []templateString{{path, v}}
	case []any:
		var out []templateString
		for i, item := range v {
			out = append(out, templateStrings(item, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(v))
		for key := range v {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		var out []templateString
		for _, key := range keys {
			out = append(out, templateStrings(v[key], path+"."+key)...)
		}
		return out
	}
	return nil
}
