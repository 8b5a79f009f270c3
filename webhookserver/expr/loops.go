package expr

import (
	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// The runtime cost tracker of cel-go v0.29 keeps a stack of the values it has seen, and a loop leaves the
// results of its condition and step on that stack at every iteration until the loop ends. Every later
// lookup scans the grown stack, so tracking a loop costs time quadratic in its iterations: the iterations
// MaxRuntimeCost allows would take minutes. The cost limit would stop a loop over a large body only after the damage is done.
//
// loopStep restores linear time without changing the cost model. It wraps the step of every loop and
// presents it to the tracker as a call whose arguments are the step itself and the loop condition: when
// the tracker records an iteration's step it pops the arguments, that is, this iteration's condition
// result and the previous iteration's step result, together with everything above them. The stack then
// holds one step result per running loop. The wrapper is invisible to evaluation and costs what the step
// it hides would cost (loopStepCost).
//
// TestLoopTrackingIsLinear guards this; drop the workaround when cel-go's tracker no longer needs it.

// The wrapper's overloads: a step that is a call (the list append of map and filter, the map insert of
// transformMap) costs 1 as cel-go counts that call; a logical or conditional step costs nothing of itself.
const (
	loopStepOverload     = "fulfillment_loop_step"
	loopCallStepOverload = "fulfillment_loop_call_step"
)

// loopStepCost gives the wrapper the cost of the step it hides.
var loopStepCost = cel.CostTrackerOptions(
	interpreter.OverloadCostTracker(loopStepOverload, fixedCost(0)),
	interpreter.OverloadCostTracker(loopCallStepOverload, fixedCost(1)),
)

func fixedCost(c uint64) func([]ref.Val, ref.Val) *uint64 {
	return func([]ref.Val, ref.Val) *uint64 { return &c }
}

type loopStep struct {
	interpreter.InterpretableV2
	overload string
	args     []interpreter.InterpretableV2
}

// Function implements interpreter.InterpretableCall.
func (s *loopStep) Function() string { return s.overload }

// OverloadID implements interpreter.InterpretableCall.
func (s *loopStep) OverloadID() string { return s.overload }

// Args implements interpreter.InterpretableCall: the step and the condition, as the tracker finds their
// results on its stack.
func (s *loopStep) Args() []interpreter.InterpretableV2 { return s.args }

// exprID stands for the loop condition in loopStep.Args: the tracker only reads its ID.
type exprID int64

func (id exprID) ID() int64 { return int64(id) }

func (id exprID) Exec(*interpreter.ExecutionFrame) ref.Val { return errNeverEvaluated }

func (id exprID) Eval(interpreter.Activation) ref.Val { return errNeverEvaluated }

var errNeverEvaluated = types.NewErr("internal error: a loop condition's stand-in was evaluated")

// loopConditions maps the ID of each loop step in e to the ID of its loop condition; nil without loops.
func loopConditions(e celast.Expr) map[int64]int64 {
	var steps map[int64]int64
	celast.PreOrderVisit(e, celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() != celast.ComprehensionKind {
			return
		}
		c := e.AsComprehension()
		if steps == nil {
			steps = map[int64]int64{}
		}
		steps[c.LoopStep().ID()] = c.LoopCondition().ID()
	}))
	return steps
}

// wrapLoopSteps is the decorator installing loopStep on the steps of the loops of one program.
func wrapLoopSteps(steps map[int64]int64) cel.ProgramOption {
	return cel.CustomDecoratorV2(func(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
		cond, ok := steps[i.ID()]
		if !ok {
			return i, nil
		}
		s := &loopStep{InterpretableV2: i, overload: loopStepOverload}
		if _, isCall := i.(interpreter.InterpretableCall); isCall {
			s.overload = loopCallStepOverload
		}
		s.args = []interpreter.InterpretableV2{s, exprID(cond)}
		return s, nil
	})
}
