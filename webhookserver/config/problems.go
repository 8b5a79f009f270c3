package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// Problem is one thing wrong with the configuration, located as precisely as the source allows.
type Problem struct {
	// File is the file the problem is in; empty when the configuration was not read from a file.
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
	switch {
	case p.Object != "" && b.Len() > 0:
		fmt.Fprintf(&b, " (%s)", p.Object)
	case p.Object != "":
		b.WriteString(p.Object)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Field != "" && !strings.HasPrefix(p.Message, p.Field) {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ProblemAt is a problem at field of the object kind namespace/name read at l. The object is named without its
// namespace when it has a file and document, which already locate it.
func ProblemAt(l configfile.Location, kind, namespace, name, field, message string) Problem {
	object := kind + " " + name
	if l.File == "" {
		object = kind + " " + namespace + "/" + name
	}
	if l.Path != "" {
		field = strings.TrimSuffix(l.Path+"."+field, ".")
	}
	return Problem{File: l.File, Document: l.Document, Object: object, Field: field, Message: message}
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

// Join is one Error with the problems of every *Error in errs, and an unlocated problem for any other error, in
// the order of their files and documents; nil when every error is nil. The stages of loading a configuration
// (reading, admission, compiling) each find their own problems, and a user should see them all at once.
func Join(errs ...error) error {
	var found problems
	for _, err := range errs {
		var configErr *Error
		switch {
		case err == nil:
		case errors.As(err, &configErr):
			found = append(found, configErr.Problems...)
		default:
			found.add(Problem{Message: err.Error()})
		}
	}
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Document < b.Document
	})
	return found.err()
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
