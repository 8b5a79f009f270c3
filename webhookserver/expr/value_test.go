package expr

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestValueRender(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		value any
		want  any
	}{
		"scalars": {
			value: map[string]any{"f": 1.5, "i": int64(2), "int": 3, "b": true, "n": nil, "s": "text"},
			want:  map[string]any{"f": 1.5, "i": int64(2), "int": int64(3), "b": true, "n": nil, "s": "text"},
		},
		"JSON numbers": {
			value: []any{json.Number("7"), json.Number("7.5")},
			want:  []any{int64(7), 7.5},
		},
		"escaped template stays text": {
			value: map[string]any{"s": "$${params.account}"},
			want:  map[string]any{"s": "${params.account}"},
		},
		"one expression keeps its type": {
			value: map[string]any{
				"count":   "${params.count}",
				"int":     "${params.count * 2.0 > 3.0 ? 1 : 0}",
				"vip":     "${params.vip}",
				"none":    "${request.body.nested.none}",
				"items":   "${request.body.items}",
				"balance": "${response.body.balance}",
				"object":  "${ {'account': params.account} }",
			},
			want: map[string]any{
				"count":   2.0,
				"int":     int64(1),
				"vip":     true,
				"none":    nil,
				"items":   []any{1.0, 2.5, "three"},
				"balance": 1234.56,
				"object":  map[string]any{"account": "demo"},
			},
		},
		"text around an expression is text": {
			value: map[string]any{"text": "n=${params.count}", "spaced": " ${params.vip}"},
			want:  map[string]any{"text": "n=2", "spaced": " true"},
		},
		"nested": {
			value: map[string]any{
				"richContent": []any{[]any{
					map[string]any{"type": "info", "title": "${params.account}", "subtitle": "static"},
					map[string]any{"type": "chips", "options": []any{map[string]any{"text": "Yes"}}},
				}},
				"meta": map[string]any{"session": "${request.session}", "n": 1.0},
			},
			want: map[string]any{
				"richContent": []any{[]any{
					map[string]any{"type": "info", "title": "demo", "subtitle": "static"},
					map[string]any{"type": "chips", "options": []any{map[string]any{"text": "Yes"}}},
				}},
				"meta": map[string]any{"session": "projects/p/agent/sessions/s1", "n": 1.0},
			},
		},
		"top-level string": {value: "${params.count + 1.0}", want: 3.0},
		"top-level null":   {value: nil, want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := env.CompileValue(tc.value, WithResponse())
			if err != nil {
				t.Fatalf("CompileValue: %v", err)
			}
			got, err := v.Render(context.Background(), testVars())
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Render = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestValueStatic(t *testing.T) {
	env := testEnv(t)
	src := map[string]any{"a": []any{"x", 1.0}, "b": map[string]any{"c": "$${literal}"}}
	v, err := env.CompileValue(src)
	if err != nil {
		t.Fatal(err)
	}
	if !v.IsStatic() {
		t.Fatal("IsStatic() = false for a value without expressions")
	}
	first, err := v.Render(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := v.Render(context.Background(), testVars())
	if reflect.ValueOf(first).Pointer() != reflect.ValueOf(second).Pointer() {
		t.Error("a static value is rebuilt per rendering")
	}
	want := map[string]any{"a": []any{"x", 1.0}, "b": map[string]any{"c": "${literal}"}}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("Render = %#v, want %#v", first, want)
	}
	// The compiled value is a copy of the source.
	src["a"].([]any)[0] = "changed"
	if again, _ := v.Render(context.Background(), nil); !reflect.DeepEqual(again, want) {
		t.Errorf("changing the source changed the value: %#v", again)
	}
}

func TestValueSharesStaticParts(t *testing.T) {
	env := testEnv(t)
	v, err := env.CompileValue(map[string]any{"dynamic": "${params.account}", "static": map[string]any{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.IsStatic() {
		t.Fatal("IsStatic() = true for a value with an expression")
	}
	first, _ := v.Render(context.Background(), testVars())
	second, _ := v.Render(context.Background(), testVars(withParams(map[string]any{"account": "other"})))
	if first.(map[string]any)["dynamic"] != "demo" || second.(map[string]any)["dynamic"] != "other" {
		t.Errorf("renderings %v and %v", first, second)
	}
	if reflect.ValueOf(first.(map[string]any)["static"]).Pointer() != reflect.ValueOf(second.(map[string]any)["static"]).Pointer() {
		t.Error("the static part is rebuilt per rendering")
	}
}

func TestValueCompileErrors(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		value    any
		opts     []CompileOption
		wantPath string
		want     string
	}{
		"syntax error in a list item": {
			value:    map[string]any{"messages": []any{map[string]any{"text": "ok"}, map[string]any{"text": "${params.x +}"}}},
			wantPath: ".messages[1].text",
			want:     ".messages[1].text: ${params.x +}: Syntax error",
		},
		"key that is no identifier": {
			value:    map[string]any{"a b": map[string]any{"x-y": "${nope}"}},
			wantPath: `["a b"].x-y`,
			want:     `["a b"].x-y: ${nope}: undeclared reference to 'nope'`,
		},
		"unterminated": {
			value:    []any{"fine", "${oops"},
			wantPath: "[1]",
			want:     `[1]: unterminated "${" at offset 0`,
		},
		"response without WithResponse": {
			value:    map[string]any{"balance": "${response.body.balance}"},
			wantPath: ".balance",
			want:     "`response` is only available in the respond of a call action",
		},
		"the first error in key order": {
			value:    map[string]any{"b": "${b +}", "a": "${a +}"},
			wantPath: ".a",
			want:     ".a: ${a +}",
		},
		"not JSON": {
			value:    map[string]any{"x": struct{}{}},
			wantPath: ".x",
			want:     ".x: a value of Go type struct {} is not JSON",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := env.CompileValue(tc.value, tc.opts...)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("CompileValue error = %v, want a *CompileError", err)
			}
			if ce.Path != tc.wantPath {
				t.Errorf("Path = %q, want %q", ce.Path, tc.wantPath)
			}
			assertContainsInOrder(t, err.Error(), []string{tc.want})
		})
	}
}

func TestValueRenderError(t *testing.T) {
	env := testEnv(t)
	v, err := env.CompileValue(map[string]any{"items": []any{"${params.account}", map[string]any{"n": "n=${params.nope}"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Render(context.Background(), testVars())
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Path != ".items[1].n" {
		t.Fatalf("Render error = %v, want an *EvalError with Path .items[1].n", err)
	}
	if want := ".items[1].n: params.nope: no such key: nope"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}
