package expr

import (
	"context"
	"errors"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// noVars stands in for nil Vars. CEL only reads it.
var noVars = &Vars{}

// ErrCostLimit is matched (errors.Is) by an *EvalError whose evaluation went over MaxRuntimeCost.
var ErrCostLimit = errors.New("evaluation cost limit exceeded")

// Program is a compiled CEL expression, safe for concurrent use.
type Program struct {
	src string
	prg cel.Program
	// interruptible programs loop, so they are evaluated with the context checked between iterations;
	// the others finish in a bounded number of steps and skip that overhead.
	interruptible bool
	estimatedCost uint64
	// raw marks a call of url.rawPath or url.rawQuery, whose value a URL template writes as it is.
	raw rawKind
}

// Source returns the expression as written.
func (p *Program) Source() string { return p.src }

// EstimatedCost returns the worst-case cost estimated at compile time (at most MaxEstimatedCost).
func (p *Program) EstimatedCost() uint64 { return p.estimatedCost }

// Eval evaluates the expression and returns its value as JSON-compatible Go: nil, bool, int64, float64,
// string, []any or map[string]any (see the package documentation for how other CEL values convert). The
// value shares nothing with vars. An evaluation error is an *EvalError.
func (p *Program) Eval(ctx context.Context, vars *Vars) (any, error) {
	v, err := p.eval(ctx, vars)
	if err != nil {
		return nil, err
	}
	out, err := toJSON(v)
	if err != nil {
		return nil, p.evalError(err.Error(), nil)
	}
	return out, nil
}

// EvalBool evaluates a guard. A result that is not a bool is an *EvalError.
func (p *Program) EvalBool(ctx context.Context, vars *Vars) (bool, error) {
	v, err := p.eval(ctx, vars)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, p.evalError("result is "+typeName(v)+", not bool", nil)
	}
	return bool(b), nil
}

// eval runs the program and returns its CEL value, or an *EvalError.
func (p *Program) eval(ctx context.Context, vars *Vars) (ref.Val, error) {
	if err := ctx.Err(); err != nil {
		return nil, p.evalError(err.Error(), err)
	}
	if vars == nil {
		vars = noVars
	}
	act := (*activation)(vars)
	var (
		out ref.Val
		err error
	)
	if p.interruptible {
		out, _, err = p.prg.ContextEval(ctx, act)
	} else {
		out, _, err = p.prg.Eval(act)
	}
	if err != nil {
		return nil, p.wrapError(ctx, err)
	}
	return out, nil
}

// wrapError turns a CEL evaluation error into an *EvalError without values from the request.
func (p *Program) wrapError(ctx context.Context, err error) error {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		return p.evalError(ErrCostLimit.Error(), ErrCostLimit)
	}
	if errors.Is(err, interpreter.InterruptError{}) || errors.As(err, &cancelled) {
		if cause := ctx.Err(); cause != nil {
			return p.evalError(cause.Error(), cause)
		}
		return p.evalError("evaluation interrupted", nil)
	}
	return p.evalError(p.describe(err.Error()), nil)
}

// describe rewrites a CEL error message for users and logs: without request data, and with a hint where
// CEL is terse.
func (p *Program) describe(msg string) string {
	const noSuchKey = "no such key: "
	switch {
	case msg == "no such overload":
		return "no such overload for the operand types (JSON numbers are doubles: write 1.0 rather than 1, " +
			"or convert with int())"
	case strings.HasPrefix(msg, noSuchKey):
		// A key written in the expression is worth naming; one taken from request data is not shown.
		if key := msg[len(noSuchKey):]; !strings.Contains(p.src, key) {
			return noSuchKey + "***"
		}
		return msg
	}
	return redact(msg)
}

func (p *Program) evalError(msg string, cause error) *EvalError {
	return &EvalError{Expression: p.src, Message: msg, cause: cause}
}

// EvalError is a failed evaluation. Its message never holds a value from the request: quoted text in CEL's
// messages (where Go's parsers quote their input, as in `parsing "4111 1111": invalid syntax`) is replaced
// by "***", and a missing map key is named ("no such key: account") only when the expression spells it out,
// not when the key is request data (params[request.text]).
type EvalError struct {
	// Path locates the string that failed inside a value rendered by Value.Render, as CompileError.Path
	// does; empty otherwise.
	Path string
	// Expression is the CEL source that failed.
	Expression string
	// Message says what failed.
	Message string
	// cause is ErrCostLimit, context.Canceled or context.DeadlineExceeded, for errors.Is; nil otherwise.
	cause error
}

// Error returns "[Path: ]Expression: Message" on one line.
func (e *EvalError) Error() string {
	if e.Path != "" {
		return e.Path + ": " + oneLine(e.Expression) + ": " + e.Message
	}
	return oneLine(e.Expression) + ": " + e.Message
}

// Unwrap returns ErrCostLimit, the context's error, or nil. It never returns CEL's own error, which may
// quote request data.
func (e *EvalError) Unwrap() error { return e.cause }

// redact replaces the content of "..." and `...` quotes in msg by "***". CEL quotes type names with '...',
// which stay.
func redact(msg string) string {
	if !strings.ContainsAny(msg, "\"`") {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg))
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c != '"' && c != '`' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(c)
		b.WriteString("***")
		end := closingQuote(msg, i+1, c)
		if end < 0 {
			break
		}
		b.WriteByte(c)
		i = end
	}
	return b.String()
}

// closingQuote returns the index of the quote q that closes a quotation starting at i, skipping
// backslash escapes in "..." quotes; -1 if there is none.
func closingQuote(s string, i int, q byte) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if q == '"' {
				i++
			}
		case q:
			return i
		}
	}
	return -1
}

// typeName names the CEL type of v for messages.
func typeName(v ref.Val) string {
	return v.Type().TypeName()
}
