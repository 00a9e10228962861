package pipeline

import (
	"slices"
	"strings"
)

// Joined texts. A message whose content is many parts (OpenAI content-part
// arrays, Anthropic text blocks, the text blocks of a streamed answer) is
// read by the model as one text, so detectors must see it as one: an
// instruction cut into 3-byte parts, a key split across two parts or a
// canary split across two answer blocks is whole only in the join.
//
// The join has no separator. That is how the parts read to most of what
// serves them: Hugging Face chat templates and LiteLLM's list-to-string
// conversion concatenate text parts as they are, and the OpenAI SDKs'
// output_text concatenates output parts. vLLM joins with "\n" (its string
// content format); hosted providers do not document their rendering. The
// empty join is the one in which a split secret, address or canary is
// whole, and a word split across parts reads as the word.

// detectorInput is in as the policy's detectors see it: tool definitions
// read as system text where the policy trusts them, then the parts of each
// text joined (JoinedInput).
func detectorInput(p *Policy, in *Input) (*Input, *JoinMap) {
	if p.TrustToolDefinitions && slices.ContainsFunc(in.Segments, func(s Segment) bool { return s.Provenance == FromToolDefinition }) {
		t := *in
		t.Views = nil
		t.Segments = slices.Clone(in.Segments)
		for i := range t.Segments {
			if t.Segments[i].Provenance == FromToolDefinition {
				t.Segments[i].Role, t.Segments[i].Provenance = RoleSystem, FromSystem
			}
		}
		in = &t
	}
	return JoinedInput(in)
}

// JoinedInput is in as detectors see it: the segments of each group
// (Segment.Group: same group, role and provenance, kind KindText) replaced
// by one segment holding their texts joined, at the place of the group's
// first part. It returns in itself (and a nil map) when no group has two
// parts, which is the common case and costs no allocation.
func JoinedInput(in *Input) (*Input, *JoinMap) {
	type groupKey struct {
		group int32
		role  Role
		prov  Provenance
	}
	joinable := func(s *Segment) bool { return s.Group != 0 && s.Kind == KindText }
	if !hasGroupOfTwo(in.Segments, joinable) {
		return in, nil
	}
	out := *in
	out.Views = nil
	out.Segments = make([]Segment, 0, len(in.Segments))
	m := &JoinMap{pieces: make([][]piece, 0, len(in.Segments))}
	at := map[groupKey]int{} // group -> index in out.Segments
	var texts []*strings.Builder
	// A segment left alone is one piece of this array (no allocation each).
	var alone []piece
	for i := range in.Segments {
		s := in.Segments[i]
		if !joinable(&s) {
			if alone == nil {
				alone = make([]piece, len(in.Segments))
			}
			out.Segments = append(out.Segments, s)
			alone[i] = piece{seg: i}
			m.pieces = append(m.pieces, alone[i:i+1:i+1])
			texts = append(texts, nil)
			continue
		}
		k := groupKey{s.Group, s.Role, s.Provenance}
		j, ok := at[k]
		if !ok {
			j = len(out.Segments)
			at[k] = j
			out.Segments = append(out.Segments, s)
			m.pieces = append(m.pieces, nil)
			texts = append(texts, &strings.Builder{})
		}
		b := texts[j]
		m.pieces[j] = append(m.pieces[j], piece{seg: i, at: b.Len(), n: len(s.Text)})
		b.WriteString(s.Text)
	}
	for j, b := range texts {
		if b != nil {
			out.Segments[j].Text = b.String()
		}
	}
	return &out, m
}

// hasGroupOfTwo reports whether two joinable segments share group, role
// and provenance. A few candidates are compared pairwise (no allocation,
// the common case); more go through a set, so a long conversation costs
// one pass.
func hasGroupOfTwo(segs []Segment, joinable func(*Segment) bool) bool {
	type key struct {
		group int32
		role  Role
		prov  Provenance
	}
	var few [16]key
	n := 0
	var seen map[key]struct{}
	for i := range segs {
		s := &segs[i]
		if !joinable(s) {
			continue
		}
		k := key{s.Group, s.Role, s.Provenance}
		if seen != nil {
			if _, dup := seen[k]; dup {
				return true
			}
			seen[k] = struct{}{}
			continue
		}
		for _, f := range few[:n] {
			if f == k {
				return true
			}
		}
		if n < len(few) {
			few[n], n = k, n+1
			continue
		}
		seen = make(map[key]struct{}, 2*len(few))
		for _, f := range few {
			seen[f] = struct{}{}
		}
		seen[k] = struct{}{}
	}
	return false
}

// JoinMap maps findings on a joined input back to the segments it was
// joined from.
type JoinMap struct {
	// pieces[j] are the original segments joined in segment j, in order;
	// a segment that was not joined is one piece at 0.
	pieces [][]piece
}

type piece struct {
	seg   int // index in the original input
	at, n int // where its text starts in the joined text, and its length
}

// Findings rewrites findings in place so their spans name the original
// segments: a span over a joined text becomes one span per part it covers.
// A nil map leaves findings as they are.
func (m *JoinMap) Findings(fs []Finding) []Finding {
	if m == nil {
		return fs
	}
	for i := range fs {
		if len(fs[i].Spans) == 0 {
			continue
		}
		spans := make([]Span, 0, len(fs[i].Spans))
		for _, sp := range fs[i].Spans {
			spans = m.span(spans, sp)
		}
		fs[i].Spans = spans
	}
	return fs
}

func (m *JoinMap) span(out []Span, sp Span) []Span {
	if sp.Segment < 0 || sp.Segment >= len(m.pieces) {
		return append(out, sp)
	}
	ps := m.pieces[sp.Segment]
	if len(ps) == 1 {
		return append(out, Span{Segment: ps[0].seg, Start: sp.Start - ps[0].at, End: sp.End - ps[0].at})
	}
	for _, p := range ps {
		lo, hi := max(sp.Start, p.at), min(sp.End, p.at+p.n)
		if lo < hi || (sp.Start == sp.End && sp.Start >= p.at && sp.Start <= p.at+p.n) {
			out = append(out, Span{Segment: p.seg, Start: lo - p.at, End: max(lo, hi) - p.at})
			if sp.Start == sp.End {
				break
			}
		}
	}
	return out
}
