package route

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

var env = func() *expr.Env {
	e, err := expr.NewEnv()
	if err != nil {
		panic(err)
	}
	return e
}()

func guard(t testing.TB, src string) *expr.Program {
	t.Helper()
	p, err := env.Compile(src, expr.WithBoolResult())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rules := []Rule{
		{Name: "balance", Intents: []string{"GetAccountBalance"}, Actions: []string{"account.balance"}},
		{Name: "balance-demo", Priority: 10, Intents: []string{"GetAccountBalance"}, Guard: guard(t, `params.account == "demo"`)},
		{Name: "older", Created: t0, Intents: []string{"Tie"}},
		{Name: "newer", Created: t0.Add(time.Hour), Intents: []string{"Tie"}},
		{Name: "b-same-age", Created: t0, Events: []string{"same"}},
		{Name: "a-same-age", Created: t0, Events: []string{"same"}},
		{Name: "refund-words", Guard: guard(t, `request.text.contains("refund")`)},
		{Name: "tagged", Tags: []string{"order-status"}},
		{Name: "low-priority-catch-all", Priority: -100, Guard: guard(t, `true`)},
		{Name: "broken-guard", Priority: 50, Intents: []string{"Broken"}, Guard: guard(t, `params.missing == "x"`)},
		{Name: "broken-fallback", Intents: []string{"Broken"}},
	}
	var candidates []Candidate[string]
	for _, r := range rules {
		candidates = append(candidates, Candidate[string]{Rule: r, Value: "action:" + r.Name})
	}
	table := NewTable(candidates)

	cases := map[string]struct {
		req    *model.Request
		want   string
		errors int
	}{
		"intent":                      {req: &model.Request{Intent: "GetAccountBalance", Parameters: map[string]any{"account": "checking"}}, want: "balance"},
		"action alone":                {req: &model.Request{Action: "account.balance"}, want: "balance"},
		"priority and guard":          {req: &model.Request{Intent: "GetAccountBalance", Parameters: map[string]any{"account": "demo"}}, want: "balance-demo"},
		"older first on a tie":        {req: &model.Request{Intent: "Tie"}, want: "older"},
		"name on the same age":        {req: &model.Request{Event: "same"}, want: "a-same-age"},
		"guard-only route":            {req: &model.Request{Text: "I want a refund"}, want: "refund-words"},
		"tag":                         {req: &model.Request{Tag: "order-status"}, want: "tagged"},
		"nothing else: the catch-all": {req: &model.Request{Intent: "Unknown"}, want: "low-priority-catch-all"},
		"guard error counts as false": {req: &model.Request{Intent: "Broken", Parameters: map[string]any{}}, want: "broken-fallback", errors: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := tc.req
			vars := &expr.Vars{Request: req}
			errors := 0
			rule, value, ok := table.Match(context.Background(), Request{Intent: req.Intent, Action: req.Action, Tag: req.Tag, Event: req.Event}, vars,
				func(d Decision) {
					if d.GuardErr != nil {
						errors++
					}
				})
			if !ok {
				t.Fatalf("no match, want %s", tc.want)
			}
			if rule.Name != tc.want || value != "action:"+tc.want {
				t.Errorf("matched %s (%s), want %s", rule.Name, value, tc.want)
			}
			if errors != tc.errors {
				t.Errorf("%d guard errors reported, want %d", errors, tc.errors)
			}
		})
	}
}

// The decisions explain a match in a debug log: every route considered, in priority order, with why it did not
// match; routes the request's criteria do not list are not considered.
func TestMatchDecisions(t *testing.T) {
	table := NewTable([]Candidate[int]{
		{Rule: Rule{Name: "demo", Priority: 10, Intents: []string{"Balance"}, Guard: guard(t, `params.account == "demo"`)}, Value: 1},
		{Rule: Rule{Name: "savings", Priority: 5, Intents: []string{"Balance"}, Guard: guard(t, `has(params.kind) && params.kind == "savings"`)}, Value: 2},
		{Rule: Rule{Name: "balance", Intents: []string{"Balance"}}, Value: 3},
		{Rule: Rule{Name: "welcome", Priority: 100, Intents: []string{"Welcome"}}, Value: 4},
	})
	var decisions []Decision
	req := &model.Request{Intent: "Balance", Parameters: map[string]any{}}
	_, value, ok := table.Match(context.Background(), Request{Intent: req.Intent}, &expr.Vars{Request: req},
		func(d Decision) { decisions = append(decisions, d) })
	if !ok || value != 3 {
		t.Fatalf("matched %v %v, want balance", value, ok)
	}
	if len(decisions) != 3 {
		t.Fatalf("want 3 decisions (demo, savings, balance), got %+v", decisions)
	}
	if d := decisions[0]; d.Route != "demo" || d.Matched || d.GuardErr == nil {
		t.Errorf("demo: want a failed guard, got %+v", d)
	}
	if d := decisions[1]; d.Route != "savings" || d.Matched || d.GuardErr != nil {
		t.Errorf("savings: want a false guard, got %+v", d)
	}
	if d := decisions[2]; d.Route != "balance" || !d.Matched {
		t.Errorf("balance: want matched, got %+v", d)
	}
}

func TestNoMatch(t *testing.T) {
	table := NewTable([]Candidate[int]{{Rule: Rule{Name: "only", Intents: []string{"A"}}, Value: 1}})
	if rule, _, ok := table.Match(context.Background(), Request{Intent: "B"}, &expr.Vars{}, nil); ok {
		t.Errorf("matched %s for an unlisted intent", rule.Name)
	}
}

// BenchmarkMatch1000Routes matches among 1,000 routes: the index keeps it independent of the route count.
func BenchmarkMatch1000Routes(b *testing.B) {
	var candidates []Candidate[int]
	for i := range 1000 {
		candidates = append(candidates, Candidate[int]{Rule: Rule{Name: fmt.Sprintf("r%04d", i), Intents: []string{fmt.Sprintf("Intent%d", i)},
			Guard: guard(b, `params.account != ""`)}, Value: i})
	}
	table := NewTable(candidates)
	req := &model.Request{Intent: "Intent777", Parameters: map[string]any{"account": "checking"}}
	vars := &expr.Vars{Request: req}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, v, ok := table.Match(ctx, Request{Intent: req.Intent}, vars, nil); !ok || v != 777 {
			b.Fatal("wrong match")
		}
	}
}

// Environments and versions narrow a route: a request of another environment or version passes it by for the
// next route, however high its priority; a route without them takes every environment and version.
func TestMatchEnvironmentsAndVersions(t *testing.T) {
	rules := []Rule{
		{Name: "production", Priority: 10, Intents: []string{"Order"}, Environments: []string{"production"}},
		{Name: "v2", Priority: 10, Events: []string{"order.created"}, Versions: []string{"2", "2.1"}},
		{Name: "test-v2", Priority: 20, Events: []string{"order.created"}, Environments: []string{"test"}, Versions: []string{"2"}},
		{Name: "guarded-production", Priority: 5, Environments: []string{"production"}, Guard: guard(t, `request.text == "hi"`)},
		{Name: "default", Intents: []string{"Order"}, Events: []string{"order.created"}},
	}
	var candidates []Candidate[string]
	for _, r := range rules {
		candidates = append(candidates, Candidate[string]{Rule: r, Value: r.Name})
	}
	table := NewTable(candidates)
	tests := map[string]struct {
		req  Request
		text string
		want string
	}{
		"production":               {req: Request{Intent: "Order", Environment: "production"}, want: "production"},
		"draft":                    {req: Request{Intent: "Order", Environment: "draft"}, want: "default"},
		"no environment":           {req: Request{Intent: "Order"}, want: "default"},
		"environment differs case": {req: Request{Intent: "Order", Environment: "Production"}, want: "default"},
		"version 2":                {req: Request{Event: "order.created", Version: "2"}, want: "v2"},
		"version 2.1":              {req: Request{Event: "order.created", Version: "2.1"}, want: "v2"},
		"version 1":                {req: Request{Event: "order.created", Version: "1"}, want: "default"},
		"both":                     {req: Request{Event: "order.created", Version: "2", Environment: "test"}, want: "test-v2"},
		"guard in its environment": {req: Request{Intent: "Other", Environment: "production"}, text: "hi", want: "guarded-production"},
		"guard elsewhere":          {req: Request{Intent: "Other", Environment: "test"}, text: "hi", want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			vars := &expr.Vars{Request: &model.Request{Text: tc.text}}
			_, got, _ := table.Match(context.Background(), tc.req, vars, nil)
			if got != tc.want {
				t.Errorf("Match = %q, want %q", got, tc.want)
			}
		})
	}
}
