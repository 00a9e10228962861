package pipeline

// CanaryMaker returns a fresh canary token and the instruction sentence that
// carries it into a system prompt. The engine is given one with
// WithCanaryMaker (detectors/output.MakeCanary; detectors/all
// EngineOptions wires it).
type CanaryMaker func() (token, instruction string)

// ExchangeFor collects what a request leaves for its response's checks:
// the request's system and developer instructions (not tool declarations).
func ExchangeFor(req []Segment) *Exchange {
	x := &Exchange{Leak: &LeakMemory{}}
	for _, s := range req {
		// Tool declarations have their own provenance (tool_definition).
		if s.Role == RoleSystem && s.Provenance == FromSystem && s.Kind == KindText {
			x.System = append(x.System, s.Text)
		}
	}
	return x
}
