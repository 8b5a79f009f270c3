package expr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
)

// Value is a compiled JSON value whose strings are templates, such as a payload. It is safe for concurrent
// use.
type Value struct {
	// static is the value when it holds no expression; node renders it otherwise.
	static any
	node   valueNode
}

// CompileValue compiles a JSON value as decoded from YAML or JSON (map[string]any, []any, string, float64,
// int64, int, json.Number, bool, nil): every string is compiled as a template (CompileTemplate), map keys
// stay as they are. A string that is exactly one ${expr} keeps the type of the expression's value (a number,
// bool, list, map or null) instead of becoming text. A *CompileError locates the faulty string in its Path.
// The value is copied: later changes to v do not affect it.
func (e *Env) CompileValue(v any, opts ...CompileOption) (*Value, error) {
	o := newCompileOptions(opts)
	o.boolResult = false
	n, err := e.compileValue(v, "", o)
	if err != nil {
		return nil, err
	}
	if s, ok := n.(staticNode); ok {
		return &Value{static: s.v}, nil
	}
	return &Value{node: n}, nil
}

// IsStatic tells whether the value has no expression: Render returns the same value for every request.
func (v *Value) IsStatic() bool { return v.node == nil }

// Render evaluates the value's templates and returns the JSON value (nil, bool, int64, float64, string,
// []any, map[string]any). The parts that hold no expression are shared between renderings, and a value
// without any expression is returned as it is: treat the result as read-only. An evaluation error is an
// *EvalError whose Path locates the string.
func (v *Value) Render(ctx context.Context, vars *Vars) (any, error) {
	if v.node == nil {
		return v.static, nil
	}
	return v.node.render(ctx, vars)
}

// valueNode is a compiled part of a Value.
type valueNode interface {
	render(ctx context.Context, vars *Vars) (any, error)
}

// staticNode holds no expression.
type staticNode struct{ v any }

func (n staticNode) render(context.Context, *Vars) (any, error) { return n.v, nil }

// textNode is a string with literal text around its expressions.
type textNode struct {
	t    *Template
	path string
}

func (n *textNode) render(ctx context.Context, vars *Vars) (any, error) {
	s, err := n.t.Render(ctx, vars)
	if err != nil {
		return nil, withPath(err, n.path)
	}
	return s, nil
}

// exprNode is a string that is one ${expr}: it renders to the expression's JSON value.
type exprNode struct {
	p    *Program
	path string
}

func (n *exprNode) render(ctx context.Context, vars *Vars) (any, error) {
	v, err := n.p.Eval(ctx, vars)
	if err != nil {
		return nil, withPath(err, n.path)
	}
	return v, nil
}

type mapEntry struct {
	key  string
	node valueNode
}

// mapNode is an object with at least one expression inside.
type mapNode struct {
	static  []mapEntry // node is a staticNode
	dynamic []mapEntry
}

func (n *mapNode) render(ctx context.Context, vars *Vars) (any, error) {
	out := make(map[string]any, len(n.static)+len(n.dynamic))
	for _, e := range n.static {
		out[e.key] = e.node.(staticNode).v
	}
	for _, e := range n.dynamic {
		v, err := e.node.render(ctx, vars)
		if err != nil {
			return nil, err
		}
		out[e.key] = v
	}
	return out, nil
}

// listNode is a list with at least one expression inside.
type listNode struct{ items []valueNode }

func (n *listNode) render(ctx context.Context, vars *Vars) (any, error) {
	out := make([]any, len(n.items))
	for i, item := range n.items {
		v, err := item.render(ctx, vars)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// withPath adds the location of a string inside a value to its evaluation error.
func withPath(err error, path string) error {
	var ee *EvalError
	if path == "" || !errors.As(err, &ee) {
		return err
	}
	c := *ee
	c.Path = path
	return &c
}

// compileValue compiles v found at path; a subtree without expressions becomes one staticNode.
func (e *Env) compileValue(v any, path string, o compileOptions) (valueNode, *CompileError) {
	switch v := v.(type) {
	case string:
		t, err := e.compileTemplate(v, o)
		if err != nil {
			err.Path = path
			return nil, err
		}
		switch {
		case t.IsLiteral():
			return staticNode{t.literal}, nil
		case t.single() != nil:
			return &exprNode{p: t.single(), path: path}, nil
		}
		return &textNode{t: t, path: path}, nil
	case map[string]any:
		var (
			n        mapNode
			isStatic = true
		)
		// In key order, so that of several errors the same one is reported every time.
		for _, k := range slices.Sorted(maps.Keys(v)) {
			child, err := e.compileValue(v[k], path+keyPath(k), o)
			if err != nil {
				return nil, err
			}
			if _, ok := child.(staticNode); ok {
				n.static = append(n.static, mapEntry{key: k, node: child})
			} else {
				isStatic = false
				n.dynamic = append(n.dynamic, mapEntry{key: k, node: child})
			}
		}
		if isStatic {
			out := make(map[string]any, len(v))
			for _, e := range n.static {
				out[e.key] = e.node.(staticNode).v
			}
			return staticNode{out}, nil
		}
		return &n, nil
	case []any:
		n := listNode{items: make([]valueNode, len(v))}
		isStatic := true
		for i, item := range v {
			child, err := e.compileValue(item, path+"["+strconv.Itoa(i)+"]", o)
			if err != nil {
				return nil, err
			}
			if _, ok := child.(staticNode); !ok {
				isStatic = false
			}
			n.items[i] = child
		}
		if isStatic {
			out := make([]any, len(v))
			for i, item := range n.items {
				out[i] = item.(staticNode).v
			}
			return staticNode{out}, nil
		}
		return &n, nil
	}
	s, err := jsonScalar(v)
	if err != nil {
		return nil, &CompileError{Path: path, Offset: -1, Message: err.Error()}
	}
	return staticNode{s}, nil
}

// jsonScalar normalizes a scalar of a decoded JSON or YAML document.
func jsonScalar(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, int64:
		return v, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errNotFinite
		}
		return v, nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON number %q", v)
		}
		return f, nil
	}
	if n, ok := goNumber(v); ok {
		return n, nil
	}
	return nil, fmt.Errorf("a value of Go type %T is not JSON", v)
}

// keyPath writes a map key as a path step: .name for a name of letters, digits, "_" and "-" that starts
// with a letter or "_", ["any other key"] otherwise.
func keyPath(k string) string {
	if isPathName(k) {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

func isPathName(k string) bool {
	if k == "" || !isIdentStart(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isIdentPart(k[i]) && k[i] != '-' {
			return false
		}
	}
	return true
}
