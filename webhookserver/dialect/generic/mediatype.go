package generic

import (
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

type bodyFormat int

const (
	unsupportedBody bodyFormat = iota
	jsonBody
	formBody
	xmlBody
)

// supportedMediaTypes is what the 415 error offers the sender.
var supportedMediaTypes = []string{
	"application/json", "application/*+json", "application/x-www-form-urlencoded", "application/xml", "text/xml", "application/*+xml",
}

// formatOf reads the Content-Type header without allocating. A request without one is read as JSON, what nearly
// every webhook sender sends; if it is not JSON, the decode error says so.
func formatOf(contentType string) (bodyFormat, string) {
	mediaType := dialect.MediaType(contentType)
	switch {
	case mediaType == "", dialect.IsJSON(mediaType):
		return jsonBody, mediaType
	case strings.EqualFold(mediaType, "application/x-www-form-urlencoded"):
		return formBody, mediaType
	case strings.EqualFold(mediaType, "application/xml"),
		strings.EqualFold(mediaType, "text/xml"),
		dialect.HasSuffixFold(mediaType, "+xml"):
		return xmlBody, mediaType
	}
	return unsupportedBody, mediaType
}
