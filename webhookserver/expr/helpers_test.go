package expr

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

var sharedEnv = sync.OnceValues(NewEnv)

// testEnv returns one Env for all tests, as the server shares one.
func testEnv(t testing.TB) *Env {
	t.Helper()
	env, err := sharedEnv()
	if err != nil {
		t.Fatalf("NewEnv: %v", err)
	}
	return env
}

// testVars returns the variables of a typical Dialogflow ES request answered by an upstream call, changed by
// mods.
func testVars(mods ...func(*Vars)) *Vars {
	v := &Vars{
		Request: &model.Request{
			Dialect:      "DialogflowES",
			Intent:       "check.balance",
			Action:       "balance.get",
			Tag:          "balance-tag",
			Event:        "balance-event",
			Text:         "What is my balance?",
			LanguageCode: "en",
			Session:      "projects/p/agent/sessions/s1",
			Parameters:   map[string]any{"account": "demo", "count": 2.0, "vip": true},
			Method:       "POST",
			Query:        map[string]string{"lang": "de"},
		},
		Response: &Response{
			Status:  200,
			Headers: map[string]string{"content-type": "application/json"},
			Body:    map[string]any{"balance": 1234.56, "currency": "EUR", "count": 3.0},
		},
		Endpoint: Endpoint{Name: "bank-bot", Namespace: "bots"},
	}
	v.Request.SetHeaders(map[string]string{"x-request-id": "r-1", "content-type": "application/json"})
	v.Request.SetBody(map[string]any{
		"responseId": "resp-1",
		"items":      []any{1.0, 2.5, "three"},
		"nested":     map[string]any{"ok": true, "none": nil},
	})
	for _, mod := range mods {
		mod(v)
	}
	return v
}

func withParams(params map[string]any) func(*Vars) {
	return func(v *Vars) { v.Request.Parameters = params }
}

func withBody(body map[string]any) func(*Vars) {
	return func(v *Vars) { v.Request.SetBody(body) }
}

// numbers returns a JSON list of n numbers, 1 to n.
func numbers(n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = float64(i + 1)
	}
	return l
}

// cancelledAfterStart is a context that is still live when evaluation starts (the first Err call) and
// cancelled from then on: it stands for a deadline that passes during an evaluation, deterministically.
type cancelledAfterStart struct {
	context.Context
	errCalls atomic.Int32
	done     chan struct{}
}

func newCancelledAfterStart() *cancelledAfterStart {
	c := &cancelledAfterStart{Context: context.Background(), done: make(chan struct{})}
	close(c.done)
	return c
}

func (c *cancelledAfterStart) Done() <-chan struct{} { return c.done }

func (c *cancelledAfterStart) Err() error {
	if c.errCalls.Add(1) == 1 {
		return nil
	}
	return context.Canceled
}
