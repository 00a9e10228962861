package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	sseframe "github.com/llm-firewall/llm-firewall/internal/codec/sse"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// SSEDecoder decodes a text/event-stream as it arrives, in chunks split at
// any byte (inside events, lines and UTF-8 runes). It assembles the same
// streams as DecodeSSE and, per complete event, says which bytes of which
// stream the event carried and where its literals lie, so a guard can hold
// events back, scan the assembled text, and release each event as it was
// or rewritten.
type SSEDecoder struct {
	a     *sseAssembler
	buf   []byte // received bytes not yet part of a complete event
	seen  int    // bytes of buf already searched for the end of the event
	total int    // bytes received
	first bool   // no event completed yet (a BOM may lead the stream)
}

// SSEEvent is one complete event.
type SSEEvent struct {
	Raw    []byte // the event's bytes as received, its ending blank line included
	Name   string // the event field ("" for data-only events)
	Data   string // the data lines joined with "\n" (invalid UTF-8 replaced)
	Done   bool   // a data: [DONE] terminator
	Deltas []SSEDelta
	// Whole are texts carried whole by this event (a Responses .done
	// event, a content block's name and input...), with where their
	// literals lie in Data.
	Whole []SSEWhole
}

// SSEDelta says that an event appended Stream's text [Start, End), read
// from the JSON string literal Data[LitStart:LitEnd] (quotes included);
// LitStart is -1 when the text is the whole (non-JSON) data payload.
type SSEDelta struct {
	Stream           int
	Start, End       int
	LitStart, LitEnd int
}

// SSEWhole is a whole text of one event.
type SSEWhole struct {
	Segment          pipeline.Segment
	LitStart, LitEnd int
}

// NewSSEDecoder starts decoding a stream of api. Limits bound the whole
// stream (MaxBytes and MaxNodes over all events; MaxDepth per payload).
func NewSSEDecoder(api API, lim Limits) *SSEDecoder {
	d := &Document{api: api, meta: pipeline.Meta{API: string(api), Stream: true}}
	maxNodes := lim.nodeCap(lim.MaxBytes)
	if lim.MaxBytes <= 0 && lim.MaxNodes == 0 {
		maxNodes = -1
	}
	return &SSEDecoder{
		a:     &sseAssembler{d: d, lim: lim, maxNodes: maxNodes, budget: maxNodes, byKey: map[streamKey]int{}},
		first: true,
	}
}

// Streams is the number of assembled streams so far.
func (s *SSEDecoder) Streams() int { return len(s.a.streams) }

// Stream describes assembled stream k: its text so far and what it is.
func (s *SSEDecoder) Stream(k int) (text []byte, seg pipeline.Segment) {
	st := s.a.streams[k]
	return st.text, pipeline.Segment{Role: st.role, Provenance: st.prov, Field: st.field, Kind: st.kind, Group: st.group}
}

// Meta is what the stream said about itself so far (model, stream flag).
func (s *SSEDecoder) Meta() pipeline.Meta {
	m := s.a.d.meta
	m.BodyBytes = s.total
	m.Messages = len(s.a.streams)
	return m
}

// Feed takes the next chunk and returns the events it completed. At eos a
// trailing event without its blank line is completed too (clients differ
// on it; it is scanned and released like any other).
func (s *SSEDecoder) Feed(chunk []byte, eos bool) ([]*SSEEvent, error) {
	s.total += len(chunk)
	if lim := s.a.lim.MaxBytes; lim > 0 && s.total > lim {
		return nil, fmt.Errorf("event stream is over the %d-byte limit: %w", lim, ErrTooLarge)
	}
	s.buf = append(s.buf, chunk...)
	var out []*SSEEvent
	for {
		end := s.eventEnd(eos)
		if end < 0 {
			break
		}
		raw := bytes.Clone(s.buf[:end])
		s.buf = append(s.buf[:0], s.buf[end:]...)
		s.seen = 0
		ev, err := s.dispatch(raw)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	if eos && len(s.buf) > 0 {
		raw := bytes.Clone(s.buf)
		s.buf = s.buf[:0]
		ev, err := s.dispatch(raw)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// eventEnd finds the end of the first complete event in buf, or -1
// (sseframe.End; seen keeps where to resume).
func (s *SSEDecoder) eventEnd(eos bool) int {
	end, resume := sseframe.End(s.buf, s.seen, eos)
	if end < 0 {
		s.seen = resume
	}
	return end
}

// dispatch parses one event's fields and hands its data to the assembler.
func (s *SSEDecoder) dispatch(raw []byte) (*SSEEvent, error) {
	text := string(raw)
	if s.first {
		text = strings.TrimPrefix(text, "\uFEFF")
		s.first = false
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	f := sseframe.ParseEvent(text)
	ev := &SSEEvent{Raw: raw, Name: f.Name}
	if !f.HasData {
		return ev, nil
	}
	ev.Data = f.Data
	if strings.TrimSpace(ev.Data) == "[DONE]" {
		ev.Done = true
		return ev, nil
	}
	a := s.a
	a.cur = ev
	before := len(a.d.segments)
	err := a.event(ev.Name, ev.Data)
	a.cur = nil
	for i := before; i < len(a.d.segments); i++ {
		l := a.d.locs[i]
		ev.Whole = append(ev.Whole, SSEWhole{Segment: a.d.segments[i], LitStart: int(l.start), LitEnd: int(l.end)})
	}
	a.d.segments, a.d.locs = a.d.segments[:before], a.d.locs[:before]
	return ev, err
}

// SSEEdit replaces the text of one literal of an event's data.
type SSEEdit struct {
	LitStart, LitEnd int    // the literal in Data (quotes included); -1 for the whole data
	Text             string // the new decoded text
}

// RewriteEvent returns ev's bytes with the given literals replaced: the
// event's other lines (event, id, retry) are kept, the data is written
// back as data lines, and the event ends with a blank line.
func RewriteEvent(ev *SSEEvent, edits []SSEEdit) ([]byte, error) {
	if len(edits) == 0 {
		return ev.Raw, nil
	}
	data := ev.Data
	// Apply from the last literal back so offsets stay valid.
	sorted := append([]SSEEdit(nil), edits...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].LitStart > sorted[j-1].LitStart; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for i, e := range sorted {
		if e.LitStart < 0 {
			if len(sorted) != 1 {
				return nil, fmt.Errorf("rewrite event: a whole-data edit cannot be combined with others")
			}
			data = e.Text
			continue
		}
		if e.LitStart > e.LitEnd || e.LitEnd > len(data) || (i > 0 && e.LitEnd > sorted[i-1].LitStart) {
			return nil, fmt.Errorf("rewrite event: literal [%d,%d) out of range or overlapping", e.LitStart, e.LitEnd)
		}
		lit, err := encodeJSONString([]byte(e.Text))
		if err != nil {
			return nil, err
		}
		data = data[:e.LitStart] + string(lit) + data[e.LitEnd:]
	}
	var b bytes.Buffer
	for _, line := range strings.FieldsFunc(string(ev.Raw), func(r rune) bool { return r == '\n' || r == '\r' }) {
		field, _, _ := strings.Cut(line, ":")
		if field != "data" && field != "" {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// StreamErrorEvents is the end a client sees when a stream is cut: an
// error event its provider's SDK raises as an error, then a clean end.
// OpenAI chat and completions streams get a data-only {"error":{...}}
// chunk and data: [DONE] (openai-go fails on an "error" member); the
// Responses API gets an error event that carries both its documented
// fields and an "error" member; Anthropic gets event: error (which
// anthropic-sdk-go raises).
func StreamErrorEvents(api API, code, message string) []byte {
	var b bytes.Buffer
	switch api {
	case AnthropicMessages:
		var e anthropicError
		e.Type = "error"
		e.Error.Type = "invalid_request_error"
		e.Error.Message = message
		js, _ := json.Marshal(e)
		b.WriteString("event: error\ndata: ")
		b.Write(js)
		b.WriteString("\n\n")
	case OpenAIResponses:
		type inner struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		js, _ := json.Marshal(struct {
			Type    string  `json:"type"`
			Code    string  `json:"code"`
			Message string  `json:"message"`
			Param   *string `json:"param"`
			Error   inner   `json:"error"`
		}{"error", code, message, nil, inner{"invalid_request_error", code, message}})
		b.WriteString("event: error\ndata: ")
		b.Write(js)
		b.WriteString("\n\n")
	default:
		b.WriteString("data: ")
		b.Write(ErrorBody(api, 403, code, message))
		b.WriteString("\n\ndata: [DONE]\n\n")
	}
	return b.Bytes()
}
