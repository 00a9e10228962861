package secrets

import (
	"context"
	"errors"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/detectors/secrets/internal/synth"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

type tableCase struct {
	Name   string   `yaml:"name"`
	Text   string   `yaml:"text"`
	Want   []string `yaml:"want"`
	Secret string   `yaml:"secret"`
}

var placeholder = regexp.MustCompile(`\{[a-z0-9-]+\}`)

// expand replaces {type} with a synthetic token of that type, the same
// token for every mention in one case.
func expand(t *testing.T, s string, seed uint64) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		tok, ok := synth.Token(m[1:len(m)-1], seed)
		if !ok {
			t.Fatalf("unknown token type %s", m)
		}
		return tok
	})
}

func detectText(t testing.TB, d pipeline.Detector, text string) []pipeline.Finding {
	t.Helper()
	in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: text, Role: pipeline.RoleUser, Provenance: pipeline.FromUser}}}
	fs, err := d.Detect(context.Background(), in)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	return fs
}

func TestTable(t *testing.T) {
	raw, err := os.ReadFile("testdata/detect.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []tableCase
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	d, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			text := expand(t, c.Text, uint64(i))
			fs := detectText(t, d, text)
			var got []string
			for _, f := range fs {
				got = append(got, f.Rule)
				if f.Family != Family || f.Score <= 0 || f.Score > 1 || f.Entity == "" || len(f.Spans) != 1 {
					t.Errorf("malformed finding %+v", f)
				}
			}
			want := slices.Clone(c.Want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("rules = %v, want %v", got, want)
			}
			if c.Secret != "" {
				s := fs[0].Spans[0]
				if secret := expand(t, c.Secret, uint64(i)); text[s.Start:s.End] != secret {
					t.Errorf("span covers %q, want %q", text[s.Start:s.End], secret)
				}
			}
		})
	}
}

func TestSpansIndexSegments(t *testing.T) {
	d, _ := New(nil)
	tok, _ := synth.Token("github-pat", 7)
	in := &pipeline.Input{Segments: []pipeline.Segment{
		{Text: "nothing to see here, just words"},
		{Text: "first " + tok},
		{Text: "é✓ unicode before " + tok + " after"},
	}}
	fs, err := d.Detect(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("got %d findings, want 2: %+v", len(fs), fs)
	}
	for _, f := range fs {
		s := f.Spans[0]
		if got := in.Segments[s.Segment].Text[s.Start:s.End]; got != tok {
			t.Errorf("segment %d span %q, want the token", s.Segment, got)
		}
	}
}

func TestOptions(t *testing.T) {
	ghp, _ := synth.Token("github-pat", 1)
	aws, _ := synth.Token("aws-access-key", 1)
	text := "a=" + ghp + "\nb=" + aws + "\npassword = \"Zq7vR2mXw9LpK4tN8sYb\"\n"
	cases := []struct {
		name, yaml string
		want       []string
		err        string
	}{
		{"defaults", "", []string{"secrets.aws-access-token", "secrets.generic-api-key", "secrets.github-pat"}, ""},
		{"restrict", "rules: [github-pat]", []string{"secrets.github-pat"}, ""},
		{"restrict with prefix", "rules: [secrets.aws-access-token]", []string{"secrets.aws-access-token"}, ""},
		{"disable", "disable: [generic-api-key, github-pat]", []string{"secrets.aws-access-token"}, ""},
		{"min_entropy high", "min_entropy: 4.5", []string{"secrets.aws-access-token", "secrets.github-pat"}, ""},
		{"unknown key", "rule: [github-pat]", nil, `line 1: unknown key "rule"`},
		{"reserved key not ours", "entities: [JWT]", nil, `unknown key "entities"`},
		{"unknown rule", "rules: [github-token]", nil, `unknown rule "github-token"`},
		{"excluded rule", "rules: [pkcs12-file]", nil, "not available here"},
		{"empty rules", "rules: []", nil, "rules is empty"},
		{"rules not a list", "rules: github-pat", nil, "want a list"},
		{"bad entropy", "min_entropy: lots", nil, "min_entropy"},
		{"negative entropy", "min_entropy: -1", nil, "min_entropy"},
		{"not a mapping", "[1, 2]", nil, "want a mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var node *yaml.Node
			if c.yaml != "" {
				node = &yaml.Node{}
				if err := yaml.Unmarshal([]byte(c.yaml), node); err != nil {
					t.Fatal(err)
				}
			}
			d, err := New(node)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range detectText(t, d, text) {
				got = append(got, f.Rule)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("rules = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCanceled(t *testing.T) {
	d, _ := New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Detect(ctx, &pipeline.Input{Segments: []pipeline.Segment{{Text: strings.Repeat("api_key = x ", 100)}}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestHostileInput: many anchors overflow the hit list and fall back to the
// whole-text regexes; invalid UTF-8 and huge inputs must not panic or hang.
func TestHostileInput(t *testing.T) {
	d, _ := New(nil)
	tok, _ := synth.Token("github-pat", 3)
	texts := []string{
		strings.Repeat("key=", 10000) + " " + tok,
		strings.Repeat("ey", 20000) + " " + tok,
		"\xff\xfe" + tok + "\xc3",
		strings.Repeat("a", 1<<20) + " " + tok,
	}
	for i, text := range texts {
		fs := detectText(t, d, text)
		found := false
		for _, f := range fs {
			s := f.Spans[0]
			if s.Start < 0 || s.End > len(text) || s.Start >= s.End {
				t.Fatalf("text %d: span %+v out of range", i, s)
			}
			found = found || text[s.Start:s.End] == tok
		}
		if !found {
			t.Errorf("text %d: token not found among %d findings", i, len(fs))
		}
	}
}

// TestGitleaksVersion keeps GitleaksVersion (quoted in docs and errors) in
// step with the module actually built in.
func TestGitleaksVersion(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build info")
	}
	for _, m := range bi.Deps {
		if m.Path == "github.com/zricethezav/gitleaks/v8" && m.Version != GitleaksVersion {
			t.Fatalf("built with gitleaks %s, GitleaksVersion says %s", m.Version, GitleaksVersion)
		}
	}
}

func TestRulesListed(t *testing.T) {
	rules, err := Rules()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) < 200 {
		t.Fatalf("only %d rules loaded", len(rules))
	}
	entities := map[string]bool{}
	for _, r := range rules {
		if !strings.HasPrefix(r.ID, RulePrefix) || r.Entity == "" {
			t.Errorf("bad rule %+v", r)
		}
		entities[r.Entity] = true
	}
	for _, e := range []string{EntityAWSAccessKey, EntityGitHubToken, EntityOpenAIKey, EntityAnthropicKey, EntitySlackToken, EntityStripeKey, EntityJWT, EntityPrivateKey, EntityGenericSecret} {
		if !entities[e] {
			t.Errorf("no rule maps to %s", e)
		}
	}
}

func FuzzDetect(f *testing.F) {
	tok, _ := synth.Token("anthropic-api-key", 1)
	for _, s := range []string{"", "password = \"Zq7vR2mXw9LpK4tN8sYb\"", tok, "-----BEGIN PRIVATE KEY-----\nabc", "\xff" + tok[:20], "key=key=key="} {
		f.Add(s)
	}
	d, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		in := &pipeline.Input{Segments: []pipeline.Segment{{Text: text}, {Text: text + " " + text}}}
		fs, err := d.Detect(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range fs {
			if fd.Score <= 0 || fd.Score > 1 {
				t.Fatalf("score %v", fd.Score)
			}
			for _, s := range fd.Spans {
				if s.Segment < 0 || s.Segment >= len(in.Segments) || s.Start < 0 || s.Start >= s.End || s.End > len(in.Segments[s.Segment].Text) {
					t.Fatalf("span %+v out of range", s)
				}
			}
		}
	})
}
