package expr

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCompileErrors(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		src  string
		opts []CompileOption
		// want are substrings of the error message, in order.
		want []string
	}{
		"syntax error with position": {
			src:  "params.x +",
			want: []string{"params.x +: ", "Syntax error: mismatched input '<EOF>'", " at 1:11"},
		},
		"position on a later line": {
			src:  "params.x ==\n  1 +",
			want: []string{"params.x == 1 +: ", "Syntax error", " at 2:6"},
		},
		"unknown variable": {
			src:  `foo == "bar"`,
			want: []string{"undeclared reference to 'foo'", "at 1:1"},
		},
		"unknown request field": {
			src:  `request.intnet == "x"`,
			want: []string{"undefined field 'intnet'", "at 1:8"},
		},
		"response without WithResponse": {
			src:  `response.status == 200`,
			want: []string{"`response` is only available in the respond of a call action"},
		},
		"response and another error without WithResponse": {
			src:  `response.status == 200 && nope`,
			want: []string{"undeclared reference to 'response'", "undeclared reference to 'nope'"},
		},
		"type error": {
			src:  `request.intent + 1`,
			want: []string{"found no matching overload for '_+_' applied to '(string, int)'"},
		},
		"guard that is not a bool": {
			src:  `request.intent`,
			opts: []CompileOption{WithBoolResult()},
			want: []string{"must be a bool, not string"},
		},
		"invalid regex literal": {
			src:  `request.text.matches("(")`,
			want: []string{"invalid matches argument"},
		},
		"constructing a request": {
			src:  `fulfillment.Request{intent: "x"}.intent == "x"`,
			want: []string{"fulfillment.Request values cannot be created in an expression"},
		},
		"nested loops over the body": {
			src:  `request.body.items.all(x, request.body.items.exists(y, x == y))`,
			want: []string{"estimated cost", "exceeds the limit 1000000", "a loop inside a loop over request data"},
		},
		"three nested loops": {
			src:  `params.all(k, params.all(j, request.headers.exists(h, h == k + j)))`,
			want: []string{"estimated cost 19669006005002 exceeds the limit 1000000"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := env.Compile(tc.src, tc.opts...)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want an error", tc.src, p)
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v, want *CompileError", err, err)
			}
			if ce.Offset != -1 || ce.Expression != tc.src || ce.Path != "" {
				t.Errorf("CompileError{Path: %q, Expression: %q, Offset: %d}, want {\"\", %q, -1}",
					ce.Path, ce.Expression, ce.Offset, tc.src)
			}
			assertContainsInOrder(t, err.Error(), tc.want)
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	env := testEnv(t)
	for name, src := range map[string]string{
		"one loop over the body":      `request.body.items.filter(x, type(x) == double && x > 1.0).size() > 0`,
		"loop over the parameters":    `params.exists(k, k.startsWith("acc"))`,
		"string functions":            `request.text.lowerAscii().split(" ").exists(w, w == "balance")`,
		"dyn guard":                   `params.vip`,
		"json.encode of request data": `json.encode(params).size() < 4096`,
	} {
		t.Run(name, func(t *testing.T) {
			p, err := env.Compile(src, WithBoolResult())
			if err != nil {
				t.Fatalf("Compile(%q): %v", src, err)
			}
			if p.EstimatedCost() > MaxEstimatedCost || p.Source() != src {
				t.Errorf("EstimatedCost() = %d, Source() = %q", p.EstimatedCost(), p.Source())
			}
		})
	}
}

func TestEvalBool(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		src  string
		opts []CompileOption
		vars *Vars
		want bool
	}{
		"dialect":      {src: `request.dialect == "DialogflowES"`, want: true},
		"intent":       {src: `request.intent == "check.balance"`, want: true},
		"action":       {src: `request.action.startsWith("balance.")`, want: true},
		"tag":          {src: `request.tag == "balance-tag"`, want: true},
		"event":        {src: `request.event == "balance-event"`, want: true},
		"text":         {src: `request.text.contains("balance")`, want: true},
		"languageCode": {src: `request.languageCode in ["en", "de"]`, want: true},
		"session":      {src: `request.session.endsWith("/s1")`, want: true},
		"parameters":   {src: `request.parameters.account == "demo"`, want: true},
		"params":       {src: `params.account == "demo"`, want: true},
		"params miss":  {src: `params.account == "other"`, want: false},
		"header":       {src: `request.headers["x-request-id"] == "r-1"`, want: true},
		"query":        {src: `request.query.lang == "de"`, want: true},
		"method":       {src: `request.method == "POST"`, want: true},
		"body":         {src: `request.body.responseId == "resp-1"`, want: true},
		"body nested":  {src: `request.body.nested.ok`, want: true},
		"body null":    {src: `request.body.nested.none == null`, want: true},
		"endpoint":     {src: `endpoint.name == "bank-bot" && endpoint.namespace == "bots"`, want: true},
		"response": {
			src:  `response.status == 200 && response.body.balance > 1000 && response.headers["content-type"] == "application/json"`,
			opts: []CompileOption{WithResponse()},
			want: true,
		},
		"JSON number equals an int": {src: `params.count == 2`, want: true},
		"JSON number compares":      {src: `params.count > 1 && params.count < 2.5`, want: true},
		"dyn bool":                  {src: `params.vip`, want: true},
		"has on a set field":        {src: `has(request.intent)`, want: true},
		"has on an empty field": {
			src:  `has(request.tag)`,
			vars: testVars(func(v *Vars) { v.Request.Tag = "" }),
			want: false,
		},
		"has on a parameter":          {src: `has(params.account) && !has(params.missing)`, want: true},
		"optional parameter":          {src: `params.?missing.orValue("none") == "none"`, want: true},
		"loop":                        {src: `request.body.items.exists(x, x == "three")`, want: true},
		"two-variable comprehension":  {src: `params.exists(k, v, k == "account" && v == "demo")`, want: true},
		"sets":                        {src: `sets.contains(["en", "de", "fr"], [request.languageCode])`, want: true},
		"base64":                      {src: `base64.encode(bytes(params.account)) == "ZGVtbw=="`, want: true},
		"math":                        {src: `math.greatest([1, 5, 3]) == 5`, want: true},
		"lists":                       {src: `lists.range(3) == [0, 1, 2]`, want: true},
		"strings":                     {src: `"%s-%d".format([params.account, 7]) == "demo-7"`, want: true},
		"regex":                       {src: `regex.extract(request.session, "s[0-9]+").value() == "s1"`, want: true},
		"nil request reads as empty":  {src: `request.intent == "" && size(params) == 0`, vars: &Vars{}, want: true},
		"nil vars read as empty":      {src: `request.intent == ""`, vars: nil, want: true},
		"request as a whole":          {src: `type(request) == fulfillment.Request`, want: true},
		"field of request as dyn":     {src: `dyn(request).intent == "check.balance"`, want: true},
		"field of endpoint in a list": {src: `[endpoint][0].name == "bank-bot"`, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := env.Compile(tc.src, append(tc.opts, WithBoolResult())...)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.src, err)
			}
			vars := tc.vars
			if vars == nil && name != "nil vars read as empty" {
				vars = testVars()
			}
			got, err := p.EvalBool(context.Background(), vars)
			if err != nil {
				t.Fatalf("EvalBool(%q): %v", tc.src, err)
			}
			if got != tc.want {
				t.Errorf("EvalBool(%q) = %v, want %v", tc.src, got, tc.want)
			}
		})
	}
}

func TestEvalResults(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		src  string
		want any
	}{
		"string":             {src: `params.account`, want: "demo"},
		"int":                {src: `1 + 2`, want: int64(3)},
		"uint":               {src: `3u`, want: int64(3)},
		"huge uint":          {src: `18446744073709551615u`, want: float64(18446744073709551615)},
		"double":             {src: `params.count * 1.5`, want: 3.0},
		"bool":               {src: `params.vip`, want: true},
		"null":               {src: `request.body.nested.none`, want: nil},
		"bytes are base64":   {src: `b"hi"`, want: "aGk="},
		"timestamp":          {src: `timestamp("2024-01-02T03:04:05.5Z")`, want: "2024-01-02T03:04:05.5Z"},
		"duration":           {src: `duration("1h30m")`, want: "5400s"},
		"optional none":      {src: `params.?missing`, want: nil},
		"optional value":     {src: `params.?account`, want: "demo"},
		"list from the body": {src: `request.body.items`, want: []any{1.0, 2.5, "three"}},
		"map literal": {
			src:  `{"account": params.account, "n": 1, 2: [true, null]}`,
			want: map[string]any{"account": "demo", "n": int64(1), "2": []any{true, nil}},
		},
		"mapped list": {src: `request.body.items.map(x, string(x))`, want: []any{"1", "2.5", "three"}},
		"headers":     {src: `request.headers`, want: map[string]any{"x-request-id": "r-1", "content-type": "application/json"}},
		"endpoint":    {src: `endpoint`, want: map[string]any{"name": "bank-bot", "namespace": "bots"}},
		"response": {
			src: `response`,
			want: map[string]any{
				"status":  int64(200),
				"headers": map[string]any{"content-type": "application/json"},
				"body":    map[string]any{"balance": 1234.56, "currency": "EUR", "count": 3.0},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := env.Compile(tc.src, WithResponse())
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.src, err)
			}
			got, err := p.Eval(context.Background(), testVars())
			if err != nil {
				t.Fatalf("Eval(%q): %v", tc.src, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Eval(%q) = %#v, want %#v", tc.src, got, tc.want)
			}
		})
	}
}

func TestEvalResultIsACopy(t *testing.T) {
	env := testEnv(t)
	p, err := env.Compile(`request.body`)
	if err != nil {
		t.Fatal(err)
	}
	vars := testVars()
	got, err := p.Eval(context.Background(), vars)
	if err != nil {
		t.Fatal(err)
	}
	got.(map[string]any)["items"].([]any)[0] = "changed"
	if vars.Request.Body()["items"].([]any)[0] != 1.0 {
		t.Errorf("changing the result changed the request body")
	}
}

func TestEvalErrors(t *testing.T) {
	env := testEnv(t)
	secret := withParams(map[string]any{"card": "4111 1111 1111 1111", "when": "not-a-time", "re": "(4111"})
	tests := map[string]struct {
		src  string
		opts []CompileOption
		vars *Vars
		want []string
	}{
		"missing key named in the expression": {
			src:  `params.account == "demo"`,
			vars: testVars(withParams(map[string]any{})),
			want: []string{`params.account == "demo": no such key: account`},
		},
		"missing key taken from data": {
			src:  `params[params.card] == 1`,
			vars: testVars(secret),
			want: []string{"no such key: ***"},
		},
		"int parse": {
			src:  `int(params.card) > 0`,
			vars: testVars(secret),
			want: []string{"type conversion error"},
		},
		"timestamp parse": {
			src:  `timestamp(params.when) > timestamp("2020-01-01T00:00:00Z")`,
			vars: testVars(secret),
			want: []string{"invalid RFC 3339 timestamp", "***"},
		},
		"regex from data": {
			src:  `params.card.matches(params.re)`,
			vars: testVars(secret),
			want: []string{"error parsing regexp", "`***`"},
		},
		"mixed arithmetic": {
			src:  `params.count + 1 == 3`,
			want: []string{"no such overload", "JSON numbers are doubles"},
		},
		"not a bool": {
			src:  `params.account`,
			want: []string{"result is string, not bool"},
		},
		"response missing": {
			src:  `response.status == 200`,
			opts: []CompileOption{WithResponse()},
			vars: testVars(func(v *Vars) { v.Response = nil }),
			want: []string{"no such attribute"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := env.Compile(tc.src, tc.opts...)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.src, err)
			}
			vars := tc.vars
			if vars == nil {
				vars = testVars()
			}
			_, err = p.EvalBool(context.Background(), vars)
			if err == nil {
				t.Fatalf("EvalBool(%q) succeeded, want an error", tc.src)
			}
			var ee *EvalError
			if !errors.As(err, &ee) || ee.Expression != tc.src {
				t.Fatalf("error %T %v, want *EvalError for %q", err, err, tc.src)
			}
			assertContainsInOrder(t, err.Error(), tc.want)
			for _, v := range []string{"4111", "not-a-time"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q shows the parameter value %q", err, v)
				}
			}
		})
	}
}

func TestEvalNotJSON(t *testing.T) {
	env := testEnv(t)
	for _, src := range []string{`0.0 / 0.0`, `type(request)`, `{1.5: "x"}`} {
		p, err := env.Compile(src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		if v, err := p.Eval(context.Background(), testVars()); err == nil {
			t.Errorf("Eval(%q) = %#v, want an error", src, v)
		}
	}
}

func TestRuntimeCostLimit(t *testing.T) {
	env := testEnv(t)
	// One loop: cheap to estimate (1,000 items assumed), but the body holds 300,000.
	const src = `request.body.items.filter(x, x > 10.0).size() > 0`
	p, err := env.Compile(src, WithBoolResult())
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	small := testVars(withBody(map[string]any{"items": numbers(1000)}))
	if ok, err := p.EvalBool(context.Background(), small); err != nil || !ok {
		t.Fatalf("EvalBool on 1,000 items = %v, %v; want true", ok, err)
	}
	huge := testVars(withBody(map[string]any{"items": numbers(300_000)}))
	start := time.Now()
	_, err = p.EvalBool(context.Background(), huge)
	if !errors.Is(err, ErrCostLimit) {
		t.Fatalf("EvalBool on 300,000 items: %v, want ErrCostLimit", err)
	}
	var ee *EvalError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "cost limit exceeded") {
		t.Errorf("error %q, want an *EvalError saying the cost limit was exceeded", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("stopping took %v", elapsed)
	}
}

func TestContextCancellation(t *testing.T) {
	env := testEnv(t)
	vars := testVars(withBody(map[string]any{"items": numbers(50_000)}))
	loop, err := env.Compile(`request.body.items.all(x, x > 0.0)`)
	if err != nil {
		t.Fatal(err)
	}
	noLoop, err := env.Compile(`params.account == "demo"`)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("done before evaluation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, p := range []*Program{loop, noLoop} {
			if _, err := p.Eval(ctx, vars); !errors.Is(err, context.Canceled) {
				t.Errorf("Eval(%q) with a cancelled context: %v, want context.Canceled", p.Source(), err)
			}
		}
	})
	t.Run("done during a loop", func(t *testing.T) {
		_, err := loop.Eval(newCancelledAfterStart(), vars)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrCostLimit) {
			t.Errorf("Eval: %v, want context.Canceled", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		if _, err := loop.Eval(ctx, vars); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Eval: %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("live context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if ok, err := loop.EvalBool(ctx, vars); err != nil || !ok {
			t.Errorf("EvalBool = %v, %v; want true", ok, err)
		}
	})
}

func TestConcurrentEvaluation(t *testing.T) {
	env := testEnv(t)
	tmpl, err := env.CompileTemplate("${params.account}: ${request.body.items.map(x, string(x)).join(\",\")}")
	if err != nil {
		t.Fatal(err)
	}
	vars := testVars()
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 200 {
				got, err := tmpl.Render(context.Background(), vars)
				if err == nil && got != "demo: 1,2.5,three" {
					err = errors.New("rendered " + got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := map[string]string{
		`no quotes`:                       `no quotes`,
		`parsing "4111": invalid syntax`:  `parsing "***": invalid syntax`,
		`parsing "a\"b": x`:               `parsing "***": x`,
		"missing ): `(abc`":               "missing ): `***`",
		`from 'string' to 'int'`:          `from 'string' to 'int'`,
		`unterminated "secret`:            `unterminated "***`,
		`two "a" and "b" quotes, "c\\" d`: `two "***" and "***" quotes, "***" d`,
	}
	for in, want := range tests {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func assertContainsInOrder(t *testing.T, got string, want []string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("message %q lacks %q (in this order: %q)", got, w, want)
			return
		}
		rest = rest[i+len(w):]
	}
}

// TestEvalLazyBody: a body the dialect left to decode on first use (model.Request.SetBodyFrom) reads as the whole object,
// decoded only when an expression reads request.body.
func TestEvalLazyBody(t *testing.T) {
	env := testEnv(t)
	decoded := 0
	lazy := func() *Vars {
		return testVars(func(v *Vars) {
			v.Request.SetBodyFrom(`{"responseId":"resp-1","items":[1]}`, func(string) map[string]any {
				decoded++
				return map[string]any{"responseId": "resp-1", "items": []any{1.0}}
			})
		})
	}
	for src, want := range map[string]any{
		`request.intent`:                                 "check.balance",
		`has(request.body.responseId)`:                   true,
		`request.body.items`:                             []any{1.0},
		`request.body.responseId + "/" + request.intent`: "resp-1/check.balance",
		`request.body`:                                   map[string]any{"responseId": "resp-1", "items": []any{1.0}},
	} {
		p, err := env.Compile(src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		decoded = 0
		got, err := p.Eval(context.Background(), lazy())
		if err != nil {
			t.Fatalf("Eval(%q): %v", src, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Eval(%q) = %#v, want %#v", src, got, want)
		}
		if wantDecoded := map[bool]int{true: 1, false: 0}[strings.Contains(src, "body")]; decoded != wantDecoded {
			t.Errorf("Eval(%q) decoded the body %d times, want %d", src, decoded, wantDecoded)
		}
	}
}
