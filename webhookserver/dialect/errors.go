package dialect

import (
	"fmt"
	"strings"
)

// UnsupportedMediaTypeError is a request body in a format the dialect does not read; the server answers 415
// with it. It is a type of its own, not a DecodeError, because the sender has to change its configuration rather
// than its payload.
type UnsupportedMediaTypeError struct {
	// MediaType is the media type the request declared, without parameters; empty when it sent none.
	MediaType string
	// Supported lists the media types the dialect reads, for the error message.
	Supported []string
}

func (e *UnsupportedMediaTypeError) Error() string {
	return fmt.Sprintf("unsupported content type %q; send one of %s", e.MediaType, strings.Join(e.Supported, ", "))
}
