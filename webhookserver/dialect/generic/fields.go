package generic

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// fieldsToObject turns flat fields (a form body or a query string) into the object a JSON sender would send.
// A dotted name nests: session.id=abc&session.parameters.user=ann gives {"session":{"id":"abc","parameters":
// {"user":"ann"}}}, so that the same paths work for every format. A repeated name gives an array of its values;
// every value is a string, as sent. A name with an empty segment ("a..b", ".a") stays as it is.
func fieldsToObject(values url.Values) (map[string]any, error) {
	object := make(map[string]any, len(values))
	// Sorted, so that a name clash ("a" and "a.b") is reported the same way every time.
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if err := setField(object, name, fieldValue(values[name])); err != nil {
			return nil, err
		}
	}
	return object, nil
}

func fieldValue(values []string) any {
	if len(values) == 1 {
		return values[0]
	}
	list := make([]any, len(values))
	for i, value := range values {
		list[i] = value
	}
	return list
}

func setField(object map[string]any, name string, value any) error {
	segments := strings.Split(name, ".")
	if slices.Contains(segments, "") {
		object[name] = value
		return nil
	}
	parent := object
	for i, segment := range segments[:len(segments)-1] {
		switch child := parent[segment].(type) {
		case nil:
			nested := map[string]any{}
			parent[segment] = nested
			parent = nested
		case map[string]any:
			parent = child
		default:
			return fieldClash(name, strings.Join(segments[:i+1], "."))
		}
	}
	last := segments[len(segments)-1]
	if _, taken := parent[last]; taken {
		return fieldClash(name, name)
	}
	parent[last] = value
	return nil
}

func fieldClash(name, holder string) error {
	return &dialect.DecodeError{Field: name,
		Message: fmt.Sprintf("%q is set both as a value and as an object", holder)}
}
