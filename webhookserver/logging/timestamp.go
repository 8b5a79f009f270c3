package logging

import (
	"sync/atomic"
	"time"
)

// second is a second of the lines' times written out, in RFC 3339 as slog writes times: the date and time of
// day before the fraction, and the zone after it. Lines of the same second share it, so each line writes only
// its fraction: formatting the whole time was a visible part of a line's cost.
type second struct {
	unix     int64
	location *time.Location
	start    []byte // 2006-01-02T15:04:05
	zone     []byte // Z or -07:00
}

// lastSecond is the second of the latest line, of time.Now's location.
var lastSecond atomic.Pointer[second]

// secondOf returns t's second, or false when slog writes t in a way appendTime does not (a year outside
// 0-9999, or no time at all).
func secondOf(t time.Time) (*second, bool) {
	unix, location := t.Unix(), t.Location()
	if s := lastSecond.Load(); s != nil && s.unix == unix && s.location == location && !t.IsZero() {
		return s, true
	}
	if y := t.Year(); t.IsZero() || y < 0 || y >= 10000 {
		return nil, false
	}
	s := &second{unix: unix, location: location}
	s.start = t.AppendFormat(nil, "2006-01-02T15:04:05")
	s.zone = t.AppendFormat(nil, "Z07:00")
	if location == time.Local || location == time.UTC { // other locations would take turns with Local's
		lastSecond.Store(s)
	}
	return s, true
}

// appendTime appends t, a time within s, as time.RFC3339Nano writes it: the fraction without its trailing
// zeros, or none when it is zero.
func (s *second) appendTime(b []byte, t time.Time) []byte {
	b = append(b, s.start...)
	if nanos := t.Nanosecond(); nanos != 0 {
		var fraction [10]byte
		fraction[0] = '.'
		for i := 9; i > 0; i-- {
			fraction[i] = byte('0' + nanos%10)
			nanos /= 10
		}
		n := len(fraction)
		for fraction[n-1] == '0' {
			n--
		}
		b = append(b, fraction[:n]...)
	}
	return append(b, s.zone...)
}
