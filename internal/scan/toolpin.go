package scan

import (
	"crypto/sha256"
	"sync"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// ToolPins remembers the definition of every tool a route (and client
// identity) has declared, so a definition that changes later — an MCP
// server or agent that swaps a tool's description after it was approved
// (a "rug pull") — is noticed. The first definition seen is the pin; it
// is kept until the process restarts. The store is bounded: past Max pins
// new tools are not pinned (counted as unpinned), existing pins stay.
type ToolPins struct {
	mu   sync.Mutex
	max  int
	pins map[string][32]byte
}

// NewToolPins makes a store of at most max pins.
func NewToolPins(max int) *ToolPins {
	return &ToolPins{max: max, pins: map[string][32]byte{}}
}

// check compares a tool definition with its pin: pinned (first seen),
// same, changed, or unpinned (store full).
func (tp *ToolPins) check(key string, digest [32]byte) string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	pin, ok := tp.pins[key]
	switch {
	case ok && pin == digest:
		return "same"
	case ok:
		return "changed"
	case len(tp.pins) >= tp.max:
		return "unpinned"
	}
	tp.pins[key] = digest
	return "pinned"
}

// pinTools checks the request's tool definitions against their pins and
// acts on a change as the policy says: flag (a finding that does not act)
// or block (403, the tool named in the reason); a shadow policy only
// records the would-be block.
func (s *Step) pinTools(p *pipeline.Policy, m *Message, v *pipeline.Verdict, tools []pipeline.ToolDef) {
	if p.ToolPin == pipeline.ToolPinOff || len(tools) == 0 || v.Action == pipeline.Block {
		return
	}
	for _, t := range tools {
		res := "unpinned"
		if s.Pins != nil {
			res = s.Pins.check(p.Name+"\x00"+m.Route+"\x00"+m.Client+"\x00"+t.Name, sha256.Sum256([]byte(t.Definition)))
		}
		s.Engine.ToolDefinition(p, res)
		if res != "changed" {
			continue
		}
		f := pipeline.Finding{Rule: pipeline.RuleToolDefinitionChanged, Family: "policy", Score: 1, Action: pipeline.Allow}
		if p.ToolPin == pipeline.ToolPinBlock {
			f.Action, f.Status = pipeline.Block, p.BlockStatus
		}
		v.Findings = append(v.Findings, f)
		if f.Action != pipeline.Block {
			continue
		}
		v.WouldBe, v.Redactions = pipeline.Block, nil
		if p.Mode == pipeline.Shadow {
			v.Shadow, v.Action = true, pipeline.Allow
			continue
		}
		v.Action, v.Status = pipeline.Block, p.BlockStatus
		v.Reason = "blocked: " + pipeline.RuleToolDefinitionChanged + ": tool " + safeName(t.Name) + " is declared differently than when it was first seen on this route"
		return
	}
}

// safeName is a tool name fit for a reason shown to clients: identifier
// characters only, at most 64 of them.
func safeName(s string) string {
	out := make([]byte, 0, min(len(s), 64))
	for i := 0; i < len(s) && len(out) < 64; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "(unnamed)"
	}
	return string(out)
}
