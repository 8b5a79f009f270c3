package expr

import (
	"runtime"
	"testing"
	"time"
)

func TestCompileSharesPrograms(t *testing.T) {
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := env.Compile(`params.account == "demo"`)
	b, _ := env.Compile(`params.account == "demo"`)
	guard, _ := env.Compile(`params.account == "demo"`, WithBoolResult())
	other, _ := env.Compile(`params.account == "other"`)
	if a == nil || a != b {
		t.Errorf("the same expression compiled twice gave two programs")
	}
	if guard == a || other == a {
		t.Errorf("a program was shared across options or expressions")
	}
	tmpl, err := env.CompileTemplate(`Your ${params.account} balance`)
	if err != nil || tmpl == nil {
		t.Fatalf("CompileTemplate: %v", err)
	}

	// Once nothing holds a program, its entry goes.
	a, b, guard, other, tmpl = nil, nil, nil, nil, nil
	_, _, _, _, _ = a, b, guard, other, tmpl
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		env.programs.mu.Lock()
		n := len(env.programs.programs)
		env.programs.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d cache entries left after their programs were collected", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
