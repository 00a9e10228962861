package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// guardRequest is a Lakera Guard v2 screening request. Gateways send null
// for unset options (LiteLLM does), so every option is nullable; unknown
// members are ignored, as a newer client may send more.
type guardRequest struct {
	Messages  json.RawMessage `json:"messages"`
	ProjectID *string         `json:"project_id"`
	Payload   *bool           `json:"payload"`
	Breakdown *bool           `json:"breakdown"`
	DevInfo   json.RawMessage `json:"dev_info"`
	// Metadata (user, session, IP tags) is accepted and neither scanned
	// nor logged: it describes the caller, it is not conversation text.
	Metadata json.RawMessage `json:"metadata"`
}

// guardResponse is a Lakera Guard v2 screening result, plus llmfw: our own
// decision, kept alongside under a name no Lakera client reads.
type guardResponse struct {
	Flagged bool `json:"flagged"`
	// Payload is always present (empty unless asked for): LiteLLM removes
	// it from the response before logging and fails when it is missing.
	Payload   []payloadItem    `json:"payload"`
	Breakdown *[]breakdownItem `json:"breakdown,omitempty"`
	DevInfo   *devInfo         `json:"dev_info,omitempty"`
	Metadata  guardMetadata    `json:"metadata"`
	LLMFW     guardDecision    `json:"llmfw"`
}

// payloadItem is one match a client may mask: Start and End are offsets in
// Unicode code points (Python string indices, as Lakera's clients slice)
// into the message's content string, End exclusive.
type payloadItem struct {
	Start        int      `json:"start"`
	End          int      `json:"end"`
	Text         string   `json:"text"`
	DetectorType string   `json:"detector_type"`
	Labels       []string `json:"labels"`
	MessageID    int      `json:"message_id"`
	Rule         string   `json:"llmfw_rule"`
	// Field is where the text is when it is not the message's string
	// content (a content part, tool-call arguments); offsets are then into
	// that text, and no Lakera client can mask it (see flaggedOnlyPII).
	Field string `json:"llmfw_field,omitempty"`
}

type breakdownItem struct {
	ProjectID    string   `json:"project_id"`
	PolicyID     string   `json:"policy_id"`
	DetectorID   string   `json:"detector_id"`
	DetectorType string   `json:"detector_type"`
	Detected     bool     `json:"detected"`
	MessageID    int      `json:"message_id"`
	Family       string   `json:"llmfw_family,omitempty"`
	Rules        []string `json:"llmfw_rules,omitempty"`
	Score        float64  `json:"llmfw_score,omitempty"`

	order int // family position in the policy, for a stable listing
}

type devInfo struct {
	GitRevision  string `json:"git_revision"`
	GitTimestamp string `json:"git_timestamp"`
	ModelVersion string `json:"model_version"`
	Version      string `json:"version"`
}

type guardMetadata struct {
	RequestUUID string `json:"request_uuid"`
}

// guardDecision is our own record of the decision, the same fields the
// audit log and ext_proc's dynamic metadata carry.
type guardDecision struct {
	DecisionID    string   `json:"decision_id"`
	Action        string   `json:"action"`
	WouldBe       string   `json:"would_be"`
	Policy        string   `json:"policy"`
	PolicyVersion string   `json:"policy_version"`
	Rules         []string `json:"rules"`
	Cause         string   `json:"cause,omitempty"`
}

// guard serves POST /v2/guard.
func (h *Handler) guard(w http.ResponseWriter, c *call) {
	var req guardRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.outcome = "invalid"
		writeError(w, http.StatusBadRequest, "invalid_request", "body must be a JSON object with a messages array: "+jsonProblem(err))
		return
	}
	if raw := bytes.TrimSpace(req.Messages); len(raw) == 0 || raw[0] != '[' {
		c.outcome = "invalid"
		writeError(w, http.StatusBadRequest, "invalid_request", "messages is required: an array of OpenAI-style chat messages")
		return
	}
	opts := guardOptions{payload: req.Payload != nil && *req.Payload, breakdown: req.Breakdown != nil && *req.Breakdown, devInfo: isTrue(req.DevInfo)}
	if req.ProjectID != nil {
		opts.project = *req.ProjectID
	}

	ps := h.policies()
	if ps == nil {
		v := h.engine.FailClosed(nil, pipeline.Request, pipeline.CauseError, http.StatusServiceUnavailable, "no policy loaded")
		h.guardVerdicts(w, c, nil, opts, []*unit{{v: v}})
		return
	}
	p := h.selectPolicy(ps, opts.project, "project_id")
	h.guardVerdicts(w, c, p, opts, h.screen(c, p, req.Messages))
}

type guardOptions struct {
	project                     string
	payload, breakdown, devInfo bool
}

// screen evaluates the messages with the scan step; every path ends in at
// least one verdict.
func (h *Handler) screen(c *call, p *pipeline.Policy, messages []byte) []*unit {
	ctx, cancel := context.WithTimeout(c.ctx, h.cfg.Budget)
	defer cancel()
	var conv scan.Conversation
	r := h.step.Scan(ctx, p, &scan.Message{
		Direction: pipeline.Request, API: codec.OpenAIChat, Body: wrapMessages(messages),
		ID: c.id, FindingsOnly: true,
	}, &conv)
	if r.Doc == nil {
		// Refused before anything was read (size, malformed, budget).
		return []*unit{{v: r.Verdict}}
	}
	req, resp := messageUnits(r.Doc, r.API)
	req.v = r.Verdict
	units := []*unit{req}
	if resp != nil {
		resp.v = h.evaluate(ctx, p, &resp.in, c.id)
		units = append(units, resp)
	}
	return units
}

// guardVerdicts answers with the Lakera-shaped result of the verdicts.
func (h *Handler) guardVerdicts(w http.ResponseWriter, c *call, p *pipeline.Policy, opts guardOptions, units []*unit) {
	verdicts := make([]pipeline.Verdict, len(units))
	for i, u := range units {
		u.v.DecisionID = c.id
		dir := u.in.Direction
		if dir == 0 {
			dir = pipeline.Request
		}
		h.audit(c, dir, u.api, &u.v, u.in.Segments)
		verdicts[i] = u.v
	}
	c.outcome = outcomeOf(verdicts)
	resp := buildGuardResponse(p, opts, units, c.id)
	w.Header().Set(HeaderDecision, strongestLabel(verdicts))
	writeJSON(w, http.StatusOK, resp)
}

// guardRefusal answers a request that failed before it had units.
func (h *Handler) guardRefusal(w http.ResponseWriter, c *call, v *pipeline.Verdict) {
	resp := buildGuardResponse(nil, guardOptions{breakdown: true}, []*unit{{v: *v}}, c.id)
	w.Header().Set(HeaderDecision, "block")
	writeJSON(w, http.StatusOK, resp)
}

// buildGuardResponse maps verdicts onto Lakera's answer.
//
// flagged is true when any verdict blocks or redacts, including every
// fail-closed verdict: the gateway then refuses (or masks) as it would for a
// detection, whatever it is configured to do on a guard *error* (many fail
// open). A shadow policy answers flagged: false with the detections in the
// breakdown, as a Lakera project in monitoring mode does.
func buildGuardResponse(p *pipeline.Policy, opts guardOptions, units []*unit, id string) guardResponse {
	resp := guardResponse{Payload: []payloadItem{}, Metadata: guardMetadata{RequestUUID: id}}
	var (
		block, unmaskable bool
		rules             []string
		strongest         *pipeline.Verdict
	)
	b := newBreakdown(p, opts.project)
	type spanKey struct {
		msg, start, end int
		typ             string
	}
	seen := map[spanKey]bool{}
	for _, u := range units {
		v := &u.v
		if strongest == nil || v.Action > strongest.Action || (v.Cause != pipeline.CauseNone && strongest.Cause == pipeline.CauseNone) {
			strongest = v
		}
		if v.Action != pipeline.Allow {
			resp.Flagged = true
		}
		if v.Action == pipeline.Block {
			block = true
		}
		for _, r := range v.Rules() {
			if !slices.Contains(rules, r) {
				rules = append(rules, r)
			}
		}
		if v.Cause != pipeline.CauseNone {
			b.add("llmfw/fail_closed", "", true, -1, "fail_closed."+string(v.Cause), 1)
			continue
		}
		for fi := range v.Findings {
			f := &v.Findings[fi]
			act := acting(v, f)
			typ := lakeraType(f)
			msg := -1
			if len(f.Spans) > 0 && f.Spans[0].Segment >= 0 && f.Spans[0].Segment < len(u.msg) {
				msg = u.msg[f.Spans[0].Segment]
			}
			b.add(typ, f.Family, act, msg, f.Rule, f.Score)
			if !act || !maskable(f) {
				continue
			}
			for _, s := range f.Spans {
				item, ok := payloadFor(u, f, s, typ)
				if !ok {
					unmaskable = true
					continue
				}
				if item.Field != "" || item.MessageID < 0 {
					unmaskable = true
				}
				key := spanKey{item.MessageID, item.Start, item.End, item.DetectorType}
				if seen[key] {
					continue
				}
				seen[key] = true
				if opts.payload {
					resp.Payload = append(resp.Payload, item)
				}
			}
		}
	}
	// Gateways mask instead of blocking when every detected type is pii/*
	// (LiteLLM, Portkey). When our verdict blocks, or a span cannot be
	// written as Lakera offsets into a string content, say so with a
	// detected type they cannot mask.
	if resp.Flagged && (block || unmaskable) && b.onlyPII() {
		b.add("llmfw/policy_block", "", true, -1, strings.Join(rules, ","), 1)
	}
	slices.SortStableFunc(resp.Payload, func(x, y payloadItem) int {
		if x.MessageID != y.MessageID {
			return x.MessageID - y.MessageID
		}
		return x.Start - y.Start
	})
	if opts.breakdown {
		items := b.list()
		resp.Breakdown = &items
	}
	if opts.devInfo {
		d := buildInfo()
		if p != nil {
			d.ModelVersion = p.Version
		}
		resp.DevInfo = &d
	}
	if strongest != nil {
		if rules == nil {
			rules = []string{}
		}
		resp.LLMFW = guardDecision{
			DecisionID: id, Action: strongest.Label(), WouldBe: strongest.WouldBe.String(),
			Policy: strongest.Policy, PolicyVersion: strongest.PolicyVersion, Rules: rules, Cause: string(strongest.Cause),
		}
	}
	return resp
}

// acting reports whether a finding is one the verdict acts on: the
// policy's action for it (per entity, rule or detector) is not "log". In
// shadow mode nothing acts, but the would-be action still counts, so a
// gateway sees what enforcing would flag.
func acting(v *pipeline.Verdict, f *pipeline.Finding) bool {
	return v.WouldBe != pipeline.Allow && f.Action != pipeline.Allow
}

// maskable reports whether a finding belongs in payload: sensitive data a
// client can cut out (Lakera returns PII, profanity and custom regex
// matches there).
func maskable(f *pipeline.Finding) bool {
	return f.Family == "pii" || f.Family == "secrets" || f.Rule == "content.profanity"
}

// payloadFor maps one span onto Lakera's offsets: code points into the text.
func payloadFor(u *unit, f *pipeline.Finding, s pipeline.Span, typ string) (payloadItem, bool) {
	if s.Segment < 0 || s.Segment >= len(u.in.Segments) {
		return payloadItem{}, false
	}
	text := u.in.Segments[s.Segment].Text
	if s.Start < 0 || s.End > len(text) || s.Start >= s.End {
		return payloadItem{}, false
	}
	start := utf8.RuneCountInString(text[:s.Start])
	item := payloadItem{
		Start: start, End: start + utf8.RuneCountInString(text[s.Start:s.End]),
		Text: text[s.Start:s.End], DetectorType: typ, Labels: []string{label(f)},
		MessageID: u.msg[s.Segment], Rule: f.Rule,
	}
	if !u.whole[s.Segment] {
		item.Field = u.in.Segments[s.Segment].Field
	}
	return item, true
}

func label(f *pipeline.Finding) string {
	if f.Entity != "" {
		return strings.ToLower(f.Entity)
	}
	_, after, _ := strings.Cut(f.Rule, ".")
	return after
}

// piiTypes maps our pii rules onto Lakera's detector types where Lakera has
// one; other entities keep their own name under pii/.
var piiTypes = map[string]string{
	"pii.email":       "pii/email",
	"pii.phone":       "pii/phone_number",
	"pii.credit_card": "pii/credit_card",
	"pii.iban":        "pii/iban_code",
	"pii.ssn":         "pii/us_social_security_number",
	"pii.ip_address":  "pii/ip_address",
	"pii.address":     "pii/address",
}

// lakeraType names a finding in Lakera's detector taxonomy. Families Lakera
// has no name for are reported as llmfw/<family>. Secrets are reported
// under pii/ so that gateways which mask only pii/* (LiteLLM, Portkey) mask
// a redacted credential too; llmfw_family says what they are.
func lakeraType(f *pipeline.Finding) string {
	switch f.Family {
	case "injection":
		return "prompt_attack"
	case "pii":
		if t, ok := piiTypes[f.Rule]; ok {
			return t
		}
		return "pii/" + label(f)
	case "secrets":
		if f.Entity == "" {
			return "pii/secret"
		}
		return "pii/" + strings.ToLower(f.Entity)
	case "content":
		cat := strings.TrimPrefix(f.Rule, "content.")
		if cat == "kids.link" {
			return "unknown_links"
		}
		return "moderated_content/" + strings.ReplaceAll(cat, ".", "_")
	case "output":
		if f.Rule == "output.exfil_link" || f.Rule == "output.exfil_image" {
			return "unknown_links"
		}
	}
	return "llmfw/" + f.Family
}

// baseTypes are the detector types a family reports when it ran and found
// nothing, the way Lakera lists every detector of the policy.
var baseTypes = map[string][]string{
	"injection": {"prompt_attack"},
	"pii":       {"pii/address", "pii/credit_card", "pii/email", "pii/iban_code", "pii/ip_address", "pii/phone_number", "pii/us_social_security_number"},
	"content":   {"moderated_content/crime", "moderated_content/hate", "moderated_content/profanity", "moderated_content/sexual", "moderated_content/violence", "moderated_content/weapons"},
	"output":    {"llmfw/output", "unknown_links"},
}

// breakdown collects one entry per family and detector type (Lakera lists
// one per detector and type).
type breakdown struct {
	project, policy string
	order           map[string]int
	items           []breakdownItem
	index           map[string]int
}

func newBreakdown(p *pipeline.Policy, project string) *breakdown {
	b := &breakdown{project: project, order: map[string]int{}, index: map[string]int{}}
	if p == nil {
		return b
	}
	b.policy = p.Name
	if b.project == "" {
		b.project = p.Name
	}
	for i, d := range p.Detectors() {
		fam := d.Family()
		b.order[fam] = i
		types, ok := baseTypes[fam]
		if !ok {
			types = []string{"llmfw/" + fam}
		}
		for _, t := range types {
			b.add(t, fam, false, -1, "", 0)
		}
	}
	return b
}

func (b *breakdown) add(typ, family string, detected bool, msg int, rule string, score float64) {
	key := family + "\x00" + typ
	i, ok := b.index[key]
	if !ok {
		order, known := b.order[family]
		if !known {
			order = len(b.order) + 1
		}
		detector := "llmfw"
		if family != "" {
			detector = "llmfw-" + family
		}
		b.items = append(b.items, breakdownItem{
			ProjectID: b.project, PolicyID: b.policy, DetectorID: detector, DetectorType: typ,
			Family: family, order: order,
		})
		i = len(b.items) - 1
		b.index[key] = i
	}
	it := &b.items[i]
	if detected && !it.Detected {
		it.Detected = true
		it.MessageID = max(msg, 0)
	}
	if rule != "" && !slices.Contains(it.Rules, rule) {
		it.Rules = append(it.Rules, rule)
	}
	it.Score = max(it.Score, score)
}

// onlyPII reports whether every detected type is pii/* (what gateways read
// as "mask instead of block").
func (b *breakdown) onlyPII() bool {
	for _, it := range b.items {
		if it.Detected && !strings.HasPrefix(it.DetectorType, "pii/") {
			return false
		}
	}
	return true
}

func (b *breakdown) list() []breakdownItem {
	out := slices.Clone(b.items)
	slices.SortStableFunc(out, func(x, y breakdownItem) int {
		if x.order != y.order {
			return x.order - y.order
		}
		return strings.Compare(x.DetectorType, y.DetectorType)
	})
	if out == nil {
		out = []breakdownItem{}
	}
	return out
}

// strongestLabel is the x-llmfw-decision value for a request's verdicts.
func strongestLabel(vs []pipeline.Verdict) string {
	label := "allow"
	var best pipeline.Action
	for i := range vs {
		switch {
		case vs[i].Action > best:
			best, label = vs[i].Action, vs[i].Action.String()
		case vs[i].Shadow && best == pipeline.Allow:
			label = "shadow"
		}
	}
	return label
}

var buildInfo = sync.OnceValue(func() devInfo {
	d := devInfo{Version: "devel"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return d
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		d.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			d.GitRevision = s.Value
		case "vcs.time":
			d.GitTimestamp = s.Value
		}
	}
	return d
})

// isTrue accepts dev_info as a boolean (Lakera's documented form) or any
// non-empty object.
func isTrue(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return bytes.Equal(raw, []byte("true")) || (len(raw) > 2 && raw[0] == '{')
}

// jsonProblem describes a JSON error without quoting the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return te.Field + ": want " + te.Type.String()
	}
	return "invalid JSON"
}
