package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with the configuration, located as precisely as the source allows.
type Problem struct {
	// File is the file the problem is in.
	File string
	// Document is the 1-based position of the YAML document in File; 0 when not applicable.
	Document int
	// Object is "Kind name" of the object, when known.
	Object string
	// Field is the field path, e.g. spec.auth.hmac.scheme; empty for the whole object.
	Field string
	// Message says what is wrong and what is allowed.
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Document > 0 {
		fmt.Fprintf(&b, ": document %d", p.Document)
	}
	if p.Object != "" {
		fmt.Fprintf(&b, " (%s)", p.Object)
	}
	b.WriteString(": ")
	if p.Field != "" && !strings.HasPrefix(p.Message, p.Field) {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem found, so that a user fixes them all in one round.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return "invalid configuration: " + lines[0]
	}
	return fmt.Sprintf("invalid configuration, %d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// problems collects Problems and turns them into an *Error.
type problems []Problem

func (ps *problems) add(p Problem) { *ps = append(*ps, p) }

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &Error{Problems: ps}
}
