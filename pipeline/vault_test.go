package pipeline

import (
	"strings"
	"testing"
)

func TestVaultRoundTrip(t *testing.T) {
	var vt Vault
	segs := []Segment{{Text: "mail ann@x.io and bob@y.io, again ann@x.io"}, {Text: "call +44 20 7946 0958"}}
	reds := []Redaction{
		{Span: Span{0, 5, 13}, Entity: "EMAIL", Pseudonym: true, With: "[REDACTED:EMAIL]"},
		{Span: Span{0, 18, 26}, Entity: "EMAIL", Pseudonym: true},
		{Span: Span{0, 34, 42}, Entity: "EMAIL", Pseudonym: true},
		{Span: Span{1, 5, 21}, Entity: "PHONE", Pseudonym: true},
		{Span: Span{1, 0, 4}, Entity: "X", With: "[MASK]"}, // not a pseudonym: untouched
	}
	if n := vt.Pseudonymize(reds, segs); n != 4 {
		t.Fatalf("Pseudonymize = %d, want 4", n)
	}
	want := []string{"<EMAIL_1>", "<EMAIL_2>", "<EMAIL_1>", "<PHONE_1>", "[MASK]"}
	for i, w := range want {
		if reds[i].With != w {
			t.Errorf("redaction %d: With %q, want %q", i, reds[i].With, w)
		}
	}
	answer := []Segment{{Text: "I wrote to <EMAIL_1> and <EMAIL_2>; <EMAIL_3> is unknown, <PHONE_1>."}, {Text: "<EMAIL_1"}}
	rs := vt.Restorations(answer)
	var b strings.Builder
	prev := 0
	for _, r := range rs {
		if r.Span.Segment != 0 {
			t.Fatalf("restoration in segment %d", r.Span.Segment)
		}
		b.WriteString(answer[0].Text[prev:r.Span.Start])
		b.WriteString(r.With)
		prev = r.Span.End
	}
	b.WriteString(answer[0].Text[prev:])
	if got, want := b.String(), "I wrote to ann@x.io and bob@y.io; <EMAIL_3> is unknown, +44 20 7946 0958."; got != want {
		t.Errorf("restored %q\nwant     %q", got, want)
	}
}

func TestVaultEntityNamesAndBound(t *testing.T) {
	var vt Vault
	tok, ok := vt.Pseudonym("secrets.aws-key", "AKIA...")
	if !ok || tok != "<SECRETS_AWS_KEY_1>" {
		t.Fatalf("token %q ok=%v", tok, ok)
	}
	if got := vt.Restorations([]Segment{{Text: "x " + tok}}); len(got) != 1 || got[0].With != "AKIA..." {
		t.Fatalf("restorations %+v", got)
	}
	big := strings.Repeat("v", MaxVaultBytes/4)
	issued := 0
	for i := 0; i < 8; i++ {
		if _, ok := vt.Pseudonym("EMAIL", big+string(rune('a'+i))); ok {
			issued++
		}
	}
	if issued == 0 || issued == 8 {
		t.Errorf("issued %d of 8 quarter-megabyte values; the bound should stop some but not all", issued)
	}
	if vt.bytes > MaxVaultBytes {
		t.Errorf("vault holds %d bytes, over %d", vt.bytes, MaxVaultBytes)
	}
}

func FuzzVaultRestorations(f *testing.F) {
	f.Add("x <EMAIL_1> <A_> <_1> <<EMAIL_1>>")
	f.Fuzz(func(t *testing.T, s string) {
		var vt Vault
		vt.Pseudonym("EMAIL", "a@b.c")
		for _, r := range vt.Restorations([]Segment{{Text: s}}) {
			if r.Span.Start < 0 || r.Span.End > len(s) || s[r.Span.Start:r.Span.End] != "<EMAIL_1>" {
				t.Fatalf("bad restoration %+v of %q", r, s)
			}
		}
	})
}
