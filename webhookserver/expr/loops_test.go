package expr

import (
	"testing"
	"time"

	"github.com/google/cel-go/cel"
)

// TestLoopStepKeepsCosts checks that the loopStep workaround leaves cel-go's cost accounting as it is: the
// actual cost with and without it differs by at most one unit per loop (the first iteration's step).
func TestLoopStepKeepsCosts(t *testing.T) {
	env := testEnv(t)
	vars := testVars(withBody(map[string]any{"items": numbers(20)}))
	for _, src := range []string{
		`request.body.items.all(x, x > 0.0)`,
		`request.body.items.exists(x, x > 100.0)`,
		`request.body.items.exists_one(x, x == 3.0)`,
		`request.body.items.map(x, x * 2.0)`,
		`request.body.items.map(x, x > 2.0, x)`,
		`request.body.items.filter(x, x > 3.0)`,
		`request.body.items.transformMap(i, x, x * 2.0)`,
		`request.body.items.all(x, [1, 2].exists(y, y == x))`,
		`cel.bind(a, params.account, a + a)`,
	} {
		t.Run(src, func(t *testing.T) {
			ast, iss := env.base.Compile(src)
			if iss.Err() != nil {
				t.Fatal(iss.Err())
			}
			loops := loopConditions(ast.NativeRep().Expr())
			if loops == nil {
				t.Fatal("loopConditions found no loop")
			}
			cost := func(opts ...cel.ProgramOption) uint64 {
				prg, err := env.base.Program(ast, opts...)
				if err != nil {
					t.Fatal(err)
				}
				_, det, err := prg.Eval((*activation)(vars))
				if err != nil {
					t.Fatal(err)
				}
				return *det.ActualCost()
			}
			plain := cost(loopProgramOptions...)
			wrapped := cost(append(loopProgramOptions[:len(loopProgramOptions):len(loopProgramOptions)], wrapLoopSteps(loops))...)
			if wrapped > plain || plain-wrapped > uint64(len(loops)) {
				t.Errorf("actual cost %d with loopStep, %d without", wrapped, plain)
			}
		})
	}
}

// TestLoopTrackingIsLinear fails when cost tracking is quadratic in loop iterations again: with loopStep the
// 150,000 iterations take about 50 ms, without it about 40 s.
func TestLoopTrackingIsLinear(t *testing.T) {
	env := testEnv(t)
	p, err := env.Compile(`request.body.items.all(x, x > 0.0)`)
	if err != nil {
		t.Fatal(err)
	}
	vars := testVars(withBody(map[string]any{"items": numbers(150_000)}))
	start := time.Now()
	if _, err := p.Eval(t.Context(), vars); err != nil {
		t.Fatalf("Eval: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("150,000 iterations took %v", elapsed)
	}
}
