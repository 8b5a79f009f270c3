package generic

import "strings"

type bodyFormat int

const (
	unsupportedBody bodyFormat = iota
	jsonBody
	formBody
	xmlBody
)

// supportedMediaTypes is what the 415 error offers the sender.
var supportedMediaTypes = []string{
	"application/json", "application/*+json", "application/x-www-form-urlencoded", "application/xml", "text/xml",
}

// formatOf reads the Content-Type header without allocating. A request without one is read as JSON, what nearly
// every webhook sender sends; if it is not JSON, the decode error says so.
func formatOf(contentType string) (bodyFormat, string) {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(mediaType)
	switch {
	case mediaType == "",
		strings.EqualFold(mediaType, "application/json"),
		hasSuffixFold(mediaType, "+json"):
		return jsonBody, mediaType
	case strings.EqualFold(mediaType, "application/x-www-form-urlencoded"):
		return formBody, mediaType
	case strings.EqualFold(mediaType, "application/xml"),
		strings.EqualFold(mediaType, "text/xml"),
		hasSuffixFold(mediaType, "+xml"):
		return xmlBody, mediaType
	}
	return unsupportedBody, mediaType
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) > len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
