package redact

import "bytes"

// needle is a text to search for by its rarest byte: a search by its first byte stops at every occurrence of
// that byte, and in a log line a secret's first letter is often a common one.
type needle struct {
	text string
	rare int // where in text its rarest byte is
}

func newNeedle(text string) needle {
	n := needle{text: text}
	for i := range len(text) {
		if commonness[text[i]] < commonness[text[n.rare]] {
			n.rare = i
		}
	}
	return n
}

// in reports whether text occurs in line.
func (n *needle) in(line []byte) bool {
	c := n.text[n.rare]
	for start, last := 0, len(line)-len(n.text); start <= last; start++ {
		found := bytes.IndexByte(line[start+n.rare:last+n.rare+1], c)
		if found < 0 {
			return false
		}
		start += found
		if string(line[start:start+len(n.text)]) == n.text {
			return true
		}
	}
	return false
}

// commonness ranks bytes by how often they are found in a JSON log line, 0 the least often: JSON's own
// punctuation and digits (times, numbers, ids) first, then lower-case letters by their frequency in English,
// then upper-case ones; other punctuation and bytes are the rarest.
var commonness = func() (rank [256]byte) {
	const byFrequency = `":,{}0123456789-./_ etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLCUMWFGYPBVKJXQZ`
	for i := range len(byFrequency) {
		rank[byFrequency[i]] = byte(len(byFrequency) - i)
	}
	return rank
}()
