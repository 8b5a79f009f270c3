package expr

import (
	"slices"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// optionalMaps are the request's maps whose keys depend on the request, written as an expression reads them:
// a key of one of them may be missing, and reading it then fails the evaluation.
var optionalMaps = map[string]string{
	"params":             "params",
	"request.parameters": "params", // the same map as params
	"request.body":       "request.body",
	"request.headers":    "request.headers",
	"request.query":      "request.query",
}

// UnguardedReads lists the keys of the request's maps (params, request.body, request.headers, request.query)
// that template reads without a test, such as params.account: a request may lack any of them, and then the
// template fails to render. A key the same expression tests (has(params.account), "account" in params) is
// left out, as is one that the guard when (a route's match.when, or "") tests among its top-level && terms,
// since the route only answers when the guard holds. Optional reads (params.?account.orValue("")) are never
// listed. Only the first key of a path counts (params.address, not params.address.city). Each key is listed
// once, in the order it appears, written with params for request.parameters. A template or guard that does not
// parse lists nothing: compiling it reports the error.
func (e *Env) UnguardedReads(template, when string) []string {
	parts, err := splitTemplate(template)
	if err != nil {
		return nil
	}
	var guarded []string
	if when != "" {
		root, ok := e.parse(when)
		if !ok {
			return nil
		}
		guarded = conjunctTests(root)
	}
	var unguarded []string
	for _, part := range parts {
		if part.expr == "" {
			continue
		}
		root, ok := e.parse(part.expr)
		if !ok {
			return nil
		}
		tested := append(slices.Clone(guarded), presenceTests(root)...)
		for _, key := range keyReads(root) {
			if !slices.Contains(tested, key) && !slices.Contains(unguarded, key) {
				unguarded = append(unguarded, key)
			}
		}
	}
	return unguarded
}

// parse parses src without checking it, macros expanded (has() becomes a test-only select).
func (e *Env) parse(src string) (celast.Expr, bool) {
	parsed, iss := e.base.Parse(src)
	if iss.Err() != nil {
		return nil, false
	}
	return parsed.NativeRep().Expr(), true
}

// keyReads are the keys of optional maps that root reads as a field (params.account) or a constant index
// (params["account"]).
func keyReads(root celast.Expr) []string {
	var keys []string
	celast.PreOrderVisit(root, celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.SelectKind:
			if sel := e.AsSelect(); !sel.IsTestOnly() {
				if m, ok := optionalMap(sel.Operand()); ok {
					keys = append(keys, m+"."+sel.FieldName())
				}
			}
		case celast.CallKind:
			if key, ok := constantKeyOf(e.AsCall(), operators.Index, 0, 1); ok {
				keys = append(keys, key)
			}
		}
	}))
	return keys
}

// presenceTests are the keys of optional maps that root tests anywhere: has(params.account) or
// "account" in params.
func presenceTests(root celast.Expr) []string {
	var keys []string
	celast.PreOrderVisit(root, celast.NewExprVisitor(func(e celast.Expr) {
		if key, ok := presenceTest(e); ok {
			keys = append(keys, key)
		}
	}))
	return keys
}

// conjunctTests are the keys of optional maps that root tests in its top-level && terms, which all hold when
// root does.
func conjunctTests(root celast.Expr) []string {
	if root.Kind() == celast.CallKind && root.AsCall().FunctionName() == operators.LogicalAnd {
		var keys []string
		for _, term := range root.AsCall().Args() {
			keys = append(keys, conjunctTests(term)...)
		}
		return keys
	}
	if key, ok := presenceTest(root); ok {
		return []string{key}
	}
	return nil
}

// presenceTest is the key e tests for: has(params.account) or "account" in params.
func presenceTest(e celast.Expr) (string, bool) {
	switch e.Kind() {
	case celast.SelectKind:
		if sel := e.AsSelect(); sel.IsTestOnly() {
			if m, ok := optionalMap(sel.Operand()); ok {
				return m + "." + sel.FieldName(), true
			}
		}
	case celast.CallKind:
		return constantKeyOf(e.AsCall(), operators.In, 1, 0)
	}
	return "", false
}

// constantKeyOf reads a call of function whose argument mapArg is an optional map and keyArg a string literal,
// as the key it names.
func constantKeyOf(call celast.CallExpr, function string, mapArg, keyArg int) (string, bool) {
	args := call.Args()
	if call.FunctionName() != function || len(args) != 2 || args[keyArg].Kind() != celast.LiteralKind {
		return "", false
	}
	m, ok := optionalMap(args[mapArg])
	if !ok {
		return "", false
	}
	key, ok := args[keyArg].AsLiteral().(types.String)
	if !ok {
		return "", false
	}
	return m + "." + string(key), true
}

// optionalMap names the optional map e is (params, request.body...), if it is one.
func optionalMap(e celast.Expr) (string, bool) {
	path := ""
	switch e.Kind() {
	case celast.IdentKind:
		path = e.AsIdent()
	case celast.SelectKind:
		if operand := e.AsSelect().Operand(); operand.Kind() == celast.IdentKind && !e.AsSelect().IsTestOnly() {
			path = operand.AsIdent() + "." + e.AsSelect().FieldName()
		}
	}
	name, ok := optionalMaps[path]
	return name, ok
}
