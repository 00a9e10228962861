package wasm

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

const enginePolicy = `
version: "wasm-test-1"
default: budget
policies:
  budget:
    detectors:
      wasm:
        rules:
          - name: eng-loop
            module: loop.wasm
            timeout: 10s          # longer than the message budget: the engine cuts it
  guarded:
    detectors:
      wasm:
        rules:
          - name: eng-loop-cut
            module: loop.wasm
            timeout: 20ms         # the rule's own budget cuts it
  clean:
    detectors:
      wasm:
        action: block
        rules:
          - name: eng-codes
            module: keyword.wasm
            timeout: 2s
`

// Through the real policy loader and engine: a looping rule is cut by the
// message budget (fail closed) or by its own timeout (its failure block),
// while other evaluations keep being answered, and nothing keeps running.
func TestEngineCutsLoopingRuleAndKeepsServing(t *testing.T) {
	buildExamples(t)
	set, err := pipeline.ParsePolicySet([]byte(enginePolicy), "test policy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range set.Names() {
			p, _ := set.Policy(name)
			for _, d := range p.Detectors() {
				d.(*Detector).Close()
			}
		}
	})
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	eng := pipeline.NewEngine()
	policy := func(name string) *pipeline.Policy {
		p, ok := set.Policy(name)
		if !ok {
			t.Fatalf("no policy %q", name)
		}
		return p
	}

	// Other traffic, evaluated meanwhile.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	served := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := 0
		for {
			select {
			case <-stop:
				if n == 0 {
					served <- fmt.Errorf("no evaluation finished while the loops ran")
				}
				close(served)
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			allow := eng.Evaluate(ctx, policy("clean"), request("what is the capital of France?"))
			block := eng.Evaluate(ctx, policy("clean"), request("leak falcon-7 specs"))
			cancel()
			if allow.Action != pipeline.Allow || block.Action != pipeline.Block ||
				!slices.Equal(block.Rules(), []string{"wasm.eng-codes.keyword"}) {
				served <- fmt.Errorf("clean policy: got %v %v and %v %v", allow.Action, allow.Rules(), block.Action, block.Rules())
				close(served)
				return
			}
			n++
		}
	}()

	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		v := eng.Evaluate(ctx, policy("budget"), request("spin please"))
		took := time.Since(start)
		cancel()
		if v.Action != pipeline.Block || v.Cause != pipeline.CauseBudget {
			t.Fatalf("budget policy: %v cause %q, want block for budget_exceeded", v.Action, v.Cause)
		}
		if took > time.Second { // hang guard, 10× the budget
			t.Fatalf("verdict after %v with a 100ms budget", took)
		}

		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		v = eng.Evaluate(ctx, policy("guarded"), request("spin please"))
		cancel()
		if v.Action != pipeline.Block || v.Cause != pipeline.CauseNone || v.Status != FailureStatus ||
			!slices.Equal(v.Rules(), []string{"wasm.eng-loop-cut.failure"}) {
			t.Fatalf("guarded policy: %v %d cause %q rules %v, want a 503 block by wasm.eng-loop-cut.failure", v.Action, v.Status, v.Cause, v.Rules())
		}
	}
	close(stop)
	wg.Wait()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
