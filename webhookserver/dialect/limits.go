package dialect

import "fmt"

// Bounds on the shape of a request, so that a hostile body or query string cannot make decoding take memory or
// stack out of proportion to its size: each value a body makes costs memory however few of its bytes it takes.
// JSON nesting is bounded by the decoder (encoding/json: 10000 levels).
const (
	// MaxXMLDepth is how deep XML elements may nest.
	MaxXMLDepth = 64
	// MaxXMLMarkup is how many tags and attributes an XML body may have, counted as its < and = characters
	// before it is decoded: encoding/xml allocates each one, hundreds of bytes for a tag of four (<a/>).
	MaxXMLMarkup = 20_000
	// MaxJSONValues is how many values (objects, arrays and scalars, at any depth) a JSON body may make: each
	// costs a hundred bytes or more decoded, from as little as two bytes of the body (1,).
	MaxJSONValues = 50_000
	// MaxJSONObjects is how many objects a JSON body may make: each is a map, hundreds of bytes from six of the
	// body ({"a":}).
	MaxJSONObjects = 10_000
	// MaxFormFields is how many fields a form body or a query string may have.
	MaxFormFields = 1000
	// MaxFormDepth is how many levels a dotted form or query field name (session.parameters.user) may nest.
	MaxFormDepth = 64
	// MaxFormObjects is how many objects the dotted names of a form or query string may make in all. Each is a
	// map of its own, hundreds of bytes for two of the body's ("a."), so that without it a form of deep
	// distinct names would cost memory far out of proportion to its size.
	MaxFormObjects = 1000
)

// CheckFieldCount refuses a form body or query string (what says which) of more than MaxFormFields fields: it
// returns nil, or the *DecodeError that says so.
func CheckFieldCount(fields int, what string) *DecodeError {
	if fields > MaxFormFields {
		return &DecodeError{Message: fmt.Sprintf("%s has %d fields, over the limit of %d", what, fields, MaxFormFields)}
	}
	return nil
}
