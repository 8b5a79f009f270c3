// Package jsonquote writes a Go string as a JSON string the way the standard library does: as
// encoding/json.Marshal writes it, or as log/slog's JSON handler writes it. The answers and the log lines
// write their strings with it, byte for byte as those write them, at a fraction of the cost.
package jsonquote

import (
	"math/bits"
	"slices"
	"unicode/utf8"
)

// Style is one of the standard library's ways of escaping a string.
type Style uint8

const (
	// Marshal is encoding/json.Marshal's escaping: quote, backslash and control characters (\b, \f, \n, \r,
	// \t short), HTML's <, > and &, U+2028 and U+2029; invalid UTF-8 as U+FFFD.
	Marshal Style = iota
	// Slog is log/slog's JSONHandler's escaping: Marshal's without HTML's characters, and \b and \f as
	// \u0008 and \u000c.
	Slog
)

const hexDigits = "0123456789abcdef"

// Append appends s, quoted and escaped in style, to b.
//
// Most strings are ASCII with nothing to escape: those are found a word of 8 bytes at a time, with no
// branch on their bytes (whose mispredictions were the larger part of the cost of a byte-by-byte scan), and
// copied whole. Others are escaped a run of plain bytes at a time.
func Append(b []byte, s string, style Style) []byte {
	if plain := plainPrefix(s, style); plain < len(s) {
		return appendEscaping(b, s, plain, style)
	}
	n := len(b)
	b = slices.Grow(b, len(s)+2)[:n+len(s)+2]
	b[n] = '"'
	copy(b[n+1:], s)
	b[len(b)-1] = '"'
	return b
}

// appendEscaping is Append for s, whose bytes before plain need nothing.
func appendEscaping(b []byte, s string, plain int, style Style) []byte {
	b = append(b, '"')
	start := 0
	for i := plain; i < len(s); {
		if i = plainUntil(s, i, style); i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			b = appendEscaped(b, c, style)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEscaped appends the escape of c, an ASCII byte that style escapes.
func appendEscaped(b []byte, c byte, style Style) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		if style == Marshal {
			return append(b, '\\', 'b')
		}
	case '\f':
		if style == Marshal {
			return append(b, '\\', 'f')
		}
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// plainPrefix returns len(s) when style escapes no byte of s (and s is ASCII), or else a length of s's start
// that needs nothing. It reads s as words, the last one overlapping the one before, and a string shorter than a
// word as one word made of overlapping reads of it.
func plainPrefix(s string, style Style) int {
	var found uint64
	switch n := len(s); {
	case n >= 8:
		i := 0
		for ; i < n-8; i += 8 {
			if found = specialBytes(word(s, i), style); found != 0 {
				return i + bits.TrailingZeros64(found)/8 // the lowest marked byte is always a special one
			}
		}
		found = specialBytes(word(s, n-8), style)
		if found != 0 {
			return i
		}
	case n >= 4:
		found = specialBytes(uint64(word32(s, 0))|uint64(word32(s, n-4))<<32, style)
	case n > 0:
		found = specialBytes(uint64(s[0])|uint64(s[n/2])<<8|uint64(s[n-1])<<16|'a'*lowBits&^0xffffff, style)
	}
	if found != 0 { // a byte is marked only when one (it or one below it) is special
		return 0
	}
	return len(s)
}

// plainUntil returns where the first byte of s from i is that Append must look at, or len(s). It reads 8
// bytes at a time, the last ones too (the last word overlaps the one before); a string shorter than a word, a
// byte at a time.
func plainUntil(s string, i int, style Style) int {
	for ; i+8 <= len(s); i += 8 {
		if found := specialBytes(word(s, i), style); found != 0 {
			return i + bits.TrailingZeros64(found)/8
		}
	}
	if i == len(s) {
		return i
	}
	if len(s) < 8 {
		table := &special[style]
		for i < len(s) && !table[s[i]] {
			i++
		}
		return i
	}
	// The last word's bytes that were looked at before are read as 'a': one that Append escaped would
	// mark the byte above it (by a borrow) when it needs nothing.
	seen := uint64(1)<<(8*(8-(len(s)-i))) - 1
	if found := specialBytes(word(s, len(s)-8)&^seen|'a'*lowBits&seen, style); found != 0 {
		return len(s) - 8 + bits.TrailingZeros64(found)/8
	}
	return len(s)
}

// special marks the bytes Append looks at, in each style: those it escapes, and the first bytes of multi-byte
// characters (which may be invalid UTF-8, U+2028 or U+2029).
var special = [2][256]bool{Marshal: specialSet("<>&"), Slog: specialSet("")}

func specialSet(more string) (set [256]bool) {
	for c := range 256 {
		set[c] = c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf
	}
	for i := range len(more) {
		set[more[i]] = true
	}
	return set
}

// specialBytes marks with their high bit the bytes of w that Append must look at: those style escapes and
// those of multi-byte characters. The lowest marked byte is always one; bytes above it may be marked wrongly
// (by a borrow from it).
func specialBytes(w uint64, style Style) uint64 {
	// x^'"' or x^'\\' is zero, or x - 0x20 borrows (x < 0x20; ^w keeps bytes >= 0x80 out), or x >= 0x80.
	found := hasZero(w^('"'*lowBits)) | hasZero(w^('\\'*lowBits)) | (w-0x20*lowBits)&^w | w
	if style == Marshal {
		found |= hasZero(w^('<'*lowBits)) | hasZero(w^('>'*lowBits)) | hasZero(w^('&'*lowBits))
	}
	return found & highBits
}

// word is the 8 bytes of s from i, the first in the lowest byte.
func word(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// word32 is the 4 bytes of s from i, the first in the lowest byte.
func word32(s string, i int) uint32 {
	b := s[i : i+4]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// hasZero, masked with highBits, marks the lowest zero byte of w with its high bit (and maybe bytes above it,
// never below).
func hasZero(w uint64) uint64 {
	return (w - lowBits) &^ w
}
