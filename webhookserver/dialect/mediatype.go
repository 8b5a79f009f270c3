package dialect

import "strings"

// jsonMediaTypes is what the 415 error of a dialect that reads only JSON offers the sender.
var jsonMediaTypes = []string{"application/json", "application/*+json"}

// MediaType is the media type of a Content-Type value, without its parameters (charset...).
func MediaType(contentType string) string {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.TrimSpace(mediaType)
}

// IsJSON says whether mediaType is JSON: application/json or a structured syntax suffix such as
// application/cloudevents+json.
func IsJSON(mediaType string) bool {
	return strings.EqualFold(mediaType, "application/json") || HasSuffixFold(mediaType, "+json")
}

// HasSuffixFold says whether s ends with suffix, ignoring case, and has more before it.
func HasSuffixFold(s, suffix string) bool {
	return len(s) > len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// CheckJSONContentType refuses a body whose Content-Type names another format than JSON, for the dialects that
// read only JSON (Dialogflow ES and CX, Rasa): the sender must change its configuration, so it gets a 415 that
// says what to send rather than a 400 about the body. A request without a Content-Type is read as JSON, as
// Generic reads it.
func CheckJSONContentType(contentType string) error {
	mediaType := MediaType(contentType)
	if mediaType == "" || IsJSON(mediaType) {
		return nil
	}
	return &UnsupportedMediaTypeError{MediaType: mediaType, Supported: jsonMediaTypes}
}
