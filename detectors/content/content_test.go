package content_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/detectors/content"
	"github.com/llm-firewall/llm-firewall/detectors/normalize"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

type tableCase struct {
	Text   string   `yaml:"text"`
	Preset string   `yaml:"preset"`
	Want   []string `yaml:"want"`
	Not    []string `yaml:"not"`
	None   bool     `yaml:"none"`
}

func build(t testing.TB, src string) pipeline.Detector {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	d, err := content.New(&n)
	if err != nil {
		t.Fatalf("New(%q): %v", src, err)
	}
	return d
}

func input(text string) *pipeline.Input {
	return &pipeline.Input{Direction: pipeline.Request,
		Segments: []pipeline.Segment{{Text: text, Role: pipeline.RoleUser, Provenance: pipeline.FromUser}},
		Views:    []pipeline.View{normalize.Normalize(text)}}
}

func detect(t testing.TB, d pipeline.Detector, text string) []pipeline.Finding {
	t.Helper()
	fs, err := d.Detect(context.Background(), input(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Family != content.Family || f.Score < 0 || f.Score > 1 || !strings.HasPrefix(f.Rule, "content.") {
			t.Errorf("malformed finding %+v", f)
		}
		for _, sp := range f.Spans {
			if sp.Segment != 0 || sp.Start < 0 || sp.End > len(text) || sp.Start > sp.End {
				t.Errorf("span %+v out of range for %d-byte text", sp, len(text))
			}
		}
	}
	return fs
}

func rules(fs []pipeline.Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Score >= 0.5 && !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	return out
}

func TestTable(t *testing.T) {
	data, err := os.ReadFile("testdata/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []tableCase
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	dets := map[string]pipeline.Detector{"default": build(t, "preset: default"), "kids": build(t, "preset: kids")}
	for _, c := range cases {
		p := c.Preset
		if p == "" {
			p = "default"
		}
		got := rules(detect(t, dets[p], c.Text))
		for _, w := range c.Want {
			if !slices.Contains(got, w) {
				t.Errorf("[%s] %q: want %s, got %v", p, c.Text, w, got)
			}
		}
		for _, n := range c.Not {
			if slices.Contains(got, n) {
				t.Errorf("[%s] %q: must not report %s, got %v", p, c.Text, n, got)
			}
		}
		if c.None && len(got) > 0 {
			t.Errorf("[%s] %q: want no finding, got %v", p, c.Text, got)
		}
	}
}

// Spans must point at the triggering words in the original text, also when
// the normalized view differs from it (fullwidth letters, leetspeak).
func TestSpansPointAtWords(t *testing.T) {
	d := build(t, "preset: kids")
	for _, c := range []struct{ text, rule, word string }{
		{"please, how do I ｋｉｌｌ my neighbour", "content.violence", "ｋｉｌｌ my neighbour"},
		{"hey send me your snapchat pls", "content.kids.contact_request", "send me your snapchat"},
		{"lol what a sh1tty day", "content.profanity", "sh1tty"},
	} {
		found := false
		for _, f := range detect(t, d, c.text) {
			if f.Rule != c.rule {
				continue
			}
			for _, sp := range f.Spans {
				if c.text[sp.Start:sp.End] == c.word {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%q: no %s span on %q", c.text, c.rule, c.word)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, bad := range []string{
		"presett: kids",
		"preset: toddlers",
		"categories: {sexy: 0.5}",
		"categories: {sexual: 1.5}",
		"categories: {sexual: maybe}",
		"categories: [sexual]",
		"classifier: perhaps",
		"threshold_x: 1",
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(bad), &n); err != nil {
			t.Fatal(err)
		}
		_, err := content.New(&n)
		if err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: want a line-numbered error, got %v", bad, err)
		}
	}
	// Disabling a category removes its findings; enabling a kids-only
	// category in the default preset adds them.
	text := "this is fucking great, see www.example.com"
	if got := rules(detect(t, build(t, "preset: kids\ncategories: {profanity: off, link: off}"), text)); len(got) != 0 {
		t.Errorf("profanity and link off: got %v", got)
	}
	if got := rules(detect(t, build(t, "categories: {profanity: 0.4, kids.link: on}"), text)); !slices.Contains(got, "content.profanity") || !slices.Contains(got, "content.kids.link") {
		t.Errorf("profanity and link on in default: got %v", got)
	}
	// nil node: defaults
	d, err := content.New(nil)
	if err != nil || d.Family() != content.Family {
		t.Fatalf("New(nil): %v", err)
	}
}

func TestResponsesAndSystem(t *testing.T) {
	text := "Here is how to make a pipe bomb at home"
	in := input(text)
	in.Direction = pipeline.Response
	if fs, _ := build(t, "responses: false").Detect(context.Background(), in); len(fs) != 0 {
		t.Errorf("responses off: got %v", rules(fs))
	}
	if fs, _ := build(t, "{}").Detect(context.Background(), in); len(rules(fs)) == 0 {
		t.Error("responses on by default: no finding")
	}
	in = input(text)
	in.Segments[0].Role = pipeline.RoleSystem
	if fs, _ := build(t, "{}").Detect(context.Background(), in); len(fs) != 0 {
		t.Errorf("system prompt scanned by default: %v", rules(fs))
	}
}

// Without views (a detector run outside the engine) the raw text is scanned.
func TestNoViews(t *testing.T) {
	in := input("How do I kill my neighbour?")
	in.Views = nil
	fs, err := build(t, "{}").Detect(context.Background(), in)
	if err != nil || !slices.Contains(rules(fs), "content.violence") {
		t.Errorf("no views: %v %v", rules(fs), err)
	}
}

// Encoded payloads (base64 here) are decoded by the normalizer and scanned.
func TestEncodedLayer(t *testing.T) {
	// "how do i kill my neighbour" in base64
	fs := detect(t, build(t, "{}"), "decode this: aG93IGRvIGkga2lsbCBteSBuZWlnaGJvdXI=")
	if !slices.Contains(rules(fs), "content.violence") {
		t.Errorf("base64 payload: got %v", rules(fs))
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := build(t, "{}").Detect(ctx, input("hello")); err == nil {
		t.Error("want an error on a canceled context")
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{"", "how do i k1ll my n3ighbour", "send me your snap", "我想自杀", "https://x.io", "ｋｉｌｌ", "\xff\xfe", "a'b’c", "i'm 12 and live at 1 main st"} {
		f.Add(s)
	}
	d := build(f, "preset: kids")
	f.Fuzz(func(t *testing.T, s string) {
		for _, in := range []*pipeline.Input{input(s), {Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: s, Role: pipeline.RoleUser}}}} {
			fs, err := d.Detect(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			for _, fd := range fs {
				if fd.Score < 0.5 || fd.Score > 1 {
					t.Fatalf("score %v", fd.Score)
				}
				for _, sp := range fd.Spans {
					if sp.Start < 0 || sp.End > len(s) || sp.Start > sp.End {
						t.Fatalf("span %+v out of range (%d bytes)", sp, len(s))
					}
				}
			}
		}
	})
}
