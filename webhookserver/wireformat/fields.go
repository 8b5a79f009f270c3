package wireformat

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// FieldsToObject turns flat fields (a form body or a query string) into the object a JSON sender would send.
// A dotted name nests: session.id=abc&session.parameters.user=ann gives {"session":{"id":"abc","parameters":
// {"user":"ann"}}}, so that the same paths work for every format. A repeated name gives an array of its values;
// every value is a string, as sent. A name with an empty segment ("a..b", ".a") stays as it is. At most
// dialect.MaxFormFields names, dialect.MaxFormDepth levels and dialect.MaxFormObjects objects: each is a map of
// its own. what names the fields' source for errors.
func FieldsToObject(values url.Values, what string) (map[string]any, error) {
	if err := dialect.CheckFieldCount(len(values), what); err != nil {
		return nil, err
	}
	fields := objectFields{object: make(map[string]any, len(values)), what: what}
	// Sorted, so that a name clash ("a" and "a.b") is reported the same way every time.
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if err := fields.set(name, fieldValue(values[name])); err != nil {
			return nil, err
		}
	}
	return fields.object, nil
}

// objectFields is an object being built from flat fields.
type objectFields struct {
	object map[string]any
	what   string // the fields' source, for errors
	// objects is how many objects dotted names have made.
	objects int
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

func (o *objectFields) set(name string, value any) error {
	if literal(name) {
		o.object[name] = value
		return nil
	}
	if depth := strings.Count(name, ".") + 1; depth > dialect.MaxFormDepth {
		return &dialect.DecodeError{Field: abbreviated(name),
			Message: fmt.Sprintf("the name nests %d levels deep, over the limit of %d", depth, dialect.MaxFormDepth)}
	}
	parent := o.object
	for rest := name; ; {
		segment, after, nested := strings.Cut(rest, ".")
		if !nested {
			if _, taken := parent[segment]; taken {
				return fieldClash(name, name)
			}
			parent[segment] = value
			return nil
		}
		switch child := parent[segment].(type) {
		case nil:
			if o.objects++; o.objects > dialect.MaxFormObjects {
				return &dialect.DecodeError{Message: fmt.Sprintf("the dotted names of %s make more than %d objects, the limit",
					o.what, dialect.MaxFormObjects)}
			}
			nested := map[string]any{}
			parent[segment] = nested
			parent = nested
		case map[string]any:
			parent = child
		default:
			return fieldClash(name, name[:len(name)-len(after)-1])
		}
		rest = after
	}
}

// literal says whether name has an empty segment ("a..b", ".a", "a."), which keeps it from nesting.
func literal(name string) bool {
	return name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..")
}

// maxNameInError is how much of a field name an error repeats: a name may be as long as the body.
const maxNameInError = 64

// abbreviated is name cut to maxNameInError bytes for an error message.
func abbreviated(name string) string {
	if len(name) <= maxNameInError {
		return name
	}
	return strings.ToValidUTF8(name[:maxNameInError], "") + "..."
}

func fieldClash(name, holder string) error {
	return &dialect.DecodeError{Field: abbreviated(name),
		Message: fmt.Sprintf("%q is set both as a value and as an object", abbreviated(holder))}
}
