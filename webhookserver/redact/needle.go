package redact

import (
	"bytes"
	"encoding/binary"
)

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

// indexAbove is how many needles are searched one by one; more are searched in one pass over the line
// (needleIndex): a pod of a gateway holds the secrets of hundreds of endpoints, and one search per secret per
// line would cost more than the request.
const indexAbove = 8

// needleIndex finds whether any of many needles, each at least 4 bytes long, occurs in a line, in one pass:
// each 4-byte window of the line is looked up first in a bitset of the needles' key windows (a miss is one
// multiplication and one load), then, on a hit, among the needles keyed by it. Each needle is keyed by the
// window of its own that the fewest other needles have, so that secrets sharing a prefix ("whsec_", or an
// endpoint's name) do not all land on one key that a line holding that prefix would hit.
type needleIndex struct {
	bits  [1 << 16 / 64]uint64
	byKey map[uint32][]keyedNeedle
}

// keyedNeedle is a needle and where in it its key window starts.
type keyedNeedle struct {
	text   string
	offset int
}

func newNeedleIndex(needles []needle) *needleIndex {
	index := &needleIndex{byKey: map[uint32][]keyedNeedle{}}
	for _, n := range needles {
		best, bestKey := 0, uint32(0)
		for offset := 0; offset+4 <= len(n.text); offset++ {
			key := binary.LittleEndian.Uint32([]byte(n.text[offset : offset+4]))
			if offset == 0 || len(index.byKey[key]) < len(index.byKey[bestKey]) {
				best, bestKey = offset, key
			}
		}
		h := windowHash(bestKey)
		index.bits[h/64] |= 1 << (h % 64)
		index.byKey[bestKey] = append(index.byKey[bestKey], keyedNeedle{text: n.text, offset: best})
	}
	return index
}

// in reports whether one of the needles occurs in line.
func (x *needleIndex) in(line []byte) bool {
	for i := 0; i+4 <= len(line); i++ {
		window := binary.LittleEndian.Uint32(line[i:])
		if h := windowHash(window); x.bits[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for _, n := range x.byKey[window] {
			start := i - n.offset
			if start >= 0 && len(line)-start >= len(n.text) && string(line[start:start+len(n.text)]) == n.text {
				return true
			}
		}
	}
	return false
}

func windowHash(window uint32) uint32 {
	return (window * 0x9E3779B1) >> 16
}
