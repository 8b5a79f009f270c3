package expr

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
)

// Cost limits. CEL cost units count the elementary steps of an evaluation: a variable or field read, a
// comparison or arithmetic operation, ten characters of a string scan, one element of a list traversal.
const (
	// MaxEstimatedCost is the largest worst-case cost an expression may have at compile time, the per-call
	// limit Kubernetes uses for CEL. The estimate assumes request data at its size hints (MaxCollectionSize,
	// MaxStringSize): one loop over request data with a simple body passes, a loop nested in another is
	// refused, and so are operations quadratic in the size of request data (sort, distinct, set
	// intersection of two request lists).
	MaxEstimatedCost = 1_000_000
	// MaxRuntimeCost stops an evaluation whose actual cost goes over it: request data larger than the size
	// hints (a 100,000-element list in a 1 MiB body) can make an accepted expression costlier than
	// estimated. A simple loop costs a few units per iteration, so the limit stops a runaway evaluation after
	// a fraction of a second of CPU.
	MaxRuntimeCost = 1_000_000
	// MaxCollectionSize is the size hint for a list or map in request data (parameters, headers, query,
	// body, response.body and what they hold, including values of unknown type).
	MaxCollectionSize = 1000
	// MaxStringSize is the size hint for a string in request data, in characters.
	MaxStringSize = 64 * 1024
)

// maxRangeSize bounds lists.range(n): the list is allocated before its cost is counted.
const maxRangeSize = 10_000

// interruptCheckFrequency is how many loop iterations run between two checks of the context.
const interruptCheckFrequency = 100

// Env compiles expressions, templates and values. Build it once (NewEnv) and share it: it is safe for
// concurrent use, and so is everything it compiles.
type Env struct {
	// base declares request, params and endpoint; withResponse adds response.
	base, withResponse *cel.Env
	programs           programCache
}

// NewEnv builds the CEL environment of the fulfillment server: the standard library with the cel-go
// extensions Kubernetes offers (strings, lists, sets, two-variable comprehensions, optional values) plus
// base64 encoders, math, cel.bind and regex extraction; cross-type numeric comparisons, UTC as the default
// time zone and compile-time checks of duration, timestamp and regex literals, as in Kubernetes. Nothing in
// it reads the clock or a random source, so an evaluation depends on its variables only.
func NewEnv() (*Env, error) {
	base, err := cel.NewEnv(
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Encoders(),
		ext.Math(),
		ext.Lists(ext.ListsMaxRangeSize(maxRangeSize)),
		ext.Sets(),
		ext.TwoVarComprehensions(),
		ext.Bindings(),
		ext.Regex(),
		rawURLFunction(rawPathFunction),
		rawURLFunction(rawQueryFunction),
		cel.ASTValidators(
			cel.ValidateDurationLiterals(),
			cel.ValidateTimestampLiterals(),
			cel.ValidateRegexLiterals(),
		),
		// As in Kubernetes: has() is as cheap as a field read.
		cel.CostEstimatorOptions(checker.PresenceTestHasCost(false),
			checker.OverloadCostEstimate("json_encode_dyn", estimateJSONEncode)),
		withObjectTypes(),
		cel.Variable("request", cel.ObjectType(requestTypeName)),
		cel.Variable("params", jsonObjectType),
		cel.Variable("endpoint", cel.ObjectType(endpointTypeName)),
	)
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	withResponse, err := base.Extend(cel.Variable("response", cel.ObjectType(responseTypeName)))
	if err != nil {
		return nil, fmt.Errorf("build CEL environment with response: %w", err)
	}
	return &Env{base: base, withResponse: withResponse}, nil
}

// programOptions apply to every program without a loop. Such a program runs a bounded number of steps, each
// at most linear in input sizes that the server already bounds (body and upstream answer limits), and its
// estimated cost passed MaxEstimatedCost: runtime cost tracking would add nothing but time (it makes a guard
// several times slower).
var programOptions = []cel.ProgramOption{
	cel.EvalOptions(cel.OptOptimize),
}

// loopProgramOptions apply to programs with a loop (a comprehension), whose cost depends on request data: they
// are tracked and stopped at MaxRuntimeCost, and interrupted when the request's context is done.
var loopProgramOptions = []cel.ProgramOption{
	cel.EvalOptions(cel.OptOptimize),
	cel.CostLimit(MaxRuntimeCost),
	cel.CostTrackerOptions(interpreter.PresenceTestHasCost(false)),
	cel.InterruptCheckFrequency(interruptCheckFrequency),
	loopStepCost,
}

// CompileOption changes what Compile, CompileTemplate and CompileValue accept.
type CompileOption func(*compileOptions)

type compileOptions struct {
	response   bool
	boolResult bool
	// url: the expression is part of a URL template, where url.rawPath and url.rawQuery may stand.
	url bool
}

// WithResponse makes `response` available: use it for the respond part of a call action. Without it an
// expression reading `response` is refused.
func WithResponse() CompileOption {
	return func(o *compileOptions) { o.response = true }
}

// WithBoolResult refuses an expression whose type is known not to be bool: use it for guards. A JSON value
// (dyn) is accepted and checked when evaluated (Program.EvalBool).
func WithBoolResult() CompileOption {
	return func(o *compileOptions) { o.boolResult = true }
}

func newCompileOptions(opts []CompileOption) compileOptions {
	var o compileOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Compile compiles one CEL expression. It fails with a *CompileError for a syntax or type error, for
// `response` used without WithResponse, and for an estimated cost over MaxEstimatedCost.
func (e *Env) Compile(src string, opts ...CompileOption) (*Program, error) {
	p, err := e.compile(src, newCompileOptions(opts))
	if err != nil {
		err.Offset = -1
		return nil, err
	}
	return p, nil
}

func (e *Env) compile(src string, o compileOptions) (*Program, *CompileError) {
	p, err := e.sharedProgram(src, o)
	if err != nil {
		return nil, err
	}
	if p.raw != notRaw && !o.url {
		return nil, &CompileError{Expression: src, Message: rawPathFunction + " and " + rawQueryFunction +
			" are only for the URL of a call (call.url)"}
	}
	return p, nil
}

// sharedProgram returns the program compiled for src and o, compiled once for every use.
func (e *Env) sharedProgram(src string, o compileOptions) (*Program, *CompileError) {
	key := programKey{src: src, options: o}
	key.options.url = false // the program is the same; url only decides where it may be used
	if p := e.programs.get(key); p != nil {
		return p, nil
	}
	p, err := e.compileProgram(src, o)
	if err != nil {
		return nil, err
	}
	return e.programs.put(key, p), nil
}

// compileProgram compiles src; compile shares the result.
func (e *Env) compileProgram(src string, o compileOptions) (*Program, *CompileError) {
	env := e.base
	if o.response {
		env = e.withResponse
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		msg := issuesMessage(iss)
		if !o.response {
			if _, withIss := e.withResponse.Compile(src); withIss.Err() == nil {
				msg = "`response` is only available in the respond of a call action"
			}
		}
		return nil, &CompileError{Expression: src, Message: msg}
	}
	if name := constructedObject(ast.NativeRep().Expr()); name != "" {
		return nil, &CompileError{Expression: src, Message: name + " values cannot be created in an expression"}
	}
	raw, rawErr := rawKindOf(ast.NativeRep().Expr())
	if rawErr != nil {
		return nil, &CompileError{Expression: src, Message: rawErr.Error()}
	}
	if o.boolResult {
		if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
			return nil, &CompileError{Expression: src, Message: fmt.Sprintf("must be a bool, not %s", cel.FormatCELType(t))}
		}
	}
	cost, err := env.EstimateCost(ast, sizeHints{})
	if err != nil {
		return nil, &CompileError{Expression: src, Message: "estimate cost: " + err.Error()}
	}
	if cost.Max > MaxEstimatedCost {
		return nil, &CompileError{Expression: src, Message: fmt.Sprintf(
			"estimated cost %s exceeds the limit %d (the estimate takes lists and maps in request data to hold "+
				"%d entries and strings %d characters; the usual causes are a loop inside a loop over request "+
				"data, and sorting, deduplicating or intersecting request lists)",
			formatCost(cost.Max), MaxEstimatedCost, MaxCollectionSize, MaxStringSize)}
	}
	opts := programOptions
	loops := loopConditions(ast.NativeRep().Expr())
	if loops != nil {
		opts = append(loopProgramOptions[:len(loopProgramOptions):len(loopProgramOptions)], wrapLoopSteps(loops))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, &CompileError{Expression: src, Message: err.Error()}
	}
	return &Program{
		src:           src,
		prg:           prg,
		interruptible: loops != nil,
		estimatedCost: cost.Max,
		raw:           raw,
	}, nil
}

// formatCost writes an overflowing estimate ("unbounded") in words.
func formatCost(c uint64) string {
	if c == ^uint64(0) {
		return "unbounded"
	}
	return fmt.Sprint(c)
}

// issuesMessage turns CEL issues into one line: each error with its 1-based line:column in the expression.
func issuesMessage(iss *cel.Issues) string {
	const maxErrors = 3
	var b strings.Builder
	for i, e := range iss.Errors() {
		if i == maxErrors {
			fmt.Fprintf(&b, " (and %d more)", len(iss.Errors())-maxErrors)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Message)
		if e.Location != nil && e.Location.Line() > 0 {
			fmt.Fprintf(&b, " at %d:%d", e.Location.Line(), e.Location.Column()+1)
		}
	}
	return b.String()
}

// constructedObject returns the name of a variable's type that e constructs (fulfillment.Request{...}), or
// "": those types are read-only.
func constructedObject(e celast.Expr) string {
	name := ""
	celast.PreOrderVisit(e, celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() != celast.StructKind {
			return
		}
		if t := e.AsStruct().TypeName(); objectTypes[t] != nil {
			name = t
		}
	}))
	return name
}

// sizeHints gives the cost estimator the size of data it cannot know: every string in request data is at
// most MaxStringSize characters, every list, map or value of unknown type at most MaxCollectionSize
// entries, and any other value (a number, a type, an object) has size 1.
type sizeHints struct{}

// EstimateSize implements checker.CostEstimator.
func (sizeHints) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	t := n.Type()
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case types.StringKind, types.BytesKind:
		return &checker.SizeEstimate{Min: 0, Max: MaxStringSize}
	case types.ListKind, types.MapKind, types.DynKind, types.AnyKind:
		return &checker.SizeEstimate{Min: 0, Max: MaxCollectionSize}
	}
	return &checker.SizeEstimate{Min: 1, Max: 1}
}

// EstimateCallCost implements checker.CostEstimator: the libraries' own estimates apply.
func (sizeHints) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// estimateJSONEncode bounds json.encode, whose cost cel-go leaves unknown: its work is linear in the value it
// encodes, which comes from a request or an upstream answer the server bounds in size, so it is estimated as
// the work on the longest string the estimator assumes of request data.
func estimateJSONEncode(_ checker.CostEstimator, _ *checker.AstNode, _ []checker.AstNode) *checker.CallEstimate {
	return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 1 + MaxStringSize/10},
		ResultSize: &checker.SizeEstimate{Min: 2, Max: MaxStringSize}}
}

// CompileError is an expression or template refused at compile time. Its Error() is one line meant to follow
// the path of the field that holds the source, e.g.
//
//	spec.respond.text: ${params.x +}: Syntax error: mismatched input '<EOF>' expecting ... at 1:11
type CompileError struct {
	// Path locates the faulty string inside a value compiled with CompileValue, relative to that value and
	// starting with "." or "[" (".messages[1].text"), so that a caller can append it to the value's own
	// field path. Empty otherwise.
	Path string
	// Expression is the CEL source at fault. Empty when a template itself is malformed (an unterminated or
	// empty "${").
	Expression string
	// Offset is the byte offset in the template of the "${" at fault, or -1 when the source was compiled as
	// one expression (Env.Compile).
	Offset int
	// Message says what is wrong. Positions in it ("at 1:11") are line:column in Expression, 1-based.
	Message string
}

// Error returns the error on one line: [Path: ]${Expression}: Message for a template part, [Path: ]Expression:
// Message for an expression.
func (e *CompileError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	switch {
	case e.Expression != "" && e.Offset >= 0:
		b.WriteString("${")
		b.WriteString(oneLine(e.Expression))
		b.WriteString("}: ")
	case e.Expression != "":
		b.WriteString(oneLine(e.Expression))
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// oneLine keeps an error message on one line whatever the expression's layout.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
