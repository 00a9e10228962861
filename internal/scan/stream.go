package scan

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Stream scans a streamed (text/event-stream) answer as it arrives and
// releases it event by event, never before its text was checked.
//
// Each chunk is fed to an incremental SSE decoder that assembles the text
// streams (deltas of content, tool-call arguments, ...). The last
// holdback bytes of every stream stay behind: an event is released only
// when all the text it carries lies before that window, so a pattern up
// to holdback bytes long is seen whole by the detectors before any of it
// leaves. Each scan covers the new text plus holdback bytes of context;
// at the end of the stream the whole text is scanned once more, so the
// final verdict is the one the buffered path would reach.
//
// Redactions and pseudonym restorations are applied to the events as they
// are released (spans across events included: the placeholder goes where
// the span starts, the rest of the span is cut from later events). A block
// ends the stream with the provider's error event and a clean end; what
// was released stays released, nothing after it is.
type Stream struct {
	step     *Step
	policy   *pipeline.Policy
	api      codec.API
	route    string
	conv     *Conversation
	budget   func() (context.Context, context.CancelFunc)
	dec      *codec.SSEDecoder
	holdback int

	held     []*codec.SSEEvent // complete events not yet released, in order
	open     []int             // per stream: where an open PEM block begins, -1 for none (findOpenBlocks)
	wholes   []wholeRef        // every whole text seen, for the final scan
	released []int             // per stream: text bytes released
	scanned  []int             // per stream: text bytes scanned
	edits    map[int][]textEdit
	whole    map[*codec.SSEEvent][]wholeEdit

	findings []pipeline.Finding
	seen     map[findingKey]bool
	wouldBe  pipeline.Action
	shadow   bool
	final    *pipeline.Verdict // set when the stream ended (or was cut)
}

type wholeRef struct {
	ev  *codec.SSEEvent
	idx int
}

type textEdit struct {
	start, end int
	with       string
}

type wholeEdit struct {
	idx int
	textEdit
}

type findingKey struct {
	rule       string
	ref        int // stream, or -1-i for whole text i
	start, end int
}

// segRef says where a scanned segment comes from: a stream window starting
// at off, or a whole text.
type segRef struct {
	stream int // -1 for a whole text
	off    int
	whole  wholeRef
	wi     int // index in wholes
}

// NewStream starts the scan of one streamed answer under policy p. api is
// the request's API; conv carries the request's exchange and pseudonyms;
// budget gives the context of each window's evaluation (the transport's
// per-message budget).
func (s *Step) NewStream(p *pipeline.Policy, api codec.API, route string, conv *Conversation, budget func() (context.Context, context.CancelFunc)) *Stream {
	if conv != nil && conv.Exchange != nil && conv.Exchange.Leak == nil {
		// The system-prompt leak check measures everything the answer
		// has said so far, not each window alone.
		conv.Exchange.Leak = &pipeline.LeakMemory{}
	}
	return &Stream{
		step: s, policy: p, api: api, route: route, conv: conv, budget: budget,
		dec:      codec.NewSSEDecoder(api, codec.Limits{MaxBytes: s.MaxBodyBytes}),
		holdback: p.StreamHoldback,
		edits:    map[int][]textEdit{},
		whole:    map[*codec.SSEEvent][]wholeEdit{},
		seen:     map[findingKey]bool{},
	}
}

// ErrStreamCut is returned once the stream has been cut: every later chunk
// is dropped.
var ErrStreamCut = errors.New("stream cut")

// Feed takes one chunk and returns the bytes to send on in its place. When
// the stream must be cut, out ends with the provider's error events and
// g.final is a block verdict.
func (g *Stream) Feed(chunk []byte, eos bool) (out []byte, err error) {
	if g.final != nil {
		return nil, ErrStreamCut
	}
	evs, err := g.dec.Feed(chunk, eos)
	if err != nil {
		v := g.failVerdict(err)
		return g.cut(&v), nil
	}
	g.held = append(g.held, evs...)
	newWholes := len(g.wholes)
	for _, ev := range evs {
		for i := range ev.Whole {
			g.wholes = append(g.wholes, wholeRef{ev, i})
		}
	}
	for len(g.released) < g.dec.Streams() {
		g.released, g.scanned = append(g.released, 0), append(g.scanned, 0)
	}
	if v, cut := g.scan(newWholes, eos); cut {
		return g.cut(v), nil
	}
	g.findOpenBlocks()
	if !eos && g.openBlockTooLong() {
		v := g.step.Engine.FailClosed(g.policy, pipeline.Response, pipeline.CauseTooLarge, 502,
			"a private key block in the streamed answer stayed open past the hold-back bound")
		return g.cut(&v), nil
	}
	out, err = g.release(eos)
	if err != nil {
		v := g.step.Engine.FailClosed(g.policy, pipeline.Response, pipeline.CauseError, 500, "streamed answer could not be rewritten")
		return g.cut(&v), nil
	}
	if eos {
		v := g.verdict()
		g.final = &v
	}
	return out, nil
}

func (g *Stream) failVerdict(err error) pipeline.Verdict {
	if errors.Is(err, codec.ErrTooLarge) {
		return g.step.TooLarge(g.policy, pipeline.Response, g.step.MaxBodyBytes+1)
	}
	return g.step.Engine.FailClosed(g.policy, pipeline.Response, pipeline.CauseMalformed, 502, "malformed event stream")
}

// scan evaluates the new text (with context) and the whole texts from
// g.wholes[newWholes:], or at eos everything. It returns a verdict when the
// stream must be cut.
func (g *Stream) scan(newWholes int, eos bool) (*pipeline.Verdict, bool) {
	in := pipeline.Input{Meta: g.dec.Meta(), Route: g.route}
	var refs []segRef
	for k := 0; k < g.dec.Streams(); k++ {
		text, seg := g.dec.Stream(k)
		if !eos && len(text) == g.scanned[k] {
			continue
		}
		from := 0
		if !eos {
			// The new text with the hold-back window before it, and
			// never less than everything not yet released: text held
			// behind an open PEM block is scanned whole once it ends.
			from = min(max(0, g.scanned[k]-g.holdback), g.released[k])
		}
		seg.Text = string(text[from:])
		in.Segments = append(in.Segments, seg)
		refs = append(refs, segRef{stream: k, off: from})
		g.scanned[k] = len(text)
	}
	first := newWholes
	if eos {
		first = 0
	}
	for i := first; i < len(g.wholes); i++ {
		w := g.wholes[i]
		in.Segments = append(in.Segments, w.ev.Whole[w.idx].Segment)
		refs = append(refs, segRef{stream: -1, whole: w, wi: i})
	}
	if len(in.Segments) == 0 {
		return nil, false
	}
	ctx, cancel := g.budget()
	v, restores := g.step.Window(ctx, g.policy, &in, g.conv)
	cancel()
	if v.Cause != pipeline.CauseNone {
		return &v, true
	}
	g.shadow = g.shadow || v.Shadow
	g.wouldBe = max(g.wouldBe, v.WouldBe)
	// A match that runs to the end of the text received so far may not be
	// finished: "Fran" is a name until "ce" arrives. When it starts inside
	// the held-back window nothing of it can be released before the next
	// scan sees it again (or the final one at the end of the stream), so it
	// waits instead of being redacted or recorded now. A longer open match
	// (a PEM block still being streamed) is applied: it holds its text.
	open := func(sp pipeline.Span) bool {
		r := refs[sp.Segment]
		if eos || r.stream < 0 {
			return false
		}
		end := g.scanned[r.stream]
		return r.off+sp.End >= end && r.off+sp.Start >= end-g.holdback
	}
	for _, f := range v.Findings {
		if len(f.Spans) > 0 && open(f.Spans[0]) && f.Action != pipeline.Block {
			continue
		}
		key := findingKey{rule: f.Rule, ref: -2}
		if len(f.Spans) > 0 {
			r := refs[f.Spans[0].Segment]
			if r.stream >= 0 {
				key.ref, key.start, key.end = r.stream, r.off+f.Spans[0].Start, r.off+f.Spans[0].End
			} else {
				key.ref, key.start, key.end = -1-r.wi, f.Spans[0].Start, f.Spans[0].End
			}
		}
		if !g.seen[key] {
			g.seen[key] = true
			f.Spans = nil // window offsets mean nothing outside this scan
			g.findings = append(g.findings, f)
		}
	}
	if v.Action == pipeline.Block {
		return &v, true
	}
	for _, r := range v.Redactions {
		if open(r.Span) {
			continue
		}
		if !g.apply(refs, r) && !r.Pseudonym && r.With != "" {
			// The text to cut has already gone out: stop the rest.
			bv := v.Escalated(g.policy.BlockStatus, "a redaction reached text already released")
			return &bv, true
		}
	}
	// A restoration over released text would leave the token there, which
	// is safe: nothing to cut.
	for _, r := range restores {
		g.apply(refs, r)
	}
	return nil, false
}

// apply records one edit of a scanned segment; false when it starts in
// stream text already released (see addEdit).
func (g *Stream) apply(refs []segRef, r pipeline.Redaction) bool {
	ref := refs[r.Span.Segment]
	if ref.stream < 0 {
		g.addWholeEdit(ref.whole, textEdit{r.Span.Start, r.Span.End, r.With})
		return true
	}
	return g.addEdit(ref.stream, textEdit{ref.off + r.Span.Start, ref.off + r.Span.End, r.With})
}

// addEdit records an edit of stream k; overlapping edits merge (the first
// one's replacement wins). It reports false when the edit starts in text
// already released and does not continue an edit begun before it.
func (g *Stream) addEdit(k int, e textEdit) bool {
	list := g.edits[k]
	for i := range list {
		x := &list[i]
		if e.start < x.end && x.start < e.end || e == *x {
			x.start, x.end = min(x.start, e.start), max(x.end, e.end)
			return true
		}
	}
	if e.start < g.released[k] {
		return false
	}
	list = append(list, e)
	sort.Slice(list, func(i, j int) bool { return list[i].start < list[j].start })
	g.edits[k] = list
	return true
}

func (g *Stream) addWholeEdit(w wholeRef, e textEdit) {
	for _, x := range g.whole[w.ev] {
		if x.idx == w.idx && e.start < x.end && x.start < e.end {
			return // the first edit of a span wins
		}
	}
	g.whole[w.ev] = append(g.whole[w.ev], wholeEdit{w.idx, e})
}

// release sends on every held event whose text lies before the holdback
// window (all of them at eos), rewritten where edits touch it.
func (g *Stream) release(eos bool) ([]byte, error) {
	var out []byte
	for len(g.held) > 0 {
		ev := g.held[0]
		if !eos {
			for _, d := range ev.Deltas {
				text, _ := g.dec.Stream(d.Stream)
				if d.End > g.releasable(d.Stream, text) {
					return out, nil
				}
			}
		}
		b, err := g.render(ev)
		if err != nil {
			return out, err
		}
		out = append(out, b...)
		for _, d := range ev.Deltas {
			g.released[d.Stream] = max(g.released[d.Stream], d.End)
		}
		delete(g.whole, ev)
		g.held = g.held[1:]
	}
	return out, nil
}

// maxOpenBlock bounds how much of a stream is held back behind an open
// multi-line secret (a PEM block begun and not yet ended); past it the
// stream is cut (see openBlockTooLong).
const maxOpenBlock = 16 << 10

// releasable is how far stream k's text may go out: up to the hold-back
// window, and never past the start of a PEM block that began after what
// was released and has not ended — a private key's lines go out only once
// the whole block was scanned (and redacted).
func (g *Stream) releasable(k int, text []byte) int {
	limit := len(text) - g.holdback
	if at := g.open[k]; at >= 0 {
		limit = min(limit, at)
	}
	return limit
}

// findOpenBlocks finds, once per chunk, where each stream's open PEM block
// begins. Releasing events does not change it: nothing goes out past an
// open block's start.
func (g *Stream) findOpenBlocks() {
	g.open = g.open[:0]
	for k := 0; k < g.dec.Streams(); k++ {
		text, _ := g.dec.Stream(k)
		g.open = append(g.open, openBlock(text, g.released[k]))
	}
}

// openBlock is where a PEM block ("-----BEGIN ") that starts at or after
// from and has no "-----END " after it begins, or -1.
func openBlock(text []byte, from int) int {
	from = max(0, min(from, len(text)))
	begin := bytes.LastIndex(text[from:], []byte("-----BEGIN "))
	if begin < 0 {
		return -1
	}
	begin += from
	if pemEnded(text[begin:]) {
		return -1
	}
	return begin
}

// pemEnded reports a complete END line in text ("-----END " and its closing
// "-----" on the same line): a stream cut inside the END marker has not
// ended its block yet, and releasing then would let the key go out before
// a detector could see the block whole.
func pemEnded(text []byte) bool {
	for {
		i := bytes.Index(text, []byte("-----END "))
		if i < 0 {
			return false
		}
		rest := text[i+len("-----END "):]
		if eol := bytes.IndexByte(rest, '\n'); eol >= 0 {
			rest = rest[:eol]
		}
		if bytes.Contains(rest, []byte("-----")) {
			return true
		}
		text = text[i+1:]
	}
}

// openBlockTooLong reports a stream that has held an open PEM block back
// for longer than maxOpenBlock: it is cut rather than held without bound.
func (g *Stream) openBlockTooLong() bool {
	for k, at := range g.open {
		if text, _ := g.dec.Stream(k); at >= 0 && len(text)-at > maxOpenBlock {
			return true
		}
	}
	return false
}

// render is the event as it goes out: its raw bytes, or rebuilt with the
// edited texts of its deltas and whole texts.
func (g *Stream) render(ev *codec.SSEEvent) ([]byte, error) {
	var edits []codec.SSEEdit
	for _, d := range ev.Deltas {
		list := g.edits[d.Stream]
		touched := false
		for _, e := range list {
			if e.start < d.End && d.Start < e.end {
				touched = true
				break
			}
		}
		if !touched {
			continue
		}
		text, _ := g.dec.Stream(d.Stream)
		var b []byte
		pos := d.Start
		for _, e := range list {
			if e.end <= d.Start || e.start >= d.End {
				continue
			}
			if e.start > pos {
				b = append(b, text[pos:e.start]...)
			}
			if e.start >= d.Start {
				b = append(b, e.with...) // the placeholder goes where the span starts
			}
			pos = max(pos, min(e.end, d.End))
		}
		if pos < d.End {
			b = append(b, text[pos:d.End]...)
		}
		edits = append(edits, codec.SSEEdit{LitStart: d.LitStart, LitEnd: d.LitEnd, Text: string(b)})
	}
	byIdx := map[int][]textEdit{}
	for _, we := range g.whole[ev] {
		byIdx[we.idx] = append(byIdx[we.idx], we.textEdit)
	}
	for idx, list := range byIdx {
		w := ev.Whole[idx]
		sort.Slice(list, func(i, j int) bool { return list[i].start < list[j].start })
		text := w.Segment.Text
		var b []byte
		pos := 0
		for _, e := range list {
			if e.start < pos {
				continue
			}
			b = append(b, text[pos:e.start]...)
			b = append(b, e.with...)
			pos = e.end
		}
		b = append(b, text[pos:]...)
		edits = append(edits, codec.SSEEdit{LitStart: w.LitStart, LitEnd: w.LitEnd, Text: string(b)})
	}
	return codec.RewriteEvent(ev, edits)
}

// cut ends the stream: nothing held goes out; the provider's error event
// and a clean end do.
func (g *Stream) cut(v *pipeline.Verdict) []byte {
	g.held = nil
	fv := *v
	fv.Findings = append(slices.Clone(g.findings), v.Findings...)
	g.final = &fv
	code := v.ErrorCode()
	msg := v.Reason
	if msg == "" {
		msg = "response blocked by policy"
	}
	return codec.StreamErrorEvents(g.api, code, msg)
}

// Final is the stream's verdict once it ended or was cut; nil before.
func (g *Stream) Final() *pipeline.Verdict { return g.final }

// verdict is the stream's one decision, for the audit record and metrics.
func (g *Stream) verdict() pipeline.Verdict {
	p := g.policy
	v := pipeline.Verdict{Policy: p.Name, PolicyVersion: p.Version, Findings: g.findings, WouldBe: g.wouldBe, Shadow: g.shadow}
	v.Action = g.wouldBe
	if g.shadow {
		v.Action = pipeline.Allow
	}
	return v
}
