package wasm

import (
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A policy reload rebuilds the detector: the same module bytes reuse the
// compiled module, and a dropped detector's instances are released.
func TestReloadReusesCompiledModuleAndReleasesInstances(t *testing.T) {
	buildExamples(t)
	section := "rules:\n  - {name: reload, module: trap.wasm, memory_pages: 3, pool_size: 2}\n"
	base := shared.compiledModules()

	// The first detector is only reachable inside this function, as an old
	// policy is once the pipeline has swapped in the new one.
	c1 := func() *compiled {
		d1, err := newFromYAMLKeep(section)
		if err != nil {
			t.Fatal(err)
		}
		return d1.rules[0].pool.c
	}()
	if got := shared.compiledModules(); got != base+1 {
		t.Fatalf("%d compiled modules after the first load, want %d", got, base+1)
	}
	d2, err := newFromYAMLKeep(section)
	if err != nil {
		t.Fatal(err)
	}
	if d2.rules[0].pool.c != c1 || shared.compiledModules() != base+1 {
		t.Fatal("reloading the same bytes compiled the module again")
	}
	if got := testutil.ToFloat64(metrics.instances.WithLabelValues("wasm.reload")); got != 2 {
		t.Fatalf("%v live instances after two loads, want 2 (one checked at each load)", got)
	}

	// The old detector is collected; its cleanup closes its instances and
	// gives back its share of the compiled module.
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(metrics.instances.WithLabelValues("wasm.reload")) != 1 || refs(c1) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the dropped detector's instance was never released")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}

	// With no detector left the compiled module goes after the linger.
	old := compiledLinger
	compiledLinger = time.Millisecond
	defer func() { compiledLinger = old }()
	d2.Close()
	for shared.compiledModules() != base {
		if time.Now().After(deadline) {
			t.Fatal("the unused compiled module was never closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	shared.mu.Lock()
	closedCM := c1.cm == nil
	shared.mu.Unlock()
	if !closedCM {
		t.Fatal("compiled module dropped but not closed")
	}
}

func refs(c *compiled) int {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	return c.refs
}
