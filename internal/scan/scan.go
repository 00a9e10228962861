// Package scan is the one scan step every transport runs on a message
// body: decode it (content-encoding, then the API's codec with its
// fallbacks), evaluate it with the policy, and work out what goes on —
// the body rewritten with the verdict's redactions, the request's canary
// and the answer's restored pseudonyms, or a block. ext_proc (extproc) and
// the guard HTTP API (guard) call it with the same facts and get the same
// answer on the same bytes; each keeps only its own transport's concerns.
// A streamed answer is scanned window by window with Window, which shares
// the evaluation and the pseudonym restoration.
package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/codec/contentenc"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Step runs the scan step. It is safe for concurrent use.
type Step struct {
	Engine *pipeline.Engine
	// MaxBodyBytes bounds a body held in memory, also after decompression.
	MaxBodyBytes int
	// Log gets a line when a redaction cannot be written back (no text).
	Log *slog.Logger
	// Pins holds the tool-definition pins of policies with tool_pin (nil:
	// nothing is pinned; counted as unpinned).
	Pins *ToolPins
}

// Message is one body and what the transport knows about it.
type Message struct {
	Direction pipeline.Direction
	// API is the request's API (codec.ForRequest of its path), also for
	// the answer.
	API codec.API
	// ContentType and Encoding are the body's headers ("" when the
	// transport has none: the body is then sniffed); repeated fields
	// joined with ", " as HTTP does.
	ContentType, Encoding string
	// Status is the answer's HTTP status (0: unknown, read as success).
	Status int
	Body   []byte
	Route  string
	// ID is the decision ID, for the one log line the step writes.
	ID string
	// Client is the caller's identity when the transport knows one
	// (x-llmfw-client, set by a trusted filter); tool pins are per route
	// and client.
	Client string
	// Role makes the body one plain-text message of that role (a text
	// scan); empty for bodies in an API's format.
	Role pipeline.Role
	// EncodingFixed says the body goes on under its original
	// content-encoding (its headers have left): a content-decoded body can
	// then not be rewritten, so a redaction blocks and no canary is planted.
	EncodingFixed bool
	// PlantCanary asks for the policy's canary in the request's system
	// prompt (a transport that forwards the request rewritten).
	PlantCanary bool
	// FindingsOnly says the transport answers with the findings, not a
	// body (the Lakera-shaped guard API): nothing is rewritten.
	FindingsOnly bool
}

// Conversation is what one exchange carries from its request to its
// answer; the zero value is an exchange with no request seen. It lives and
// dies with the exchange: never logged, never cached.
type Conversation struct {
	// Exchange is the request's system prompt and planted canary, for the
	// answer's leakage checks (set by the request's scan).
	Exchange *pipeline.Exchange
	// Vault holds the request's pseudonyms, restored in the answer.
	Vault pipeline.Vault
}

// Result is the verdict and what to send on.
type Result struct {
	Verdict pipeline.Verdict
	// API is the codec the body was read with: Message.API, or text when
	// it was scanned leniently.
	API codec.API
	// Doc is the decoded body (nil when the verdict came before decoding).
	Doc *codec.Document
	// Input is what the detectors saw (a text scan's segments carry its
	// role); empty when the verdict came before decoding.
	Input pipeline.Input
	// Body is the body to send on when it changed; nil: as it came.
	Body []byte
	// Decoded says Body is content-decoded: drop content-encoding.
	Decoded bool
	// Restored and Unrestored count the answer's pseudonyms written back,
	// and those that could not be (the answer then goes on as it came).
	Restored, Unrestored int
}

// Segments are what was scanned, for the audit record's evidence.
func (r *Result) Segments() []pipeline.Segment { return r.Input.Segments }

// Stream reports that a request asked for a streamed answer.
func (r *Result) Stream() bool { return r.Doc != nil && r.Doc.Meta().Stream }

// Scan runs the step on one whole body. Every path ends in a verdict;
// conv is read (the answer) and written (the request's exchange, canary
// and pseudonyms).
func (s *Step) Scan(ctx context.Context, p *pipeline.Policy, m *Message, conv *Conversation) Result {
	r := Result{API: m.API}
	body, decoded, v, ok := s.contentDecode(p, m)
	if !ok {
		r.Verdict = v
		return r
	}
	r.Decoded = decoded
	if ctx.Err() != nil {
		// The budget is gone before decoding: the engine's fail-closed
		// verdict for it.
		r.Verdict = s.Engine.Evaluate(ctx, p, &pipeline.Input{Direction: m.Direction})
		return r
	}
	if m.Direction == pipeline.Response && m.Role == "" && !m.FindingsOnly && isEventStream(m, body) && !(decoded && m.EncodingFixed) {
		return s.scanStream(ctx, p, m, body, decoded, conv)
	}
	doc, api, err := s.decode(p, m, body)
	if err != nil {
		if errors.Is(err, codec.ErrTooLarge) {
			r.Verdict = s.TooLarge(p, m.Direction, len(body))
		} else {
			r.Verdict = s.Engine.FailClosed(p, m.Direction, pipeline.CauseMalformed, MalformedStatus(m.Direction),
				"malformed "+string(m.API)+" body: "+err.Error())
		}
		return r
	}
	r.Doc, r.API = doc, api
	if m.Direction == pipeline.Request && p.LLMTraffic && !api.IsLLM() && m.Role == "" {
		// A route the policy marks as LLM traffic carries nothing else:
		// a body we could only read as text is refused.
		r.Verdict = s.Engine.FailClosed(p, m.Direction, pipeline.CauseMalformed, MalformedStatus(m.Direction),
			"the body is not a request of a known LLM API, and this route carries only LLM traffic (policy llm_traffic)")
		return r
	}
	in := pipeline.Input{Direction: m.Direction, Meta: doc.Meta(), Segments: doc.Segments(), Route: m.Route}
	if m.Role != "" {
		in.Segments, in.Meta.Messages = asMessage(in.Segments, m.Role), 1
	}
	if m.Direction == pipeline.Response {
		in.Exchange = conv.Exchange
	}
	r.Verdict = s.Engine.Evaluate(ctx, p, &in)
	r.Input = in
	if m.Direction == pipeline.Request {
		s.pinTools(p, m, &r.Verdict, in.Meta.Tools)
	}
	if r.Verdict.Action == pipeline.Block || m.FindingsOnly {
		return r
	}
	// Besides redactions a body changes for two reasons of the exchange's
	// own: a canary planted in the request's system prompt, and the
	// request's pseudonyms restored in the answer.
	var (
		note     string
		restores []pipeline.Redaction
	)
	if m.Direction == pipeline.Request {
		note = s.plantCanary(p, m, doc, decoded, conv)
	} else {
		restores = conv.Vault.Restorations(in.Segments)
	}
	if r.Verdict.Action == pipeline.Redact || note != "" || len(restores) > 0 {
		s.rewrite(p, m, &r, in.Segments, note, restores, conv)
	}
	return r
}

// rewrite writes the body back with the verdict's redactions (request
// pseudonyms made reversible), the canary note and the restorations.
// Redactions that cannot be written back faithfully block; a note or
// restorations that cannot be written are dropped, and the body goes on as
// the verdict allows.
func (s *Step) rewrite(p *pipeline.Policy, m *Message, r *Result, segs []pipeline.Segment, note string, restores []pipeline.Redaction, conv *Conversation) {
	mustRedact := r.Verdict.Action == pipeline.Redact
	reps := r.Verdict.Redactions
	if m.Direction == pipeline.Request && mustRedact {
		conv.Vault.Pseudonymize(reps, segs)
	}
	if len(restores) > 0 {
		reps = append(slices.Clone(reps), restores...)
	}
	var (
		out []byte
		err error
	)
	if m.EncodingFixed && r.Decoded {
		// It would go out decoded under its old content-encoding.
		err = errors.New("a compressed body whose headers have left cannot be rewritten in place")
	} else {
		out, err = r.Doc.RewriteWithNote(reps, note)
	}
	switch {
	case err != nil && mustRedact:
		if s.Log != nil {
			s.Log.Info("redaction cannot be written back in place; blocking", "decision_id", m.ID, "api", string(r.API), "err", err)
		}
		r.Verdict = r.Verdict.Escalated(p.BlockStatus, "cannot be redacted in place")
	case err != nil:
		// Only the exchange's own additions failed: the body goes on as it
		// is.
		if note != "" && conv.Exchange != nil {
			conv.Exchange.Canary = ""
		}
		r.Unrestored = len(restores)
	default:
		r.Body, r.Restored = out, len(restores)
	}
}

// plantCanary records the request's system prompt for the answer's checks
// and, when the policy asks for a canary and the body has a system prompt
// to carry it, makes one and returns the note to plant.
func (s *Step) plantCanary(p *pipeline.Policy, m *Message, doc *codec.Document, decoded bool, conv *Conversation) string {
	conv.Exchange = pipeline.ExchangeFor(doc.Segments())
	if !m.PlantCanary || !p.Canary || p.Mode != pipeline.Enforce || !doc.CanPlantSystem() || (decoded && m.EncodingFixed) {
		return ""
	}
	token, note, ok := s.Engine.NewCanary()
	if !ok {
		return ""
	}
	conv.Exchange.Canary = token
	return note
}

// Window evaluates one window of a streamed answer (its new text with
// context) and returns the verdict and the request's pseudonyms to restore
// in it, for the transport to apply to the events it releases.
func (s *Step) Window(ctx context.Context, p *pipeline.Policy, in *pipeline.Input, conv *Conversation) (pipeline.Verdict, []pipeline.Redaction) {
	in.Direction, in.Exchange = pipeline.Response, conv.Exchange
	v := s.Engine.EvaluatePart(ctx, p, in)
	if v.Action == pipeline.Block || v.Cause != pipeline.CauseNone || conv.Vault.Len() == 0 {
		return v, nil
	}
	return v, conv.Vault.Restorations(in.Segments)
}

// contentDecode checks the body's size and undoes its content-encoding
// within the bound; ok false carries the refusal.
func (s *Step) contentDecode(p *pipeline.Policy, m *Message) (body []byte, decoded bool, v pipeline.Verdict, ok bool) {
	if v, ok := s.Engine.CheckBodySize(p, m.Direction, len(m.Body)); !ok {
		return nil, false, v, false
	}
	enc := strings.TrimSpace(m.Encoding)
	if enc == "" || strings.EqualFold(enc, "identity") {
		return m.Body, false, v, true
	}
	out, err := contentenc.Decompress(enc, m.Body, s.MaxBodyBytes)
	switch {
	case errors.Is(err, contentenc.ErrTooLarge):
		return nil, false, s.TooLarge(p, m.Direction, s.MaxBodyBytes+1), false
	case errors.Is(err, contentenc.ErrUnsupportedEncoding):
		return nil, false, s.Engine.FailClosed(p, m.Direction, pipeline.CauseEncoding, EncodingStatus(m.Direction),
			"content-encoding is not supported (gzip, deflate, br and zstd are)"), false
	case err != nil:
		return nil, false, s.Engine.FailClosed(p, m.Direction, pipeline.CauseMalformed, MalformedStatus(m.Direction),
			"body could not be decoded from its content-encoding"), false
	}
	if v, ok := s.Engine.CheckBodySize(p, m.Direction, len(out)); !ok {
		return nil, false, v, false
	}
	return out, true, v, true
}

// decode picks the codec for the body and returns the document and the
// API it was read as. On an LLM route a malformed request is refused
// (unless the policy relaxes it); whatever is scanned as text goes through
// the lenient decoder, which also decodes every string literal so escapes
// cannot hide words. An answer that is not what the API promises is
// scanned as JSON or text, never skipped.
func (s *Step) decode(p *pipeline.Policy, m *Message, body []byte) (*codec.Document, codec.API, error) {
	lim := codec.Limits{MaxBytes: s.MaxBodyBytes}
	// Text is read as a lenient upstream reads it: every escaped literal,
	// form value and UTF-16/32 text decoded (codec.DecodeText).
	lenient := func() (*codec.Document, codec.API, error) {
		doc, err := codec.DecodeText(body, m.Direction, m.ContentType, lim)
		return doc, codec.PlainText, err
	}
	if m.Role != "" {
		// One plain message: read as text whatever it looks like.
		if m.Direction == pipeline.Request {
			doc, err := codec.DecodeRequest(codec.PlainText, body, lim)
			return doc, codec.PlainText, err
		}
		doc, err := codec.DecodeResponse(codec.PlainText, body, lim)
		return doc, codec.PlainText, err
	}
	if m.Direction == pipeline.Request {
		if m.API == codec.PlainText {
			// No known API: not "one text" either (an unknown path, or a
			// stream whose request headers were skipped).
			return lenient()
		}
		doc, err := codec.DecodeRequest(m.API, body, lim)
		if err == nil || errors.Is(err, codec.ErrTooLarge) {
			return doc, m.API, err
		}
		if m.API.IsLLM() && p.RejectMalformed {
			return nil, m.API, err
		}
		return lenient()
	}
	if isEventStream(m, body) {
		doc, err := codec.DecodeSSE(m.API, body, lim)
		return doc, m.API, err
	}
	api := m.API
	if (m.Status != 0 && (m.Status < 200 || m.Status > 299)) || !api.IsLLM() {
		api = codec.GenericJSON
	}
	if m.ContentType != "" && !codec.IsJSONContentType(m.ContentType) {
		return lenient()
	}
	doc, err := codec.DecodeResponse(api, body, lim)
	if err == nil || errors.Is(err, codec.ErrTooLarge) {
		return doc, api, err
	}
	if api != codec.GenericJSON {
		if doc, err := codec.DecodeResponse(codec.GenericJSON, body, lim); err == nil {
			return doc, codec.GenericJSON, nil
		}
	}
	return lenient()
}

// isEventStream says an answer is a server-sent event stream: by its
// content-type, or, when the transport has none, by its first line.
func isEventStream(m *Message, body []byte) bool {
	return codec.IsEventStream(m.ContentType) || (m.ContentType == "" && m.API.IsLLM() && codec.LooksLikeSSE(body))
}

// scanStream scans a whole event-stream answer with the same stream
// scanner a streamed one goes through, in one window: the same verdict,
// and the same events rewritten, whichever way the answer arrived.
func (s *Step) scanStream(ctx context.Context, p *pipeline.Policy, m *Message, body []byte, decoded bool, conv *Conversation) Result {
	st := s.NewStream(p, m.API, m.Route, conv, func() (context.Context, context.CancelFunc) { return ctx, func() {} })
	out, _ := st.Feed(body, true) // the first feed is never after a cut
	r := Result{API: m.API, Decoded: decoded, Verdict: *st.Final()}
	if r.Verdict.Cause == pipeline.CauseNone {
		// Windows are evaluated as parts: the decision is counted here,
		// once (fail-closed verdicts were counted when made).
		s.Engine.Record(pipeline.Response, &r.Verdict)
	}
	if r.Verdict.Action != pipeline.Block && !bytes.Equal(out, body) {
		r.Body = out
	}
	return r
}

// asMessage gives every segment of a text the role (and its provenance)
// of the one message it is, as `llm-firewall scan` evaluates a text; the
// plain codec's own segments are role-less.
func asMessage(segs []pipeline.Segment, role pipeline.Role) []pipeline.Segment {
	out := make([]pipeline.Segment, len(segs))
	for i, s := range segs {
		s.Role, s.Provenance = role, role.Provenance()
		out[i] = s
	}
	return out
}

// TooLarge is the refusal of a body of n bytes over the step's bound (or
// the policy's, which answers first).
func (s *Step) TooLarge(p *pipeline.Policy, dir pipeline.Direction, n int) pipeline.Verdict {
	if v, ok := s.Engine.CheckBodySize(p, dir, n); !ok {
		return v
	}
	return s.Engine.FailClosed(p, dir, pipeline.CauseTooLarge, TooLargeStatus(dir),
		fmt.Sprintf("%s body exceeds the firewall's %d-byte bound", dir, s.MaxBodyBytes))
}

// TooLargeStatus, EncodingStatus and MalformedStatus are the HTTP statuses
// of those refusals: the client's fault in a request (413, 415, 400), the
// upstream's in an answer (502).
func TooLargeStatus(dir pipeline.Direction) int { return byDirection(dir, 413) }

// EncodingStatus: see TooLargeStatus.
func EncodingStatus(dir pipeline.Direction) int { return byDirection(dir, 415) }

// MalformedStatus: see TooLargeStatus.
func MalformedStatus(dir pipeline.Direction) int { return byDirection(dir, 400) }

func byDirection(dir pipeline.Direction, request int) int {
	if dir == pipeline.Response {
		return 502
	}
	return request
}
