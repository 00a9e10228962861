package limits

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

type tableSegment struct {
	Text   string
	Repeat int
}

func (s *tableSegment) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s.Text, s.Repeat = n.Value, 1
		return nil
	}
	type plain tableSegment
	return n.Decode((*plain)(s))
}

type tableCase struct {
	Name      string    `yaml:"name"`
	Config    yaml.Node `yaml:"config"`
	Direction string    `yaml:"direction"`
	Meta      struct {
		Messages        int `yaml:"messages"`
		RequestedTokens int `yaml:"requested_tokens"`
		BodyBytes       int `yaml:"body_bytes"`
	} `yaml:"meta"`
	Segments []tableSegment `yaml:"segments"`
	Want     []string       `yaml:"want"`
}

func loadTable(t *testing.T) []tableCase {
	t.Helper()
	src, err := os.ReadFile("testdata/detect.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(src)))
	dec.KnownFields(true)
	var table struct {
		Cases []tableCase `yaml:"cases"`
	}
	if err := dec.Decode(&table); err != nil {
		t.Fatalf("testdata/detect.yaml: %v", err)
	}
	if len(table.Cases) == 0 {
		t.Fatal("testdata/detect.yaml has no cases")
	}
	return table.Cases
}

func (tc *tableCase) input(t *testing.T) *pipeline.Input {
	in := &pipeline.Input{}
	switch tc.Direction {
	case "request":
		in.Direction = pipeline.Request
	case "response":
		in.Direction = pipeline.Response
	default:
		t.Fatalf("direction %q: want request or response", tc.Direction)
	}
	in.Meta.Messages = tc.Meta.Messages
	in.Meta.RequestedTokens = tc.Meta.RequestedTokens
	in.Meta.BodyBytes = tc.Meta.BodyBytes
	for _, s := range tc.Segments {
		in.Segments = append(in.Segments, pipeline.Segment{Text: strings.Repeat(s.Text, s.Repeat), Role: pipeline.RoleUser})
	}
	return in
}

var statusOf = func() map[string]int {
	m := map[string]int{}
	for _, r := range Rules() {
		m[r.ID] = r.Status
	}
	return m
}()

func TestDetectTable(t *testing.T) {
	for _, tc := range loadTable(t) {
		t.Run(tc.Name, func(t *testing.T) {
			det, err := New(&tc.Config)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			findings, err := det.Detect(context.Background(), tc.input(t))
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, f.Rule)
				if f.Family != Family || f.Score != 1 || len(f.Spans) != 0 || f.Status != statusOf[f.Rule] {
					t.Errorf("finding %+v: want family %q, score 1, no spans, status %d", f, Family, statusOf[f.Rule])
				}
			}
			if !slices.Equal(got, tc.Want) && (len(got) != 0 || len(tc.Want) != 0) {
				t.Fatalf("rules = %v, want %v", got, tc.Want)
			}
		})
	}
}

func TestNilNodeGivesDefaults(t *testing.T) {
	for name, node := range map[string]*yaml.Node{
		"nil":           nil,
		"zero":          {},
		"null scalar":   {Kind: yaml.ScalarNode, Tag: "!!null"},
		"empty mapping": {Kind: yaml.MappingNode, Tag: "!!map"},
	} {
		det, err := New(node)
		if err != nil {
			t.Fatalf("%s: New: %v", name, err)
		}
		if got := det.(*Detector).cfg; got != defaults() {
			t.Fatalf("%s: config = %+v, want defaults %+v", name, got, defaults())
		}
	}
}

func parseNode(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	return &doc
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown key with its line", "max_messages: 3\nmax_body_byte: 10\n", `limits: line 2: unknown key "max_body_byte"`},
		{"negative", "max_messages: 3\n\nmax_requested_tokens: -1\n", "limits: line 3: max_requested_tokens is -1"},
		{"empty value", "max_body_bytes:\n", "limits: line 1: max_body_bytes has no value"},
		{"not a number", "max_messages: lots\n", `limits: line 1: max_messages: want a whole number (0 means no limit), got "lots"`},
		{"duplicate key", "max_messages: 1\nmax_messages: 2\n", "already defined"},
		{"not a mapping", "[1, 2]\n", "want a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(parseNode(t, tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%q) error = %v, want it to contain %q", tc.src, err, tc.want)
			}
		})
	}
}

// TestPolicyIntegration checks the factory the way the pipeline calls it:
// through a policy file, with the policy-level keys removed, and that its
// errors keep their line numbers.
func TestPolicyIntegration(t *testing.T) {
	const good = `
version: t1
policies:
  default:
    detectors:
      limits:
        action: block
        max_messages: 2
`
	if _, err := pipeline.ParsePolicySet([]byte(good), "good.yaml"); err != nil {
		t.Fatalf("good policy: %v", err)
	}
	bad := strings.Replace(good, "max_messages", "max_mesages", 1)
	_, err := pipeline.ParsePolicySet([]byte(bad), "bad.yaml")
	if err == nil || !strings.Contains(err.Error(), `line 8: unknown key "max_mesages"`) {
		t.Fatalf("bad policy error = %v, want the unknown key and its line", err)
	}
}

func TestBodySizeChecker(t *testing.T) {
	det, err := New(parseNode(t, "max_body_bytes: 100\nmax_response_body_bytes: 200\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := det.(pipeline.BodySizeChecker)
	if !ok {
		t.Fatal("limits detector does not implement pipeline.BodySizeChecker")
	}
	for _, tc := range []struct {
		dir    pipeline.Direction
		n      int
		rule   string
		status int
	}{
		{pipeline.Request, 100, "", 0},
		{pipeline.Request, 101, RuleBodyBytes, 413},
		{pipeline.Response, 200, "", 0},
		{pipeline.Response, 201, RuleResponseBodyBytes, 502},
		{pipeline.Direction(0), 1 << 30, "", 0},
	} {
		got := c.CheckBodySize(tc.dir, tc.n)
		if tc.rule == "" {
			if len(got) != 0 {
				t.Errorf("CheckBodySize(%s, %d) = %+v, want none", tc.dir, tc.n, got)
			}
			continue
		}
		want := pipeline.Finding{Rule: tc.rule, Family: Family, Score: 1, Status: tc.status}
		if len(got) != 1 || got[0].Rule != want.Rule || got[0].Family != want.Family ||
			got[0].Score != want.Score || got[0].Status != want.Status || got[0].Spans != nil {
			t.Errorf("CheckBodySize(%s, %d) = %+v, want [%+v]", tc.dir, tc.n, got, want)
		}
	}

	unlimited, _ := New(parseNode(t, "max_body_bytes: 0\nmax_response_body_bytes: 0\n"))
	u := unlimited.(pipeline.BodySizeChecker)
	if f := u.CheckBodySize(pipeline.Request, 1<<40); f != nil {
		t.Errorf("max_body_bytes 0 still limits: %+v", f)
	}
	if f := u.CheckBodySize(pipeline.Response, 1<<40); f != nil {
		t.Errorf("max_response_body_bytes 0 still limits: %+v", f)
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(pipeline.Families(), Family) {
		t.Fatalf("pipeline.Families() = %v, missing %q", pipeline.Families(), Family)
	}
	det, err := New(nil)
	if err != nil || det.Family() != Family {
		t.Fatalf("New(nil) = %v, %v", det, err)
	}
}

func TestRules(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range Rules() {
		if !strings.HasPrefix(r.ID, Family+".") || r.Description == "" || r.Status < 400 || ids[r.ID] {
			t.Errorf("bad rule %+v", r)
		}
		ids[r.ID] = true
	}
	for _, id := range []string{RuleBodyBytes, RuleResponseBodyBytes, RuleMessages, RuleEstimatedTokens, RuleRequestedTokens} {
		if !ids[id] {
			t.Errorf("Rules() lacks %s", id)
		}
	}
	r := Rules()
	r[0].ID = "mutated"
	if Rules()[0].ID == "mutated" {
		t.Error("Rules() exposes the package's own slice")
	}
}

func TestCanceledContextFailsClosed(t *testing.T) {
	det, _ := New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := det.Detect(ctx, &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: "hi"}}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Detect with a cancelled context = %v, want context.Canceled", err)
	}
}

// tokensOver must agree with pipeline.Input.EstimatedTokens, which the
// limit is documented against.
func checkEstimate(t *testing.T, texts ...string) {
	t.Helper()
	in := &pipeline.Input{Direction: pipeline.Request}
	for _, s := range texts {
		in.Segments = append(in.Segments, pipeline.Segment{Text: s})
	}
	est := in.EstimatedTokens()
	for _, limit := range []int{est - 1, est, est + 1} {
		if limit < 1 {
			continue
		}
		if got, want := tokensOver(in.Segments, limit), est > limit; got != want {
			t.Fatalf("tokensOver(%q, %d) = %v, EstimatedTokens = %d", texts, limit, got, est)
		}
	}
	for _, s := range texts {
		if got, want := countWords(s), len(strings.Fields(s)); got != want {
			t.Fatalf("countWords(%q) = %d, strings.Fields gives %d", s, got, want)
		}
	}
}

func TestEstimateMatchesPipeline(t *testing.T) {
	for _, texts := range [][]string{
		{""},
		{"a"},
		{"a b c d e f g h"},
		{"  leading and trailing  "},
		{"\u0085x\u00a0y\u2028z", "\xff\xfe not utf8 \xc3"},
		{strings.Repeat("ab ", 1000), strings.Repeat("word", 500)},
		{"\t\n\v\f\r ", "日本語 テキスト"},
	} {
		checkEstimate(t, texts...)
	}
}

func FuzzEstimateMatchesPipeline(f *testing.F) {
	f.Add("hello world", "a\u00a0b")
	f.Add("\xff x", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		checkEstimate(t, a, b)
	})
}
