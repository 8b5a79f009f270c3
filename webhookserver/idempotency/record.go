package idempotency

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The records both stores keep, as strings (immutable, so a stored record is shared by readers without
// copies; Redis returns strings too).
//
// An answer record is compact binary, version 1:
//
//	'A'
//	uvarint status
//	uvarint number of header names, then per name in sorted order:
//	    uvarint len, name, uvarint number of values, then per value: uvarint len, value
//	body (the rest of the record)
//
// A claim record (Redis only) is 'P' followed by the owner token.
const (
	answerTag = 'A'
	claimTag  = 'P'
)

var errCorruptRecord = errors.New("corrupt record")

// encodeAnswer returns the answer record of a.
func encodeAnswer(a *Answer) (string, error) {
	if a == nil {
		return "", errors.New("idempotency: nil answer")
	}
	if a.Status < 100 || a.Status > 999 {
		return "", fmt.Errorf("idempotency: invalid status %d", a.Status)
	}
	names := make([]string, 0, 16)
	size := 1 + uvarintLen(uint64(a.Status)) + uvarintLen(uint64(len(a.Header))) + len(a.Body)
	for name, values := range a.Header {
		names = append(names, name)
		size += uvarintLen(uint64(len(name))) + len(name) + uvarintLen(uint64(len(values)))
		for _, v := range values {
			size += uvarintLen(uint64(len(v))) + len(v)
		}
	}
	slices.Sort(names)

	var b strings.Builder
	b.Grow(size)
	b.WriteByte(answerTag)
	writeUvarint(&b, uint64(a.Status))
	writeUvarint(&b, uint64(len(names)))
	for _, name := range names {
		values := a.Header[name]
		writeString(&b, name)
		writeUvarint(&b, uint64(len(values)))
		for _, v := range values {
			writeString(&b, v)
		}
	}
	b.Write(a.Body)
	return b.String(), nil
}

// decodeAnswer parses an answer record into a new Answer. Header names and values share the record's
// memory (strings are immutable); the body is a copy.
func decodeAnswer(rec string) (*Answer, error) {
	if rec == "" || rec[0] != answerTag {
		return nil, errCorruptRecord
	}
	d := decoder{rec: rec, pos: 1}
	status := d.uvarint()
	names := d.count()
	a := &Answer{Status: int(status)}
	if names > 0 {
		a.Header = make(map[string][]string, names)
		// One backing array for all values; each name gets a capped slice of it, so that appending to one
		// never overwrites the next.
		all := make([]string, 0, names)
		for range names {
			name := d.string()
			n := d.count()
			start := len(all)
			for range n {
				all = append(all, d.string())
			}
			if d.err != nil {
				break
			}
			a.Header[name] = all[start:len(all):len(all)]
		}
	}
	if d.err != nil || status < 100 || status > 999 {
		return nil, errCorruptRecord
	}
	if d.pos < len(rec) {
		a.Body = []byte(rec[d.pos:])
	}
	return a, nil
}

type decoder struct {
	rec string
	pos int
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.pos >= len(d.rec) {
			break
		}
		c := d.rec[d.pos]
		d.pos++
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.err = errCorruptRecord
	return 0
}

// count reads a number of items, each at least one byte long, so never more than the bytes left: a corrupt
// record cannot make the decoder allocate much.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.rec)-d.pos) {
		d.err = errCorruptRecord
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := d.rec[d.pos : d.pos+n]
	d.pos += n
	return s
}

func writeUvarint(b *strings.Builder, x uint64) {
	var buf [binary.MaxVarintLen64]byte
	b.Write(buf[:binary.PutUvarint(buf[:], x)])
}

func writeString(b *strings.Builder, s string) {
	writeUvarint(b, uint64(len(s)))
	b.WriteString(s)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
