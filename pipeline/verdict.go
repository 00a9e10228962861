package pipeline

// Operations on a verdict that every transport needs, written once.

// Label is the decision as the x-llmfw-decision header, dynamic metadata and
// logs name it: the action, or "shadow" when a shadow policy would have
// acted.
func (v *Verdict) Label() string {
	if v.Shadow {
		return "shadow"
	}
	return v.Action.String()
}

// ErrorCode is the code of a refusal's provider-shaped error:
// llmfw_blocked for a policy block, llmfw_<cause> when the verdict was
// forced (fail closed).
func (v *Verdict) ErrorCode() string {
	if v.Cause != CauseNone {
		return "llmfw_" + string(v.Cause)
	}
	return "llmfw_blocked"
}

// Escalated is the verdict turned into a block with status: the findings
// stand, only the remedy changes (a redaction that cannot be carried out
// blocks). why goes into the reason after the first rule.
func (v Verdict) Escalated(status int, why string) Verdict {
	v.Action, v.WouldBe, v.Status, v.Redactions = Block, Block, status, nil
	if rules := v.Rules(); len(rules) > 0 {
		v.Reason = "blocked: " + rules[0] + " (" + why + ")"
	} else {
		v.Reason = "blocked: " + why
	}
	return v
}
