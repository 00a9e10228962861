package pii

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

type wantFinding struct {
	Type  string `yaml:"type"`
	Value string `yaml:"value"`
}

type tableCase struct {
	Name string        `yaml:"name"`
	Text string        `yaml:"text"`
	Want []wantFinding `yaml:"want"`
}

// pipelineThreshold is the pipeline's default per-detector threshold: the
// table states what a default policy acts on.
const pipelineThreshold = 0.5

func detect(t testing.TB, d pipeline.Detector, texts ...string) []pipeline.Finding {
	t.Helper()
	in := &pipeline.Input{Direction: pipeline.Request}
	for _, s := range texts {
		in.Segments = append(in.Segments, pipeline.Segment{Text: s, Role: pipeline.RoleUser, Provenance: pipeline.FromUser})
	}
	fs, err := d.Detect(context.Background(), in)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	return fs
}

func TestTable(t *testing.T) {
	raw, err := os.ReadFile("testdata/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []tableCase
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases loaded", len(cases))
	}
	d, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var got []string
			for _, f := range detect(t, d, c.Text) {
				if f.Score < pipelineThreshold {
					continue
				}
				if f.Family != Family || f.Rule != "pii."+strings.ToLower(f.Entity) {
					t.Errorf("finding %+v: family or rule does not match its entity", f)
				}
				if len(f.Spans) != 1 {
					t.Fatalf("finding %s has %d spans, want 1", f.Rule, len(f.Spans))
				}
				sp := f.Spans[0]
				got = append(got, fmt.Sprintf("%s=%s", f.Entity, c.Text[sp.Start:sp.End]))
			}
			var want []string
			for _, w := range c.Want {
				want = append(want, fmt.Sprintf("%s=%s", w.Type, w.Value))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("text %q\n got  %q\n want %q", c.Text, got, want)
			}
		})
	}
}

func TestSpansAcrossSegments(t *testing.T) {
	d, _ := New(nil)
	texts := []string{"nothing here", "mail ann@corp.io", "« Léa » lea@corp.fr"}
	fs := detect(t, d, texts...)
	if len(fs) != 2 {
		t.Fatalf("got %d findings, want 2: %+v", len(fs), fs)
	}
	for _, f := range fs {
		sp := f.Spans[0]
		if got := texts[sp.Segment][sp.Start:sp.End]; !strings.HasSuffix(got, "@corp.io") && !strings.HasSuffix(got, "@corp.fr") {
			t.Errorf("segment %d span %q", sp.Segment, got)
		}
	}
	if fs[1].Spans[0].Segment != 2 || fs[1].Spans[0].Start != len("« Léa » ") {
		t.Errorf("second finding span %+v", fs[1].Spans[0])
	}
}

func TestToolNamesSkipped(t *testing.T) {
	d, _ := New(nil)
	in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: "ann@corp.io", Kind: pipeline.KindToolName}}}
	fs, err := d.Detect(context.Background(), in)
	if err != nil || len(fs) != 0 {
		t.Fatalf("tool name scanned: %v %v", fs, err)
	}
}

func TestOptions(t *testing.T) {
	parse := func(src string) (*Detector, error) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		return newDetector(&n)
	}
	d, err := parse("types: [email, IBAN]\nmin_score: 0.9\n")
	if err != nil {
		t.Fatal(err)
	}
	fs := detect(t, d, "ann@corp.io +44 20 7946 0958 DE89370400440532013000 Mobile: 0612 34 56 78")
	var got []string
	for _, f := range fs {
		got = append(got, f.Entity)
	}
	if !slices.Equal(got, []string{"EMAIL", "IBAN"}) {
		t.Errorf("types filter: got %v", got)
	}
	d, err = parse("private_ips: true\n")
	if err != nil {
		t.Fatal(err)
	}
	if fs := detect(t, d, "host 192.168.1.20 and 127.0.0.1"); len(fs) != 1 || fs[0].Entity != "IP_ADDRESS" {
		t.Errorf("private_ips: got %+v", fs)
	}
	d, err = parse("phone_regions: [gb]\n")
	if err != nil || !slices.Equal(d.phoneRegions, []string{"GB"}) {
		t.Errorf("phone_regions: %v %v", d, err)
	}
	for _, bad := range []struct{ src, msg string }{
		{"typs: [EMAIL]\n", `line 1: unknown key "typs"`},
		{"types: [EMAIL, PASSPORT]\n", `unknown entity type "PASSPORT"`},
		{"types: []\n", "types is empty"},
		{"phone_regions: [XX]\n", `unknown region "XX"`},
		{"min_score: 2\n", "want a number in [0, 1]"},
		{"min_score:\n", "line 1: min_score has no value"},
		{"\nentities: {EMAIL: redact}\n", "line 2: entities is a policy-level key"},
		{"- EMAIL\n", "want a mapping"},
	} {
		if _, err := parse(bad.src); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%q: got error %v, want it to contain %q", bad.src, err, bad.msg)
		}
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(pipeline.Families(), Family) {
		t.Fatal("pii family not registered")
	}
}

func TestContextCanceled(t *testing.T) {
	d, _ := New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Detect(ctx, &pipeline.Input{Segments: []pipeline.Segment{{Text: "ann@corp.io"}}})
	if err == nil {
		t.Fatal("want an error on a canceled context")
	}
}

func TestHostileInput(t *testing.T) {
	d, _ := New(nil)
	// Many candidates, invalid UTF-8 and long digit runs stay bounded.
	big := strings.Repeat("a@b.co 4111 1111 \xff\xfe 1234567890123456789012345678901234567890 ", 20000)
	fs := detect(t, d, big)
	if len(fs) > maxFindings {
		t.Fatalf("%d findings, cap is %d", len(fs), maxFindings)
	}
	for _, f := range fs {
		checkSpan(t, big, f.Spans[0])
	}
}

func checkSpan(t testing.TB, text string, sp pipeline.Span) {
	t.Helper()
	if sp.Start < 0 || sp.End > len(text) || sp.Start >= sp.End {
		t.Fatalf("span [%d, %d) out of range for %d bytes", sp.Start, sp.End, len(text))
	}
	// Boundaries are where decoding steps land (an invalid byte is a
	// one-byte step), so a span never splits a well-formed character.
	if !runeBoundary(text, sp.Start) || !runeBoundary(text, sp.End) {
		t.Fatalf("span [%d, %d) splits a UTF-8 character", sp.Start, sp.End)
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{
		"ann@corp.io", "+44 20 7946 0958", "4526 0181 5908 3012", "DE89370400440532013000",
		"536-22-1456", "81.2.69.160", "2a00:1450:4009:81c::200e", "3c:22:fb:9a:01:7e",
		"born on 4 March 1962", "AB 12 34 56 C", "RSSMRA85T10A562S", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"bc1qc9tjdmnadv90d2cncw8f9jhq69g90v2ecxmfca", "221B Baker Street, Apt. 4", "Hauptstraße 12",
		"é@é.é", "(((((1", "+", "x@", "@", "1.2.3.4.5.6.7.8", "::::", "\xff@\xfe.de",
	} {
		f.Add(s)
	}
	d, err := newDetector(nil)
	if err != nil {
		f.Fatal(err)
	}
	d.minScore = 0 // exercise every tier
	f.Fuzz(func(t *testing.T, s string) {
		fs := detect(t, d, s)
		for _, fd := range fs {
			if fd.Score < 0 || fd.Score > 1 {
				t.Fatalf("score %v", fd.Score)
			}
			checkSpan(t, s, fd.Spans[0])
		}
	})
}

func runeBoundary(s string, i int) bool {
	if i == 0 || i == len(s) {
		return true
	}
	// Step back to the start of the character that contains byte i-1.
	j := i - 1
	for j > 0 && i-j < utf8.UTFMax && !utf8.RuneStart(s[j]) {
		j--
	}
	_, size := utf8.DecodeRuneInString(s[j:])
	return j+size <= i || !utf8.RuneStart(s[j])
}
