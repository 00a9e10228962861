package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

func TestJoinedInputMapsSpansBack(t *testing.T) {
	in := &Input{Segments: []Segment{
		{Text: "sys", Role: RoleSystem, Provenance: FromSystem},
		{Text: "abc", Role: RoleUser, Provenance: FromUser, Group: 1},
		{Text: "name", Role: RoleAssistant, Provenance: FromModel, Kind: KindToolName, Group: 1}, // not text: alone
		{Text: "defg", Role: RoleUser, Provenance: FromUser, Group: 1},
		{Text: "doc", Role: RoleUser, Provenance: FromDocument, Group: 1}, // other provenance: alone
		{Text: "hi", Role: RoleUser, Provenance: FromUser, Group: 1},
		{Text: "x", Role: RoleUser, Provenance: FromUser, Group: 2},
	}}
	din, m := JoinedInput(in)
	var texts []string
	for _, s := range din.Segments {
		texts = append(texts, s.Text)
	}
	if want := []string{"sys", "abcdefghi", "name", "doc", "x"}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("joined texts %q, want %q", texts, want)
	}
	if len(in.Segments) != 7 || in.Segments[1].Text != "abc" {
		t.Fatal("the input itself was changed")
	}
	fs := m.Findings([]Finding{
		{Rule: "across", Spans: []Span{{Segment: 1, Start: 2, End: 8}}}, // "cdefgh"
		{Rule: "inside", Spans: []Span{{Segment: 1, Start: 4, End: 6}}}, // "ef"
		{Rule: "alone", Spans: []Span{{Segment: 3, Start: 0, End: 3}, {Segment: 4, Start: 0, End: 1}}},
		{Rule: "point", Spans: []Span{{Segment: 1, Start: 7, End: 7}}},
		{Rule: "whole-input"},
	})
	want := [][]Span{
		{{1, 2, 3}, {3, 0, 4}, {5, 0, 1}},
		{{3, 1, 3}},
		{{4, 0, 3}, {6, 0, 1}},
		{{3, 4, 4}},
		nil,
	}
	for i, f := range fs {
		if !reflect.DeepEqual(f.Spans, want[i]) {
			t.Errorf("%s: spans %v, want %v", f.Rule, f.Spans, want[i])
		}
	}
}

func TestJoinedInputWithoutGroupsIsTheInput(t *testing.T) {
	in := &Input{Segments: []Segment{{Text: "a", Group: 1}, {Text: "b", Group: 2}, {Text: "c"}}}
	din, m := JoinedInput(in)
	if din != in || m != nil {
		t.Fatal("an input with no group of two parts was copied")
	}
	fs := []Finding{{Spans: []Span{{Segment: 2, Start: 0, End: 1}}}}
	if got := m.Findings(fs); !reflect.DeepEqual(got, fs) {
		t.Fatalf("a nil map changed findings: %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { JoinedInput(in) }); n != 0 {
		t.Fatalf("%v allocations for an input without groups", n)
	}
}

// FuzzJoinedInput: for any segments and groups, every span over the joined
// input maps back to spans inside the original segments whose texts, in
// order, are exactly the joined text the span covered.
func FuzzJoinedInput(f *testing.F) {
	f.Add([]byte("abc|defg|hi"), []byte{1, 1, 0, 1}, uint(2), uint(8))
	f.Add([]byte("x||y|z"), []byte{2, 2, 2, 3}, uint(0), uint(3))
	f.Fuzz(func(t *testing.T, texts, groups []byte, start, end uint) {
		var in Input
		for i, s := range strings.Split(string(texts), "|") {
			seg := Segment{Text: s, Role: RoleUser, Provenance: FromUser}
			if i < len(groups) {
				seg.Group = int32(groups[i] % 4)
				if groups[i]&0x80 != 0 {
					seg.Provenance = FromDocument
				}
			}
			in.Segments = append(in.Segments, seg)
		}
		din, m := JoinedInput(&in)
		for j, seg := range din.Segments {
			lo := int(start % uint(len(seg.Text)+1))
			hi := lo + int(end%uint(len(seg.Text)-lo+1))
			fs := m.Findings([]Finding{{Spans: []Span{{Segment: j, Start: lo, End: hi}}}})
			var got strings.Builder
			for _, sp := range fs[0].Spans {
				if sp.Segment < 0 || sp.Segment >= len(in.Segments) || sp.Start < 0 || sp.End < sp.Start || sp.End > len(in.Segments[sp.Segment].Text) {
					t.Fatalf("span %+v outside the original segments", sp)
				}
				got.WriteString(in.Segments[sp.Segment].Text[sp.Start:sp.End])
			}
			if got.String() != seg.Text[lo:hi] {
				t.Fatalf("span [%d,%d) of %q maps to %q", lo, hi, seg.Text, got.String())
			}
		}
	})
}
