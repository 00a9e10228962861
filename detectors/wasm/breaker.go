package wasm

import (
	"sync"
	"time"
)

// breakerState values are also the llmfw_wasm_breaker_state gauge values.
type breakerState int

const (
	closed   breakerState = 0
	halfOpen breakerState = 1
	open     breakerState = 2
)

func (s breakerState) String() string {
	switch s {
	case halfOpen:
		return "half-open"
	case open:
		return "open"
	}
	return "closed"
}

// breaker is a rule's circuit breaker: Failures failures within Window open
// it; after OpenFor one call goes through as a probe (half-open) while the
// rest are refused; the probe's success closes it, its failure reopens it.
type breaker struct {
	spec    breakerSpec
	onState func(breakerState) // metrics and logs; called with mu held

	mu       sync.Mutex
	state    breakerState
	fails    []time.Time // times of the latest failures while closed, oldest first
	openedAt time.Time
	probing  bool
}

func newBreaker(spec breakerSpec, onState func(breakerState)) *breaker {
	b := &breaker{spec: spec, onState: onState}
	onState(closed)
	return b
}

// allow says whether a call may run now and whether it is the half-open probe.
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	if b.spec.Failures == 0 {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case closed:
		return true, false
	case open:
		if now.Sub(b.openedAt) < b.spec.OpenFor {
			return false, false
		}
		b.set(halfOpen)
	}
	if b.probing {
		return false, false // one probe at a time
	}
	b.probing = true
	return true, true
}

func (b *breaker) success(probe bool) {
	if b.spec.Failures == 0 || !probe {
		return // failures in the window age out by themselves
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	b.fails = b.fails[:0]
	b.set(closed)
}

// failure records a failed call and reports whether the breaker opened.
func (b *breaker) failure(probe bool, now time.Time) (opened bool) {
	if b.spec.Failures == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
		b.trip(now)
		return true
	}
	if b.state != closed {
		return false // a call admitted before the breaker opened
	}
	if len(b.fails) == b.spec.Failures {
		copy(b.fails, b.fails[1:])
		b.fails = b.fails[:len(b.fails)-1]
	}
	b.fails = append(b.fails, now)
	if len(b.fails) == b.spec.Failures && now.Sub(b.fails[0]) <= b.spec.Window {
		b.trip(now)
		return true
	}
	return false
}

// abort gives back a probe that ended without a verdict (the message's own
// deadline passed), so the next call probes instead.
func (b *breaker) abort(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

func (b *breaker) trip(now time.Time) {
	b.openedAt = now
	b.fails = b.fails[:0]
	b.set(open)
}

func (b *breaker) set(s breakerState) {
	if b.state != s {
		b.state = s
		b.onState(s)
	}
}

func (b *breaker) current() breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
