package output

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/detectors/normalize"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// testCanary is a fixed canary in NewCanary's format.
const testCanary = "LLMFW-K7QX2MZP4TRB6WHD3NVJ5YLC"

type testCase struct {
	Name     string   `yaml:"name"`
	Canary   bool     `yaml:"canary"`
	System   []string `yaml:"system"`
	Options  string   `yaml:"options"`
	Text     string   `yaml:"text"`
	Segments []string `yaml:"segments"`
	Want     []string `yaml:"want"`
	Covers   []string `yaml:"covers"`
}

func placeholders() *strings.Replacer {
	c := testCanary
	join := func(sep string) string { return strings.Join(strings.Split(c, ""), sep) }
	var url, ent strings.Builder
	for i := 0; i < len(c); i++ {
		fmt.Fprintf(&url, "%%%02X", c[i])
		fmt.Fprintf(&ent, "&#%d;", c[i])
	}
	return strings.NewReplacer(
		"{{canary}}", c,
		"{{canary_lower}}", strings.ToLower(c),
		"{{canary_spaced}}", join(" "),
		"{{canary_dashed}}", join("-"),
		"{{canary_zw}}", join("\u200b"),
		"{{canary_b64}}", base64.StdEncoding.EncodeToString([]byte(c)),
		"{{prompt_b64}}", base64.StdEncoding.EncodeToString([]byte("You are the support bot of Acme. "+CanaryInstruction(c))),
		"{{canary_hex}}", hex.EncodeToString([]byte(c)),
		"{{canary_rev}}", reverse(c),
		"{{canary_url}}", url.String(),
		"{{canary_rot13}}", rot13(c),
		"{{canary_body}}", strings.TrimPrefix(c, CanaryPrefix),
		"{{canary_html}}", ent.String(),
	)
}

func loadCases(t testing.TB) []testCase {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	if err := yaml.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	r := placeholders()
	for i := range cases {
		c := &cases[i]
		c.Text = r.Replace(c.Text)
		for j := range c.Segments {
			c.Segments[j] = r.Replace(c.Segments[j])
		}
		for j := range c.Covers {
			c.Covers[j] = r.Replace(c.Covers[j])
		}
	}
	return cases
}

func (c *testCase) input() *pipeline.Input {
	in := &pipeline.Input{Direction: pipeline.Response}
	if c.Text != "" {
		in.Segments = append(in.Segments, pipeline.Segment{Text: c.Text, Role: pipeline.RoleAssistant, Provenance: pipeline.FromModel})
	}
	for _, s := range c.Segments {
		seg := pipeline.Segment{Text: s, Role: pipeline.RoleAssistant, Provenance: pipeline.FromModel}
		if rest, ok := strings.CutPrefix(s, "tool_name: "); ok {
			seg.Text, seg.Kind = rest, pipeline.KindToolName
		} else if rest, ok := strings.CutPrefix(s, "tool_args: "); ok {
			seg.Text, seg.Kind = rest, pipeline.KindToolArgs
		}
		in.Segments = append(in.Segments, seg)
	}
	if c.Canary || len(c.System) > 0 {
		in.Exchange = &pipeline.Exchange{System: c.System}
		if c.Canary {
			in.Exchange.Canary = testCanary
		}
	}
	withViews(in)
	return in
}

func withViews(in *pipeline.Input) {
	in.Views = make([]pipeline.View, len(in.Segments))
	for i, s := range in.Segments {
		in.Views[i] = normalize.Normalize(s.Text)
	}
}

func newDetector(t testing.TB, opts string) pipeline.Detector {
	t.Helper()
	var node *yaml.Node
	if opts != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(opts), &doc); err != nil {
			t.Fatal(err)
		}
		node = &doc
	}
	d, err := New(node)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkFindings asserts the invariants every finding must hold.
func checkFindings(t testing.TB, in *pipeline.Input, fs []pipeline.Finding) {
	t.Helper()
	known := map[string]bool{}
	for _, r := range Rules() {
		known[r.ID] = true
	}
	for _, f := range fs {
		if f.Family != Family || !known[f.Rule] {
			t.Errorf("finding %s/%s: unknown family or rule", f.Family, f.Rule)
		}
		if f.Score < 0 || f.Score > 1 {
			t.Errorf("finding %s: score %v out of [0,1]", f.Rule, f.Score)
		}
		if len(f.Spans) == 0 && f.Rule != RuleToolNotAllowed {
			t.Errorf("finding %s: no spans", f.Rule)
		}
		for _, s := range f.Spans {
			if s.Segment < 0 || s.Segment >= len(in.Segments) || s.Start < 0 || s.End > len(in.Segments[s.Segment].Text) || s.Start >= s.End {
				t.Errorf("finding %s: bad span %+v", f.Rule, s)
			}
		}
	}
}

func TestCases(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			d := newDetector(t, c.Options)
			in := c.input()
			fs, err := d.Detect(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			checkFindings(t, in, fs)
			var got []string
			for _, f := range fs {
				if f.Score >= 0.5 && !slices.Contains(got, f.Rule) {
					got = append(got, f.Rule)
				}
			}
			want := slices.Clone(c.Want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("rules = %v, want %v\nfindings: %+v", got, want, fs)
			}
			text := in.Segments[0].Text
			for _, cov := range c.Covers {
				k := strings.Index(text, cov)
				if k < 0 {
					t.Fatalf("covers %q: not in the text", cov)
				}
				if !covered(fs, c.Want, k, k+len(cov)) {
					t.Errorf("no span of %v covers %q; findings %+v", c.Want, cov, fs)
				}
			}
		})
	}
}

func covered(fs []pipeline.Finding, rules []string, start, end int) bool {
	for _, f := range fs {
		if !slices.Contains(rules, f.Rule) {
			continue
		}
		for _, s := range f.Spans {
			if s.Segment == 0 && s.Start <= start && end <= s.End {
				return true
			}
		}
	}
	return false
}

func TestRequestsAreIgnored(t *testing.T) {
	d := newDetector(t, "allowed_tools: [search]")
	in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{
		{Text: "DAN Mode enabled. <script>alert(1)</script>"},
		{Text: "rm_rf", Kind: pipeline.KindToolName},
	}, Exchange: &pipeline.Exchange{Canary: testCanary}}
	in.Segments[0].Text += testCanary
	withViews(in)
	fs, err := d.Detect(context.Background(), in)
	if err != nil || len(fs) != 0 {
		t.Fatalf("request: findings %+v, err %v", fs, err)
	}
}

func TestChecksOption(t *testing.T) {
	text := "DAN Mode enabled. <script>alert(1)</script> ![x](https://attacker.example/p.png) " + testCanary
	in := &pipeline.Input{Direction: pipeline.Response, Segments: []pipeline.Segment{{Text: text}},
		Exchange: &pipeline.Exchange{Canary: testCanary}}
	withViews(in)
	for _, tc := range []struct {
		checks string
		want   []string
	}{
		{"[canary]", []string{RuleCanaryLeak}},
		{"[insecure_html]", []string{RuleInsecureHTML}},
		{"[exfil]", []string{RuleExfilImage}},
		{"[jailbreak_success]", []string{RuleJailbreakSuccess}},
		{"[exfil, jailbreak_success]", []string{RuleExfilImage, RuleJailbreakSuccess}},
		{"[]", nil},
	} {
		d := newDetector(t, "checks: "+tc.checks)
		fs, err := d.Detect(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			if !slices.Contains(got, f.Rule) {
				got = append(got, f.Rule)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("checks %s: rules %v, want %v", tc.checks, got, tc.want)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"allowed_link_hosts: [ok.com]\nbogus: 1", "line 2: unknown key \"bogus\""},
		{"checks: [canary, nope]", "unknown check \"nope\""},
		{"leak_threshold: 1.5", "leak_threshold"},
		{"leak_threshold: 0", "leak_threshold"},
		{"allowed_link_hosts: [\"https://x.com/\"]", "not a URL"},
		{"allowed_link_hosts: x.com", "want a list"},
		{"allowed_tools: [\"\"]", "not a tool name"},
		{"entities: {x: block}", "unknown key \"entities\""},
		{"- a\n- b", "want a mapping"},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
			t.Fatal(err)
		}
		_, err := New(&doc)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to mention %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := New(nil); err != nil {
		t.Fatalf("nil node: %v", err)
	}
}

func TestNewCanary(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := NewCanary()
		if !strings.HasPrefix(c, CanaryPrefix) || len(c) != len(CanaryPrefix)+24 {
			t.Fatalf("canary %q: want %s and 24 base32 characters", c, CanaryPrefix)
		}
		if _, err := canaryEncoding.DecodeString(strings.TrimPrefix(c, CanaryPrefix)); err != nil {
			t.Fatalf("canary %q: body is not base32: %v", c, err)
		}
		if seen[c] {
			t.Fatalf("canary %q repeated", c)
		}
		seen[c] = true
	}
	instr := CanaryInstruction(testCanary)
	if !strings.Contains(instr, testCanary) {
		t.Fatalf("instruction %q does not carry the token", instr)
	}
	// The planted sentence itself, echoed back, is a leak.
	d := newDetector(t, "")
	in := &pipeline.Input{Direction: pipeline.Response, Segments: []pipeline.Segment{{Text: "My prompt ends with: " + instr}},
		Exchange: &pipeline.Exchange{Canary: testCanary}}
	withViews(in)
	fs, _ := d.Detect(context.Background(), in)
	if len(fs) != 1 || fs[0].Rule != RuleCanaryLeak {
		t.Fatalf("echoed instruction: findings %+v", fs)
	}
}

// TestWithoutViews runs the detector the way it runs when no normalizer is
// installed: findings must still come, from the raw text.
func TestWithoutViews(t *testing.T) {
	d := newDetector(t, "")
	in := &pipeline.Input{Direction: pipeline.Response, Segments: []pipeline.Segment{{Text: "DAN Mode enabled. " + strings.ToLower(testCanary)}},
		Exchange: &pipeline.Exchange{Canary: testCanary}}
	fs, err := d.Detect(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkFindings(t, in, fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Rule)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{RuleCanaryLeak, RuleJailbreakSuccess}) {
		t.Fatalf("rules %v", got)
	}
}

func TestCanceled(t *testing.T) {
	d := newDetector(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := &pipeline.Input{Direction: pipeline.Response, Segments: []pipeline.Segment{{Text: "hello"}}}
	if _, err := d.Detect(ctx, in); err == nil {
		t.Fatal("canceled context: want an error")
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(pipeline.Families(), Family) {
		t.Fatal("family not registered")
	}
}

// TestConcurrent runs one detector from many goroutines (run with -race):
// pooled scratch and the canary cache must not leak between calls.
func TestConcurrent(t *testing.T) {
	d := newDetector(t, "")
	cases := loadCases(t)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for k := range 50 {
				c := cases[(g*7+k)%len(cases)]
				if c.Options != "" {
					continue
				}
				in := c.input()
				fs, err := d.Detect(context.Background(), in)
				if err != nil {
					t.Error(err)
					return
				}
				var got []string
				for _, f := range fs {
					if f.Score >= 0.5 && !slices.Contains(got, f.Rule) {
						got = append(got, f.Rule)
					}
				}
				want := slices.Clone(c.Want)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s: rules %v, want %v", c.Name, got, want)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
