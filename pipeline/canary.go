package pipeline

import (
	"strings"
	"sync"
)

// CanaryMaker returns a fresh canary token and the instruction sentence that
// carries it into a system prompt. detectors/output installs one; a policy
// with canary: true is refused when none is installed.
type CanaryMaker func() (token, instruction string)

var (
	canaryMu    sync.RWMutex
	canaryMaker CanaryMaker
)

// SetCanaryMaker installs the canary maker; it is meant to be called once,
// from an init function.
func SetCanaryMaker(m CanaryMaker) {
	canaryMu.Lock()
	defer canaryMu.Unlock()
	canaryMaker = m
}

// NewCanary makes a canary with the installed maker; ok is false when there
// is none.
func NewCanary() (token, instruction string, ok bool) {
	canaryMu.RLock()
	m := canaryMaker
	canaryMu.RUnlock()
	if m == nil {
		return "", "", false
	}
	token, instruction = m()
	return token, instruction, token != ""
}

// ExchangeFor collects what a request leaves for its response's checks:
// the request's system and developer instructions (not tool declarations).
func ExchangeFor(req []Segment) *Exchange {
	x := &Exchange{}
	for _, s := range req {
		if s.Role == RoleSystem && s.Provenance == FromSystem && s.Kind == KindText && !strings.HasPrefix(s.Field, "tools") {
			x.System = append(x.System, s.Text)
		}
	}
	return x
}
