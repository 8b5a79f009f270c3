package generic

import (
	"strconv"
	"strings"
)

// answerFormat is the format of an answer: the request's own for XML, JSON otherwise, unless Accept asks for
// another.
type answerFormat uint8

const (
	jsonAnswer    answerFormat = iota // the zero value: JSON is the default
	xmlAnswer                         // application/xml
	textXMLAnswer                     // text/xml: the same document, for the senders that name XML so
	formAnswer                        // application/x-www-form-urlencoded
)

// contentType is the Content-Type of an answer in format.
func (f answerFormat) contentType() string {
	switch f {
	case xmlAnswer:
		return "application/xml; charset=utf-8"
	case textXMLAnswer:
		return "text/xml; charset=utf-8"
	case formAnswer:
		return "application/x-www-form-urlencoded"
	}
	return "application/json"
}

// offer is a format an answer can take and its media type, as Accept names it.
type offer struct {
	format    answerFormat
	mediaType string
}

var (
	jsonOffer    = offer{jsonAnswer, "application/json"}
	xmlOffer     = offer{xmlAnswer, "application/xml"}
	textXMLOffer = offer{textXMLAnswer, "text/xml"}
	formOffer    = offer{formAnswer, "application/x-www-form-urlencoded"}
)

// The offers in the order of preference, which breaks a tie between media types Accept weighs the same (*/*):
// a caller that sent XML reads XML, and every other caller JSON.
var (
	jsonFirst    = []offer{jsonOffer, xmlOffer, textXMLOffer, formOffer}
	xmlFirst     = []offer{xmlOffer, textXMLOffer, jsonOffer, formOffer}
	textXMLFirst = []offer{textXMLOffer, xmlOffer, jsonOffer, formOffer}
)

// maxAcceptRanges is how many media ranges of an Accept header are read: real clients send a handful, and a
// hostile header may hold thousands.
const maxAcceptRanges = 32

// negotiate is the format of the answer to a request whose body was in the format body (with mediaType), given
// its Accept header. Accept is honoured with its q-values (RFC 9110, section 12.5.1): the offer of the highest
// weight wins, the most specific range deciding an offer's weight, and ties go to the request's own format. An
// Accept that refuses every offer is ignored rather than answered 406: a legacy sender that cannot read the
// answer still wants its event processed, and the error would not be readable either.
func negotiate(body bodyFormat, mediaType, accept string) answerFormat {
	offers := jsonFirst
	if body == xmlBody {
		offers = xmlFirst
		if strings.EqualFold(mediaType, "text/xml") {
			offers = textXMLFirst
		}
	}
	if strings.TrimSpace(accept) == "" {
		return offers[0].format
	}
	ranges := parseAccept(accept)
	best, bestQ := offers[0].format, 0
	for _, o := range offers {
		if q := weight(ranges, o.mediaType); q > bestQ {
			best, bestQ = o.format, q
		}
	}
	return best
}

// mediaRange is one range of an Accept header: type/subtype, either of which may be *, and its weight in
// thousandths.
type mediaRange struct {
	typ, subtype string
	q            int
}

// parseAccept reads up to maxAcceptRanges ranges of accept; a malformed range is skipped, as a client that
// wrote it meant nothing a server can read.
func parseAccept(accept string) []mediaRange {
	ranges := make([]mediaRange, 0, 4)
	for part := range strings.SplitSeq(accept, ",") {
		if len(ranges) == maxAcceptRanges {
			break
		}
		mediaType, params, _ := strings.Cut(part, ";")
		typ, subtype, ok := strings.Cut(strings.TrimSpace(mediaType), "/")
		if !ok || typ == "" || subtype == "" || (typ == "*" && subtype != "*") {
			continue
		}
		r := mediaRange{typ: strings.ToLower(typ), subtype: strings.ToLower(subtype), q: 1000}
		for param := range strings.SplitSeq(params, ";") {
			name, value, _ := strings.Cut(param, "=")
			if strings.EqualFold(strings.TrimSpace(name), "q") {
				r.q = qValue(strings.TrimSpace(value))
			}
		}
		if r.q >= 0 {
			ranges = append(ranges, r)
		}
	}
	return ranges
}

// qValue is a q-value in thousandths ("0.5" is 500), or -1 when it is not one (0 to 1, at most three decimals).
func qValue(value string) int {
	if len(value) > 5 {
		return -1
	}
	q, err := strconv.ParseFloat(value, 64)
	if err != nil || q < 0 || q > 1 {
		return -1
	}
	return int(q*1000 + 0.5)
}

// weight is the weight Accept gives mediaType: that of the most specific range that matches it (type/subtype,
// then type/*, then */*), or 0 when none does.
func weight(ranges []mediaRange, mediaType string) int {
	typ, subtype, _ := strings.Cut(mediaType, "/")
	q, specificity := 0, -1
	for _, r := range ranges {
		s := -1
		switch {
		case r.typ == typ && r.subtype == subtype:
			s = 2
		case r.typ == typ && r.subtype == "*":
			s = 1
		case r.typ == "*":
			s = 0
		}
		if s > specificity || (s == specificity && s >= 0 && r.q > q) {
			q, specificity = r.q, s
		}
	}
	return q
}
