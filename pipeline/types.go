package pipeline

import (
	"strings"
	"sync"
)

// Direction says which half of the HTTP transaction a text travels in.
type Direction uint8

const (
	Request Direction = iota + 1
	Response
)

func (d Direction) String() string {
	switch d {
	case Request:
		return "request"
	case Response:
		return "response"
	}
	return "unknown"
}

// Role is the speaker of a segment as the LLM API names it.
type Role string

const (
	RoleSystem    Role = "system" // system and developer instructions
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"    // tool results and tool-call arguments
	RoleUnknown   Role = "unknown" // text in a field the codec does not model
)

// Provenance is where a text of the role usually comes from: the user's
// input, the application's system text, the model's output, a tool's
// result; "" for RoleUnknown.
func (r Role) Provenance() Provenance {
	switch r {
	case RoleUser:
		return FromUser
	case RoleSystem:
		return FromSystem
	case RoleAssistant:
		return FromModel
	case RoleTool:
		return FromTool
	}
	return ""
}

// Provenance says where a segment's text came from, which decides how much
// it is trusted (a tool result is data, never instructions).
type Provenance string

const (
	FromUser     Provenance = "user_input"   // typed by the end user or the calling app
	FromSystem   Provenance = "system"       // the application's own instructions
	FromTool     Provenance = "tool_result"  // output of a tool / function call
	FromDocument Provenance = "document"     // retrieved or embedded documents
	FromModel    Provenance = "model_output" // produced by the LLM (responses, earlier assistant turns)
	// FromToolDefinition is a declared tool's description, parameter
	// descriptions and property names: text the model reads as
	// instructions, written by whoever serves the tool (an MCP server, a
	// plugin), so untrusted like a tool result. Its segments have
	// RoleTool; a policy may trust them as system text
	// (Policy.TrustToolDefinitions).
	FromToolDefinition Provenance = "tool_definition"
)

// Segment is one piece of text a codec found in a body. Field is a JSON-path
// like locator ("messages[2].content[0].text") for audit records; the codec
// keeps the byte location needed to write a redaction back.
type Segment struct {
	Text       string
	Role       Role
	Provenance Provenance
	Field      string
	Kind       SegmentKind
	// Group ties together the parts of one text the model reads joined:
	// the text parts of one message (OpenAI content parts, Anthropic text
	// blocks), the text blocks of one streamed answer. Segments with the
	// same nonzero Group, role, provenance and kind KindText are scanned
	// as one text (see JoinedInput); 0 is a text on its own.
	Group int32
}

// SegmentKind says what a segment's text is, beyond its role: most are
// prose; tool calls carry a tool name and JSON arguments.
type SegmentKind uint8

const (
	KindText     SegmentKind = iota // message text, documents, tool results, ...
	KindToolName                    // the name of a tool the model calls (response) or called (request history)
	KindToolArgs                    // the arguments of a tool call, a JSON document as the model wrote it
)

func (k SegmentKind) String() string {
	switch k {
	case KindToolName:
		return "tool_name"
	case KindToolArgs:
		return "tool_args"
	}
	return "text"
}

// Meta is what a codec learned about the request besides its texts.
type Meta struct {
	API             string // codec name, e.g. "openai.chat"
	Model           string
	Stream          bool
	Messages        int // number of messages / turns / inputs
	RequestedTokens int // max_tokens / max_output_tokens / max_completion_tokens asked for; 0 when absent
	BodyBytes       int // decoded body size
	// Unscanned lists content the codec found but cannot read as text
	// (token-ID prompts, images, audio, files); the policy decides whether
	// a body carrying it may pass (Policy.AllowTokenPrompts,
	// Policy.AllowUnscannedMedia).
	Unscanned []Unscanned
	// ServerSide lists what the provider adds to the model's context that
	// no firewall in front of it sees (hosted tools, remote MCP servers,
	// stored state); the policy decides (Policy.ServerSide).
	ServerSide []ServerSide
	// Tools are the tool definitions the request declares, by name (for
	// tool-definition pins, which hash them only when a policy asks).
	Tools []ToolDef
}

// ToolDef is one declared tool: its name and its definition as sent (a
// view of the body, not a copy).
type ToolDef struct {
	Name       string
	Definition string
}

// ServerSide is one request feature that makes the provider read content
// we never see.
type ServerSide struct {
	Field string
	Kind  ServerSideKind
}

// ServerSideKind says what server-side content a request asks for.
type ServerSideKind string

// The kinds of server-side content.
const (
	ServerHostedTool  ServerSideKind = "hosted_tool"  // web_search, file_search, code_interpreter, ...
	ServerRemoteMCP   ServerSideKind = "remote_mcp"   // tools served by a remote MCP server
	ServerStoredState ServerSideKind = "stored_state" // previous_response_id, stored prompts, conversations
	ServerWebSocket   ServerSideKind = "websocket"    // an upgrade to WebSocket (Realtime API): frames are not scanned
)

// Unscanned is one piece of content no detector can read.
type Unscanned struct {
	Field string        // where it is, e.g. "prompt[0]" or "messages[1].content[2]"
	Kind  UnscannedKind // what it is
}

// UnscannedKind says what unreadable content is.
type UnscannedKind string

// The kinds of unreadable content.
const (
	UnscannedTokens UnscannedKind = "tokens" // a prompt given as token IDs
	UnscannedMedia  UnscannedKind = "media"  // an image, audio or file part
)

// Input is everything one evaluation looks at.
type Input struct {
	Direction Direction
	Meta      Meta
	Segments  []Segment
	// Views[i] is the normalized view of Segments[i]. The engine fills it
	// once per evaluation (when a normalizer is installed and a detector
	// of the policy asks for views), so every detector reads the same view.
	Views []View
	// Route names the route the transaction took (Envoy's route name when
	// it is known); rules may differ per route.
	Route string
	// Exchange is what the transaction carries from its request to its
	// response; nil outside a transaction (a lone scan).
	Exchange *Exchange
}

// Exchange is what one transaction learned on its request that its response
// checks need: the canary planted in the system prompt and the system prompt
// itself. It never leaves the process: not logged, not cached (the cache key
// hashes it), freed with the transaction.
type Exchange struct {
	// Canary is the per-transaction token the policy planted in the system
	// prompt; its appearance in the response is system-prompt leakage.
	// Empty when the policy plants none.
	Canary string
	// System holds the request's system and developer instruction texts,
	// for leakage by overlap when there is no canary.
	System []string
	// Leak remembers what the answer has reproduced of System so far, so
	// a streamed answer's leak is measured over everything released, not
	// window by window (the output family keeps it). Nil: each scan
	// stands alone.
	Leak *LeakMemory
}

// LeakMemory records which passages of the system prompt an answer has
// reproduced, across the windows of one streamed answer. The output family
// numbers the passages (its shingles, in a fixed order derived from
// Exchange.System); the memory only keeps their marks. Safe for concurrent
// use.
type LeakMemory struct {
	mu   sync.Mutex
	bits []uint64
}

// Merge adds the passages marked in hit to the memory and marks in hit
// every passage the memory holds, in one step.
func (m *LeakMemory) Merge(hit []bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if need := (len(hit) + 63) / 64; len(m.bits) < need {
		m.bits = append(m.bits, make([]uint64, need-len(m.bits))...)
	}
	for i, h := range hit {
		w, b := i/64, uint64(1)<<(i%64)
		if h {
			m.bits[w] |= b
		}
		hit[i] = m.bits[w]&b != 0
	}
}

// View is a segment's canonical text, produced once by the normalizer
// (detectors/normalize) and shared by every detector.
type View struct {
	// Text is what detectors match against: NFKC, confusables folded,
	// invisible characters removed, letter spacing collapsed, lower-cased.
	// Alternative readings (leetspeak, stripped markup, decoded escapes)
	// are Layers, so Text keeps keys and IDs intact for other detectors.
	Text string
	// Offsets maps Text back to the original: Offsets[i] is the byte offset
	// in the segment's original text of Text's byte i; len(Offsets) ==
	// len(Text)+1 and the last entry is the end of the mapped original.
	Offsets []int32
	// Signals are the obfuscations found on the way; hidden or encoded
	// content is itself evidence.
	Signals []Signal
	// Layers are payloads decoded out of the text (base64, hex, URL and
	// HTML escapes, ROT13, reversed text, Unicode tag characters, ...).
	Layers []Layer
}

// Signal counts one kind of obfuscation in a segment.
type Signal struct {
	Kind  string // e.g. "zero_width", "bidi", "tag_chars", "homoglyph", "letter_spacing", "leetspeak", "base64"
	Count int
}

// Layer is one decoded payload: its normalized text and the span of the
// original segment text it was decoded from.
type Layer struct {
	Encoding   string // "base64", "hex", "url", "html", "rot13", "reversed", "tags", ...
	Depth      int    // 1 for a payload decoded from the text itself, 2 for one inside it, ...
	Text       string // normalized decoded text
	Start, End int    // byte span in the original segment text
}

// OriginalSpan maps a byte range of v.Text to a byte range of the original
// segment text.
func (v *View) OriginalSpan(start, end int) (int, int) {
	if len(v.Offsets) == 0 {
		return start, end
	}
	start = min(max(start, 0), len(v.Offsets)-1)
	end = min(max(end, start), len(v.Offsets)-1)
	if end == start {
		return int(v.Offsets[start]), int(v.Offsets[start])
	}
	// The end maps through the last byte included, so a match ending inside
	// an expanded character covers that whole character.
	return int(v.Offsets[start]), int(max(v.Offsets[end], v.Offsets[end-1]+1))
}

// EstimatedTokens is a cheap, tokenizer-free upper-bound-ish estimate used by
// limits: about four bytes of English per token, never fewer than one token
// per whitespace-separated word.
func (in *Input) EstimatedTokens() int {
	total := 0
	for _, s := range in.Segments {
		byBytes := (len(s.Text) + 3) / 4
		words := len(strings.Fields(s.Text))
		total += max(byBytes, words)
	}
	return total
}

// Span is a half-open byte range [Start, End) into Segments[Segment].Text.
type Span struct {
	Segment    int
	Start, End int
}

// Finding is one thing a detector noticed. Detectors never decide the
// action: the policy maps findings to actions.
type Finding struct {
	Rule   string  // stable, documented rule ID, e.g. "limits.body_bytes"
	Family string  // detector family, e.g. "limits"
	Score  float64 // confidence in [0, 1]
	Spans  []Span  // where in the segments; empty for whole-input findings
	Entity string  // entity type where there is one (EMAIL, AWS_KEY, ...)
	// Status is the HTTP status the detector suggests when this finding
	// blocks (413 for an oversize body); 0 means the policy's block status.
	Status int
	// Transient marks a finding that reflects the detector's state rather
	// than the input (a failing or circuit-broken WASM rule): a verdict
	// with one is never cached. A transient finding with Score 0 is only
	// that mark (a rule skipped without a verdict) and never acts.
	Transient bool `json:",omitempty"`
	// Action is what the policy does with this finding (its entity's,
	// rule's or detector's action; allow for log), set in the verdict's
	// findings. In shadow mode it is what enforcing would do.
	Action Action `json:"-"`
}

// Action is what happens to the transaction. Ordered: a higher action wins.
type Action uint8

const (
	Allow Action = iota
	Redact
	Block
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Redact:
		return "redact"
	case Block:
		return "block"
	}
	return "unknown"
}

// ParseAction reads a policy action name. "pseudonymize" is a redaction
// whose placeholder is reversible (see Vault); "log" records the finding and
// allows.
func ParseAction(s string) (Action, bool) {
	a, _, ok := parseActionSpec(s)
	return a, ok
}

func parseActionSpec(s string) (a Action, pseudonym, ok bool) {
	switch s {
	case "allow", "log":
		return Allow, false, true
	case "redact":
		return Redact, false, true
	case "pseudonymize":
		return Redact, true, true
	case "block":
		return Block, false, true
	}
	return Allow, false, false
}

// Redaction replaces Span with With when the body is written back.
type Redaction struct {
	Span Span
	With string
	// Entity is the entity type (EMAIL, AWS_ACCESS_KEY, ...) or, when the
	// finding has none, its rule ID.
	Entity string
	// Pseudonym asks the transport for a reversible placeholder instead of
	// With: the transaction's vault maps the span's text to a token such as
	// <EMAIL_1> and restores it in the response.
	Pseudonym bool
}

// Cause names why a verdict was forced rather than decided by detectors.
type Cause string

const (
	CauseNone      Cause = ""
	CauseBudget    Cause = "budget_exceeded"
	CausePanic     Cause = "detector_panic"
	CauseError     Cause = "detector_error"
	CauseMalformed Cause = "malformed_body"
	CauseEncoding  Cause = "unsupported_encoding"
	CauseTooLarge  Cause = "body_too_large"
	CauseOverload  Cause = "overload"
	CauseUnscanned Cause = "unscanned_body"
	CauseCanceled  Cause = "canceled"
)

// Verdict is the one answer for one evaluated message. It is what the audit
// log records (never the raw text).
type Verdict struct {
	Action     Action
	Status     int    // HTTP status when Action is Block
	Reason     string // safe to show the client; never contains input text
	Cause      Cause  // set when the verdict was forced (fail-closed paths)
	Findings   []Finding
	Redactions []Redaction

	// WouldBe is the action an enforcing policy would have taken; it differs
	// from Action only in shadow mode.
	WouldBe Action
	Shadow  bool

	Policy        string
	PolicyVersion string
	DecisionID    string // stamped by the caller (one per transaction)
	Cached        bool

	// MaxScore is the highest score of any finding of a detector whose
	// action changes traffic (block, redact), below its threshold too: what
	// an evaluation sweeps a threshold over. Never part of the decision.
	MaxScore float64
}

// Rules returns the distinct rule IDs of the findings, in order.
func (v *Verdict) Rules() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range v.Findings {
		if !seen[f.Rule] {
			seen[f.Rule] = true
			out = append(out, f.Rule)
		}
	}
	return out
}
