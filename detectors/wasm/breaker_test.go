package wasm

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBreakerCountsFailuresWithinTheWindowOnly(t *testing.T) {
	b := newBreaker(breakerSpec{Failures: 3, Window: 10 * time.Second, OpenFor: time.Minute}, func(breakerState) {})
	t0 := time.Unix(0, 0)
	// Three failures, but never three within 10s: stays closed.
	for i, at := range []time.Duration{0, 6 * time.Second, 12 * time.Second, 18 * time.Second} {
		if b.failure(false, t0.Add(at)) {
			t.Fatalf("failure %d at %v opened the breaker", i, at)
		}
	}
	// A third failure 2s after the last two: open.
	if !b.failure(false, t0.Add(20*time.Second)) || b.current() != open {
		t.Fatal("three failures within the window did not open the breaker")
	}
	if ok, _ := b.allow(t0.Add(79 * time.Second)); ok {
		t.Fatal("call allowed before open_for passed")
	}
}

func TestBreakerAdmitsOneProbeAtATime(t *testing.T) {
	b := newBreaker(breakerSpec{Failures: 1, Window: time.Second, OpenFor: time.Second}, func(breakerState) {})
	t0 := time.Unix(0, 0)
	b.failure(false, t0)
	later := t0.Add(2 * time.Second)
	var probes atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, probe := b.allow(later); ok && probe {
				probes.Add(1)
			}
		}()
	}
	wg.Wait()
	if probes.Load() != 1 || b.current() != halfOpen {
		t.Fatalf("%d probes admitted, state %v; want exactly 1, half-open", probes.Load(), b.current())
	}
	// A probe cut by the message's deadline is given back: the next call probes.
	b.abort(true)
	if ok, probe := b.allow(later); !ok || !probe {
		t.Fatal("after an aborted probe the next call was not admitted as the probe")
	}
	b.success(true)
	if b.current() != closed {
		t.Fatalf("state %v after a good probe, want closed", b.current())
	}
}

func TestBreakerOff(t *testing.T) {
	b := newBreaker(breakerSpec{Failures: 0}, func(breakerState) {})
	for i := range 100 {
		if b.failure(false, time.Unix(int64(i), 0)) {
			t.Fatal("a disabled breaker opened")
		}
	}
	if ok, _ := b.allow(time.Unix(100, 0)); !ok {
		t.Fatal("a disabled breaker refused a call")
	}
}
