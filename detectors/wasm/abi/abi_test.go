package abi

import (
	"errors"
	"testing"
)

func TestRequestRoundTrip(t *testing.T) {
	r := Request{Direction: DirResponse, Segment: 2, Segments: 5, Kind: KindToolArgs,
		Role: "tool", Provenance: "tool_result", Route: "chat", Text: `{"q":"x"}`}
	b := make([]byte, r.RequestLen())
	PutRequest(b, &r)
	got, err := DecodeRequest(b)
	if err != nil || got != r {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, r)
	}
	// The documented layout: the text length at 32, the text at the end.
	if b[32] != byte(len(r.Text)) || string(b[len(b)-len(r.Text):]) != r.Text {
		t.Fatalf("layout: % x", b)
	}
	if _, err := DecodeRequest(b[:len(b)-1]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated request: err %v", err)
	}
}

func TestVerdictRoundTripAndValidation(t *testing.T) {
	v := Verdict{Score: 900, Action: ActionRedact, Status: 451, Rule: "name.v2", Entity: "COMPETITOR",
		Spans: []Span{{0, 4}, {6, 10}}}
	b := AppendVerdict(nil, &v)
	if len(b) != v.VerdictLen() {
		t.Fatalf("encoded %d bytes, VerdictLen %d", len(b), v.VerdictLen())
	}
	got, err := DecodeVerdict(b, 10)
	if err != nil || got.Score != v.Score || got.Rule != v.Rule || got.Entity != v.Entity || len(got.Spans) != 2 || got.Spans[1] != v.Spans[1] {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		v    Verdict
		text int
	}{
		{"score above 1", Verdict{Score: 1001}, 0},
		{"unknown action", Verdict{Action: 4}, 0},
		{"status not an error", Verdict{Status: 200}, 0},
		{"reserved rule", Verdict{Rule: SuffixFailure}, 0},
		{"upper-case rule", Verdict{Rule: "Keyword"}, 0},
		{"rule with a dot at the end", Verdict{Rule: "a."}, 0},
		{"lower-case entity", Verdict{Entity: "email"}, 0},
		{"span past the text", Verdict{Spans: []Span{{2, 11}}}, 10},
		{"inverted span", Verdict{Spans: []Span{{5, 4}}}, 10},
	} {
		if _, err := DecodeVerdict(AppendVerdict(nil, &tc.v), tc.text); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", tc.name, err)
		}
	}
	if _, err := DecodeVerdict(append(b, 0), 10); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte: err %v", err)
	}
}

func TestPack(t *testing.T) {
	p, n := Unpack(Pack(0xfffffff0, 7))
	if p != 0xfffffff0 || n != 7 {
		t.Fatalf("Unpack(Pack) = %#x, %d", p, n)
	}
}

// FuzzDecodeVerdict: the host decodes whatever a module returns; it must
// never panic, and whatever it accepts must be in range.
func FuzzDecodeVerdict(f *testing.F) {
	f.Add(AppendVerdict(nil, &Verdict{Score: 1000, Rule: "x", Entity: "E", Spans: []Span{{1, 2}}}), 8)
	f.Add([]byte{1, 0, 0, 0}, 0)
	f.Fuzz(func(t *testing.T, b []byte, textLen int) {
		if textLen < 0 {
			textLen = -textLen
		}
		v, err := DecodeVerdict(b, textLen)
		if err != nil {
			return
		}
		if v.Score > MaxScore || v.Action > ActionBlock || len(v.Rule) > MaxRuleLen || len(v.Spans) > MaxSpans {
			t.Fatalf("accepted out-of-range verdict %+v", v)
		}
		for _, s := range v.Spans {
			if s.Start > s.End || int(s.End) > textLen {
				t.Fatalf("accepted span %+v for a %d-byte text", s, textLen)
			}
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	r := Request{Direction: DirRequest, Role: "user", Text: "hello"}
	b := make([]byte, r.RequestLen())
	PutRequest(b, &r)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		if r.RequestLen() != len(b) {
			t.Fatalf("accepted %d bytes that encode %d", len(b), r.RequestLen())
		}
	})
}
