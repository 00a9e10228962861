package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// edit replaces body[start:end] with with.
type edit struct {
	start, end int
	with       []byte
}

// Rewrite returns a copy of the body with each redaction's span replaced.
// Overlapping spans in a segment are merged (the merged range takes the
// replacement of the span that starts first). A JSON segment is re-encoded
// as a whole string literal in place of the original one; every byte
// outside the changed literals stays identical.
//
// Some documents cannot take redactions, and Rewrite then fails (the
// caller blocks instead): literal segments of DecodeLenient, and every
// segment of DecodeSSE. With no redactions Rewrite always returns a copy
// of the body.
func (d *Document) Rewrite(reps []pipeline.Redaction) ([]byte, error) {
	return d.RewriteWithNote(reps, "")
}

// RewriteWithNote is Rewrite that also plants note in the request's system
// instructions (see CanPlantSystem): a new system message at the start of
// OpenAI chat messages, appended to Responses instructions or to Anthropic's
// system (a string, or a new text block), or a new member when the body
// has none. An empty note plants nothing.
func (d *Document) RewriteWithNote(reps []pipeline.Redaction, note string) ([]byte, error) {
	if len(reps) == 0 && note == "" {
		return bytes.Clone(d.body), nil
	}
	if d.noRewrite != "" {
		return nil, fmt.Errorf("rewrite: %s", d.noRewrite)
	}
	edits, suffix, err := d.plantEdits(note)
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(reps)
	for i, r := range sorted {
		s := r.Span
		if s.Segment < 0 || s.Segment >= len(d.segments) {
			return nil, fmt.Errorf("rewrite: redaction %d: segment %d out of range (%d segments)", i, s.Segment, len(d.segments))
		}
		if s.Start < 0 || s.End < s.Start || s.End > len(d.segments[s.Segment].Text) {
			return nil, fmt.Errorf("rewrite: redaction %d: span [%d,%d) out of range for segment %d of %d bytes", i, s.Start, s.End, s.Segment, len(d.segments[s.Segment].Text))
		}
	}
	slices.SortStableFunc(sorted, func(a, b pipeline.Redaction) int {
		if a.Span.Segment != b.Span.Segment {
			return a.Span.Segment - b.Span.Segment
		}
		if a.Span.Start != b.Span.Start {
			return a.Span.Start - b.Span.Start
		}
		return b.Span.End - a.Span.End // longer first, so it absorbs the shorter
	})
	for i := 0; i < len(sorted); {
		seg := sorted[i].Span.Segment
		j := i
		for j < len(sorted) && sorted[j].Span.Segment == seg {
			j++
		}
		merged := mergeSpans(sorted[i:j])
		i = j
		segEdits, err := d.segmentEdits(seg, merged, suffix[seg])
		if err != nil {
			return nil, err
		}
		delete(suffix, seg)
		edits = append(edits, segEdits...)
	}
	for seg, suf := range suffix { // noted literals without redactions
		segEdits, err := d.segmentEdits(seg, nil, suf)
		if err != nil {
			return nil, err
		}
		edits = append(edits, segEdits...)
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	size := len(d.body)
	for k, e := range edits {
		if k > 0 && e.start < edits[k-1].end {
			return nil, fmt.Errorf("rewrite: segments overlap at byte %d", e.start)
		}
		size += len(e.with) - (e.end - e.start)
	}
	out := make([]byte, 0, size)
	prev := 0
	for _, e := range edits {
		out = append(out, d.body[prev:e.start]...)
		out = append(out, e.with...)
		prev = e.end
	}
	return append(out, d.body[prev:]...), nil
}

// mergeSpans joins overlapping spans of one segment (sorted by start).
func mergeSpans(reps []pipeline.Redaction) []pipeline.Redaction {
	out := make([]pipeline.Redaction, 0, len(reps))
	for _, r := range reps {
		if n := len(out); n > 0 && r.Span.Start < out[n-1].Span.End {
			out[n-1].Span.End = max(out[n-1].Span.End, r.Span.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (d *Document) segmentEdits(seg int, spans []pipeline.Redaction, suffix string) ([]edit, error) {
	loc := d.locs[seg]
	text := d.segments[seg].Text
	if loc.decoded {
		return nil, fmt.Errorf("rewrite: segment %d (%s) is text decoded from a malformed body and cannot be written back; block the body instead", seg, d.segments[seg].Field)
	}
	if d.api == PlainText {
		// Raw bytes: splice each span into the body directly, so bytes
		// between spans (invalid UTF-8 included) are untouched.
		out := make([]edit, 0, len(spans))
		for _, r := range spans {
			e := edit{
				start: int(loc.start) + loc.bodyOffset(r.Span.Start, false),
				end:   int(loc.start) + loc.bodyOffset(r.Span.End, true),
				with:  []byte(r.With),
			}
			// Two spans meeting inside one U+FFFD both snap to its bad
			// byte; the earlier one keeps it.
			if n := len(out); n > 0 && e.start < out[n-1].end {
				e.start = min(out[n-1].end, e.end)
			}
			out = append(out, e)
		}
		return out, nil
	}
	var b []byte
	prev := 0
	for _, r := range spans {
		b = append(b, text[prev:r.Span.Start]...)
		b = append(b, r.With...)
		prev = r.Span.End
	}
	b = append(b, text[prev:]...)
	b = append(b, suffix...)
	lit, err := encodeJSONString(b)
	if err != nil {
		return nil, fmt.Errorf("rewrite segment %d: %w", seg, err)
	}
	return []edit{{start: int(loc.start), end: int(loc.end), with: lit}}, nil
}

// encodeJSONString writes s as a JSON string literal the way encoding/json
// does, without HTML escaping (the body goes to an API, not a page).
// Invalid UTF-8 (a span cut inside a character) becomes U+FFFD.
func encodeJSONString(s []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(s) + 8)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(string(s)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
