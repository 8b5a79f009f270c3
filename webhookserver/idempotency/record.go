package idempotency

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unsafe"
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
	rec, err := appendAnswer(nil, a)
	if err != nil {
		return "", err
	}
	// rec is never written again: the string may share its memory, as strings.Builder's does.
	return unsafe.String(unsafe.SliceData(rec), len(rec)), nil
}

// appendAnswer appends the answer record of a to dst.
func appendAnswer(dst []byte, a *Answer) ([]byte, error) {
	if a == nil {
		return dst, errors.New("idempotency: nil answer")
	}
	if a.Status < 100 || a.Status > 999 {
		return dst, fmt.Errorf("idempotency: invalid status %d", a.Status)
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

	dst = slices.Grow(dst, size)
	dst = append(dst, answerTag)
	dst = binary.AppendUvarint(dst, uint64(a.Status))
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, name := range names {
		values := a.Header[name]
		dst = appendString(dst, name)
		dst = binary.AppendUvarint(dst, uint64(len(values)))
		for _, v := range values {
			dst = appendString(dst, v)
		}
	}
	return append(dst, a.Body...), nil
}

// decodeAnswer parses an answer record into a new Answer. Header names and values share the record's
// memory (strings are immutable); the body is a copy.
func decodeAnswer(rec string) (*Answer, error) {
	a, bodyAt, err := decodeHead(rec)
	if err != nil {
		return nil, err
	}
	if bodyAt < len(rec) {
		a.Body = []byte(rec[bodyAt:])
	}
	return a, nil
}

// decodeOwnedAnswer is decodeAnswer of a record nobody else holds, which the answer then keeps: its header
// strings and body share the record's memory, without a copy. The body comes after every header string, and
// its capacity ends with the record, so that writing or appending to it changes none of them.
func decodeOwnedAnswer(rec []byte) (*Answer, error) {
	a, bodyAt, err := decodeHead(unsafe.String(unsafe.SliceData(rec), len(rec)))
	if err != nil {
		return nil, err
	}
	if bodyAt < len(rec) {
		a.Body = rec[bodyAt:len(rec):len(rec)]
	}
	return a, nil
}

// decodeHead parses an answer record but its body, and says where the body starts.
func decodeHead(rec string) (*Answer, int, error) {
	if rec == "" || rec[0] != answerTag {
		return nil, 0, errCorruptRecord
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
		return nil, 0, errCorruptRecord
	}
	return a, d.pos, nil
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

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
