package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// scanRequest is a POST /v1/scan request: either text, or body with the
// API it is in (api, or the path it would be sent to).
type scanRequest struct {
	// Text is scanned as one message of Role (default user; assistant when
	// Direction is response).
	Text *string `json:"text"`
	Role string  `json:"role"`
	// Body is an LLM request or response body: a JSON value as the API
	// takes it, or a JSON string holding the raw body (a streamed answer's
	// server-sent events, a body that is not JSON).
	Body json.RawMessage `json:"body"`
	// API is a codec name (openai.chat, openai.responses,
	// openai.completions, openai.embeddings, anthropic.messages, json,
	// text); Path picks it the way ext_proc does ("/v1/chat/completions").
	// Neither: every string of the body is scanned (json).
	API       string `json:"api"`
	Path      string `json:"path"`
	Direction string `json:"direction"` // request (default) or response
	Policy    string `json:"policy"`    // a policy name; empty for the default
}

// scanResponse is the full verdict. HTTP status is 200 whenever there is a
// verdict, fail-closed ones included (action block, cause set): a scan that
// could not finish is a refusal, never an error a client may skip.
type scanResponse struct {
	DecisionID    string          `json:"decision_id"`
	Flagged       bool            `json:"flagged"` // the policy would block or redact (also in shadow mode), or the scan failed closed
	Action        string          `json:"action"`  // what the caller should do: allow, redact or block
	WouldBe       string          `json:"would_be"`
	Shadow        bool            `json:"shadow"`
	Status        int             `json:"status,omitempty"` // the HTTP status ext_proc would answer a block with
	Reason        string          `json:"reason,omitempty"`
	Cause         string          `json:"cause,omitempty"` // set when the verdict was forced (fail closed)
	Policy        string          `json:"policy"`
	PolicyVersion string          `json:"policy_version"`
	API           string          `json:"api"`
	Direction     string          `json:"direction"`
	Rules         []string        `json:"rules"`
	Findings      []scanFinding   `json:"findings"`
	RedactedText  *string         `json:"redacted_text,omitempty"`
	RedactedBody  json.RawMessage `json:"redacted_body,omitempty"`
	Cached        bool            `json:"cached"`
}

type scanFinding struct {
	Rule   string     `json:"rule"`
	Family string     `json:"family"`
	Score  float64    `json:"score"`
	Entity string     `json:"entity,omitempty"`
	Spans  []scanSpan `json:"spans"`
}

// scanSpan locates a finding: Start/End are UTF-8 byte offsets and
// CharStart/CharEnd Unicode code point offsets into the text at Field.
type scanSpan struct {
	Segment   int    `json:"segment"`
	Field     string `json:"field"`
	Role      string `json:"role"`
	Start     int    `json:"start"`
	End       int    `json:"end"`
	CharStart int    `json:"char_start"`
	CharEnd   int    `json:"char_end"`
}

// scan serves POST /v1/scan.
func (h *Handler) scan(w http.ResponseWriter, c *call) {
	var req scanRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.outcome = "invalid"
		writeError(w, http.StatusBadRequest, "invalid_request", "body must be a JSON object with text or body: "+jsonProblem(err))
		return
	}
	dir := pipeline.Request
	switch strings.ToLower(req.Direction) {
	case "", "request":
	case "response":
		dir = pipeline.Response
	default:
		c.outcome = "invalid"
		writeError(w, http.StatusBadRequest, "invalid_request", "direction must be request or response")
		return
	}
	hasBody := len(bytes.TrimSpace(req.Body)) > 0 && !bytes.Equal(bytes.TrimSpace(req.Body), []byte("null"))
	if (req.Text == nil) == !hasBody {
		c.outcome = "invalid"
		writeError(w, http.StatusBadRequest, "invalid_request", "give exactly one of text or body")
		return
	}
	api := codec.PlainText
	if hasBody {
		api = codec.GenericJSON
		switch {
		case req.API != "":
			api = codec.API(req.API)
			if !api.IsLLM() && api != codec.GenericJSON && api != codec.PlainText {
				c.outcome = "invalid"
				writeError(w, http.StatusBadRequest, "invalid_request", "unknown api; want openai.chat, openai.responses, openai.completions, openai.embeddings, anthropic.messages, json or text")
				return
			}
		case req.Path != "":
			api = codec.ForRequest(req.Path, "application/json")
		}
	}
	var role pipeline.Role
	if req.Text != nil {
		var ok bool
		if role, ok = textRole(req.Role, dir); !ok {
			c.outcome = "invalid"
			writeError(w, http.StatusBadRequest, "invalid_request", "role must be user, system, assistant or tool")
			return
		}
	}

	ps := h.policies()
	if ps == nil {
		v := h.engine.FailClosed(nil, dir, pipeline.CauseError, http.StatusServiceUnavailable, "no policy loaded")
		v.DecisionID = c.id
		h.audit(c, dir, string(api), &v, nil)
		c.outcome = "fail_closed"
		h.scanAnswer(w, &unit{v: v, api: string(api), in: pipeline.Input{Direction: dir}}, false)
		return
	}
	p := h.selectPolicy(ps, req.Policy, "policy")

	// The bytes to scan: the text, the body's JSON, or the raw body a JSON
	// string holds.
	var raw []byte
	quoted := false
	switch {
	case req.Text != nil:
		raw = []byte(*req.Text)
	case req.Body[0] == '"':
		var s string
		if err := json.Unmarshal(req.Body, &s); err != nil {
			c.outcome = "invalid"
			writeError(w, http.StatusBadRequest, "invalid_request", "body: "+jsonProblem(err))
			return
		}
		raw, quoted = []byte(s), true
	default:
		raw = req.Body
	}

	u := h.scanUnit(c, p, dir, api, raw, role)
	u.v.DecisionID = c.id
	h.audit(c, dir, u.api, &u.v, u.in.Segments)
	c.outcome = outcomeOf([]pipeline.Verdict{u.v})
	h.scanAnswer(w, u, quoted || req.Text != nil)
}

// textRole maps the role of a text scan.
func textRole(s string, dir pipeline.Direction) (pipeline.Role, bool) {
	switch strings.ToLower(s) {
	case "":
		if dir == pipeline.Response {
			return pipeline.RoleAssistant, true
		}
		return pipeline.RoleUser, true
	case "user":
		return pipeline.RoleUser, true
	case "system", "developer":
		return pipeline.RoleSystem, true
	case "assistant":
		return pipeline.RoleAssistant, true
	case "tool":
		return pipeline.RoleTool, true
	}
	return "", false
}

// scanUnit runs the scan step on a text or body; every path ends in a
// verdict, and a redaction that cannot be written back becomes a block, as
// on ext_proc.
func (h *Handler) scanUnit(c *call, p *pipeline.Policy, dir pipeline.Direction, api codec.API, raw []byte, role pipeline.Role) *unit {
	ctx, cancel := context.WithTimeout(c.ctx, h.cfg.Budget)
	defer cancel()
	// A fresh exchange: the guard sees one message, so a request's
	// pseudonyms are never restored and no canary is planted.
	var conv scan.Conversation
	r := h.step.Scan(ctx, p, &scan.Message{Direction: dir, API: api, Body: raw, Role: role, ID: c.id}, &conv)
	u := &unit{api: string(r.API), v: r.Verdict, out: r.Body, in: r.Input}
	u.in.Direction = dir // also when the verdict came before decoding
	return u
}

// scanAnswer writes the verdict; asString says the input was text (or a
// raw body in a JSON string), so a redaction is returned as a string.
func (h *Handler) scanAnswer(w http.ResponseWriter, u *unit, asString bool) {
	v := &u.v
	resp := scanResponse{
		DecisionID: v.DecisionID, Shadow: v.Shadow,
		Status: v.Status, Reason: v.Reason, Cause: string(v.Cause),
		Policy: v.Policy, PolicyVersion: v.PolicyVersion, API: u.api,
		Direction: u.in.Direction.String(), Cached: v.Cached,
		Rules: v.Rules(), Findings: []scanFinding{},
	}
	if v.Action == pipeline.Redact && u.out != nil {
		if asString {
			s := string(u.out)
			resp.RedactedText = &s
		} else {
			resp.RedactedBody = u.out
		}
	}
	resp.Action, resp.WouldBe = v.Action.String(), v.WouldBe.String()
	resp.Flagged = v.WouldBe != pipeline.Allow || v.Cause != pipeline.CauseNone
	if resp.Rules == nil {
		resp.Rules = []string{}
	}
	for _, f := range v.Findings {
		sf := scanFinding{Rule: f.Rule, Family: f.Family, Score: f.Score, Entity: f.Entity, Spans: []scanSpan{}}
		for _, s := range f.Spans {
			if s.Segment < 0 || s.Segment >= len(u.in.Segments) {
				continue
			}
			seg := u.in.Segments[s.Segment]
			if s.Start < 0 || s.End > len(seg.Text) || s.Start > s.End {
				continue
			}
			cs := utf8.RuneCountInString(seg.Text[:s.Start])
			sf.Spans = append(sf.Spans, scanSpan{
				Segment: s.Segment, Field: seg.Field, Role: string(seg.Role), Start: s.Start, End: s.End,
				CharStart: cs, CharEnd: cs + utf8.RuneCountInString(seg.Text[s.Start:s.End]),
			})
		}
		resp.Findings = append(resp.Findings, sf)
	}
	w.Header().Set(HeaderDecision, v.Label())
	writeJSON(w, http.StatusOK, resp)
}

// scanRefusal answers a request that failed before it had a verdict.
func (h *Handler) scanRefusal(w http.ResponseWriter, c *call, v *pipeline.Verdict) {
	h.scanAnswer(w, &unit{v: *v, in: pipeline.Input{Direction: pipeline.Request}}, false)
}
