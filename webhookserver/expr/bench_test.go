package expr

import (
	"context"
	"testing"
	"time"
)

func BenchmarkGuard(b *testing.B) {
	env := testEnv(b)
	p, err := env.Compile(`params.account == "demo"`, WithBoolResult())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	vars := testVars()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.EvalBool(ctx, vars); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkGuardRequestFields(b *testing.B) {
	env := testEnv(b)
	p, err := env.Compile(`request.intent == "check.balance" && request.headers["x-request-id"] != "" && has(request.body.responseId)`, WithBoolResult())
	if err != nil {
		b.Fatal(err)
	}
	vars := testVars()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.EvalBool(b.Context(), vars); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkGuardLoop(b *testing.B) {
	env := testEnv(b)
	p, err := env.Compile(`request.body.items.exists(x, x == "three")`, WithBoolResult())
	if err != nil {
		b.Fatal(err)
	}
	vars := testVars()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.EvalBool(b.Context(), vars); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkTemplate(b *testing.B) {
	env := testEnv(b)
	t, err := env.CompileTemplate("Your ${params.account} balance is ${response.body.balance} ${response.body.currency}.", WithResponse())
	if err != nil {
		b.Fatal(err)
	}
	vars := testVars()
	b.ReportAllocs()
	for b.Loop() {
		if s, err := t.Render(b.Context(), vars); err != nil || s != "Your demo balance is 1234.56 EUR." {
			b.Fatal(s, err)
		}
	}
}

func BenchmarkTemplateLiteral(b *testing.B) {
	env := testEnv(b)
	t, err := env.CompileTemplate("Hello, how can I help?")
	if err != nil {
		b.Fatal(err)
	}
	vars := testVars()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Render(b.Context(), vars); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValue(b *testing.B) {
	env := testEnv(b)
	v, err := env.CompileValue(map[string]any{
		"account": "${params.account}",
		"balance": "${response.body.balance}",
		"text":    "Balance: ${response.body.balance} ${response.body.currency}",
		"chips":   []any{map[string]any{"text": "Yes"}, map[string]any{"text": "No"}},
	}, WithResponse())
	if err != nil {
		b.Fatal(err)
	}
	vars := testVars()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Render(b.Context(), vars); err != nil {
			b.Fatal(err)
		}
	}
}
