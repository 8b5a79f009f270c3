package expr

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestTemplateRender(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		src  string
		vars *Vars
		want string
	}{
		"literal": {src: "Hello!", want: "Hello!"},
		"empty":   {src: "", want: ""},
		"balance": {
			src:  "Your ${params.account} balance is ${response.body.balance} ${response.body.currency}.",
			want: "Your demo balance is 1234.56 EUR.",
		},
		"only an expression":   {src: "${params.account}", want: "demo"},
		"adjacent expressions": {src: "${params.account}${params.account}", want: "demodemo"},
		"dollar alone":         {src: "costs $5 and $ ${params.count}", want: "costs $5 and $ 2"},
		"escape":               {src: "literal $${params.account}", want: "literal ${params.account}"},
		"escape then escape":   {src: "$${a} $${b}", want: "${a} ${b}"},
		"dollar before escape": {src: "$$${x}", want: "$${x}"},
		"dollar before value":  {src: `${"$"}${params.count}`, want: "$2"},
		"escape at the end":    {src: "end $${", want: "end ${"},
		"escape inside string": {src: `${"$${"}`, want: "$${"},
		"map literal":          {src: `${ {"a": 1}.a }`, want: "1"},
		"nested map literal":   {src: `${ {"a": {"b": "}"}}.a.b }`, want: "}"},
		"brace in string":      {src: `a${"}"}b`, want: "a}b"},
		"brace in single":      {src: `${'}'}`, want: "}"},
		"escaped quote":        {src: `${"\"}"}`, want: `"}`},
		"raw string":           {src: `${r"\" + "}"}`, want: `\}`},
		"triple quoted":        {src: `${"""a"}b"""}`, want: `a"}b`},
		"bytes literal":        {src: `${string(b"}")}`, want: "}"},
		"comment":              {src: "${params.account // a } in a comment\n}", want: "demo"},
		"int":                  {src: "${40 + 2}", want: "42"},
		"negative int":         {src: "${-7}", want: "-7"},
		"uint":                 {src: "${42u}", want: "42"},
		"double":               {src: "${1234.56}", want: "1234.56"},
		"integral double":      {src: "${2.0}", want: "2"},
		"JSON number":          {src: "${params.count}", want: "2"},
		"small double":         {src: "${0.000001}", want: "0.000001"},
		"tiny double":          {src: "${0.0000001}", want: "1e-7"},
		"large double":         {src: "${123456789012345678.0}", want: "123456789012345680"},
		"huge double":          {src: "${1e21}", want: "1e+21"},
		"third":                {src: "${1.0 / 3.0}", want: "0.3333333333333333"},
		"negative zero":        {src: "${-0.0}", want: "-0"},
		"bool":                 {src: "${params.vip} ${!params.vip}", want: "true false"},
		"null":                 {src: "[${request.body.nested.none}]", want: "[]"},
		"optional none":        {src: "[${params.?missing}]", want: "[]"},
		"optional value":       {src: "[${params.?account}]", want: "[demo]"},
		"list":                 {src: "${request.body.items}", want: `[1,2.5,"three"]`},
		"map":                  {src: "n=${request.body.nested}", want: `n={"none":null,"ok":true}`},
		"no HTML escaping":     {src: `${["a<b & c>d"]}`, want: `["a<b & c>d"]`},
		"object":               {src: "${endpoint}", want: `{"name":"bank-bot","namespace":"bots"}`},
		"bytes":                {src: `${b"hi"}`, want: "aGk="},
		"timestamp":            {src: `${timestamp("2024-01-02T03:04:05Z")}`, want: "2024-01-02T03:04:05Z"},
		"duration":             {src: `${duration("90m")}`, want: "5400s"},
		"strings library":      {src: `${params.account.upperAscii()}`, want: "DEMO"},
		"multi-line":           {src: "${params.account +\n  \"!\"}", want: "demo!"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tmpl, err := env.CompileTemplate(tc.src, WithResponse())
			if err != nil {
				t.Fatalf("CompileTemplate(%q): %v", tc.src, err)
			}
			vars := tc.vars
			if vars == nil {
				vars = testVars()
			}
			got, err := tmpl.Render(context.Background(), vars)
			if err != nil {
				t.Fatalf("Render(%q): %v", tc.src, err)
			}
			if got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.src, got, tc.want)
			}
			if tmpl.Source() != tc.src {
				t.Errorf("Source() = %q, want %q", tmpl.Source(), tc.src)
			}
		})
	}
}

func TestTemplateIsLiteral(t *testing.T) {
	env := testEnv(t)
	for src, want := range map[string]bool{
		"Hello":             true,
		"":                  true,
		"$${escaped}":       true,
		"costs $5":          true,
		"${params.account}": false,
		"a ${1} b":          false,
	} {
		tmpl, err := env.CompileTemplate(src)
		if err != nil {
			t.Fatalf("CompileTemplate(%q): %v", src, err)
		}
		if tmpl.IsLiteral() != want {
			t.Errorf("CompileTemplate(%q).IsLiteral() = %v, want %v", src, tmpl.IsLiteral(), want)
		}
		if want {
			// A literal renders without variables: nil Vars must not matter.
			if _, err := tmpl.Render(context.Background(), nil); err != nil {
				t.Errorf("Render(%q): %v", src, err)
			}
		}
	}
}

func TestTemplateCompileErrors(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		src        string
		opts       []CompileOption
		wantOffset int
		wantExpr   string
		want       string
	}{
		"unterminated": {
			src:        "Hello ${params.account",
			wantOffset: 6,
			want:       `unterminated "${" at offset 6: no "}" closes it (write "$${" for a literal "${")`,
		},
		"unterminated string inside": {
			src:        `a ${"}} b`,
			wantOffset: 2,
			want:       `unterminated "${" at offset 2`,
		},
		"unterminated map literal": {
			src:        "${ {'a': 1 }",
			wantOffset: 0,
			want:       `unterminated "${" at offset 0`,
		},
		"empty": {
			src:        "a ${} b",
			wantOffset: 2,
			want:       `empty "${}" at offset 2`,
		},
		"blank": {
			src:        "a ${ \n } b",
			wantOffset: 2,
			want:       `empty "${}" at offset 2`,
		},
		"syntax error in the second part": {
			src:        "${params.account} and ${params.x +}",
			wantOffset: 22,
			wantExpr:   "params.x +",
			want:       "${params.x +}: Syntax error: mismatched input '<EOF>'",
		},
		"unknown variable": {
			src:        "Hi ${user.name}",
			wantOffset: 3,
			wantExpr:   "user.name",
			want:       "${user.name}: undeclared reference to 'user' (in container '') at 1:1",
		},
		"response without WithResponse": {
			src:        "Balance: ${response.body.balance}",
			wantOffset: 9,
			wantExpr:   "response.body.balance",
			want:       "${response.body.balance}: `response` is only available in the respond of a call action",
		},
		"too costly": {
			src:        "${request.body.items.map(x, request.body.items.map(y, x + y))}",
			wantOffset: 0,
			wantExpr:   "request.body.items.map(x, request.body.items.map(y, x + y))",
			want:       "exceeds the limit 1000000",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := env.CompileTemplate(tc.src, tc.opts...)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("CompileTemplate(%q) error = %v, want a *CompileError", tc.src, err)
			}
			if ce.Offset != tc.wantOffset || ce.Expression != tc.wantExpr {
				t.Errorf("Offset, Expression = %d, %q; want %d, %q", ce.Offset, ce.Expression, tc.wantOffset, tc.wantExpr)
			}
			assertContainsInOrder(t, err.Error(), []string{tc.want})
		})
	}
}

func TestTemplateRenderErrors(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		src  string
		want string
	}{
		"missing key":  {src: "Hi ${params.name}!", want: "params.name: no such key: name"},
		"not finite":   {src: "${1.0 / 0.0}", want: "1.0 / 0.0: result is not a finite number"},
		"in text":      {src: "x=${0.0 / 0.0}", want: "0.0 / 0.0: result is not a finite number"},
		"not JSON":     {src: "${type(request)}", want: "type(request): result of type type has no JSON form"},
		"second fails": {src: "${params.account} ${params.nope}", want: "params.nope: no such key: nope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tmpl, err := env.CompileTemplate(tc.src)
			if err != nil {
				t.Fatalf("CompileTemplate(%q): %v", tc.src, err)
			}
			got, err := tmpl.Render(context.Background(), testVars())
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("Render(%q) = %q, %v; want an *EvalError", tc.src, got, err)
			}
			assertContainsInOrder(t, err.Error(), []string{tc.want})
		})
	}
}

func TestSplitTemplate(t *testing.T) {
	tests := map[string][]rawPart{
		"plain":             {{text: "plain"}},
		"a${x}b":            {{text: "a"}, {expr: "x", offset: 1}, {text: "b"}},
		"$${x}${y}":         {{text: "${x}"}, {expr: "y", offset: 5}},
		"${a}${b}":          {{expr: "a", offset: 0}, {expr: "b", offset: 4}},
		"${ {'}': '{'} }!":  {{expr: " {'}': '{'} ", offset: 0}, {text: "!"}},
		`${r'\'}x`:          {{expr: `r'\'`, offset: 0}, {text: "x"}},
		`${'\'}'}x`:         {{expr: `'\'}'`, offset: 0}, {text: "x"}},
		"${x // }\n}":       {{expr: "x // }\n", offset: 0}},
		"${'''it's'''}":     {{expr: "'''it's'''", offset: 0}},
		`${'\'}`:            nil, // the quote is escaped: the string never ends
		"$":                 {{text: "$"}},
		"$$":                {{text: "$$"}},
		"100% $ {x}":        {{text: "100% $ {x}"}},
		"${x}$":             {{expr: "x", offset: 0}, {text: "$"}},
		"${`a}b`}":          {{expr: "`a}b`", offset: 0}},
		"${\"\\\\\"}after}": {{expr: `"\\"`, offset: 0}, {text: "after}"}},
	}
	for src, want := range tests {
		got, err := splitTemplate(src)
		if want == nil {
			if err == nil {
				t.Errorf("splitTemplate(%q) = %+v, want an error", src, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("splitTemplate(%q): %v", src, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("splitTemplate(%q) = %+v, want %+v", src, got, want)
		}
	}
}

func TestXMLTemplateEscapesValues(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct{ src, want string }{
		"markup in a value": {
			src:  `<speak>Code ${"</speak><audio src=\"x\"/>&amp;"}</speak>`,
			want: `<speak>Code &lt;/speak&gt;&lt;audio src=&#34;x&#34;/&gt;&amp;amp;</speak>`,
		},
		"only a value": {src: `${"<b>"}`, want: `&lt;b&gt;`},
		"number":       {src: `<say-as interpret-as="characters">${params.count}</say-as>`, want: `<say-as interpret-as="characters">2</say-as>`},
		"literal kept": {src: `<speak><break time="1s"/></speak>`, want: `<speak><break time="1s"/></speak>`},
	}
	for name, tc := range tests {
		tmpl, err := env.CompileXMLTemplate(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := tmpl.Render(context.Background(), testVars())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", name, got, tc.want)
		}
	}
}
