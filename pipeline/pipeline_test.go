package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/cache"
	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// keyword is a test detector: it reports every occurrence of its words, and
// can be told to panic, fail or hang, to drive the engine's failure paths.
type keyword struct {
	family string
	calls  *atomic.Int64
}

func (k keyword) Family() string { return k.family }

func (k keyword) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	if k.calls != nil {
		k.calls.Add(1)
	}
	var out []pipeline.Finding
	for i, s := range in.Segments {
		switch {
		case strings.Contains(s.Text, "PANIC"):
			panic("detector bug")
		case strings.Contains(s.Text, "FAIL"):
			return nil, errors.New("model unavailable")
		case strings.Contains(s.Text, "HANG"):
			time.Sleep(2 * time.Second) // ignores ctx on purpose
		}
		for _, w := range []string{"BLOCKME", "secret"} {
			off := 0
			for {
				j := strings.Index(s.Text[off:], w)
				if j < 0 {
					break
				}
				st := off + j
				out = append(out, pipeline.Finding{
					Rule: k.family + "." + strings.ToLower(w), Family: k.family, Score: 0.9,
					Spans: []pipeline.Span{{Segment: i, Start: st, End: st + len(w)}}, Entity: "WORD",
				})
				off = st + len(w)
			}
		}
	}
	return out, nil
}

var calls atomic.Int64

// isolatedKeyword is keyword run on its own goroutine.
type isolatedKeyword struct{ keyword }

func (isolatedKeyword) Isolated() bool { return true }

func init() {
	pipeline.Register("kw_block", func(*yaml.Node) (pipeline.Detector, error) { return keyword{family: "kw_block", calls: &calls}, nil })
	pipeline.Register("kw_redact", func(*yaml.Node) (pipeline.Detector, error) { return keyword{family: "kw_redact"}, nil })
	pipeline.Register("kw_isolated", func(*yaml.Node) (pipeline.Detector, error) {
		return isolatedKeyword{keyword{family: "kw_isolated"}}, nil
	})
}

const testPolicy = `
version: t1
default: enforce
policies:
  enforce:
    detectors:
      kw_block: {action: block}
      limits: {max_messages: 3}
  redact:
    detectors:
      kw_redact: {action: redact}
  shadow:
    mode: shadow
    detectors:
      kw_block: {action: block}
  off:
    mode: "off"
    detectors:
      kw_block: {action: block}
  isolated:
    detectors:
      kw_isolated: {action: block}
  strict_threshold:
    detectors:
      kw_block: {action: block, threshold: 0.95}
`

func policy(t *testing.T, name string) *pipeline.Policy {
	t.Helper()
	ps, err := pipeline.ParsePolicySet([]byte(testPolicy), "test")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ps.Policy(name)
	if !ok {
		t.Fatalf("no policy %q", name)
	}
	return p
}

func input(texts ...string) *pipeline.Input {
	in := &pipeline.Input{Direction: pipeline.Request, Meta: pipeline.Meta{Messages: len(texts)}}
	for _, s := range texts {
		in.Segments = append(in.Segments, pipeline.Segment{Text: s, Role: pipeline.RoleUser, Provenance: pipeline.FromUser})
	}
	return in
}

func TestEvaluateActions(t *testing.T) {
	e := pipeline.NewEngine(all.EngineOptions()...)
	ctx := context.Background()
	cases := []struct {
		policy, text string
		action       pipeline.Action
		wouldBe      pipeline.Action
		status       int
		rules        []string
	}{
		{"enforce", "hello there", pipeline.Allow, pipeline.Allow, 0, nil},
		{"enforce", "please BLOCKME now", pipeline.Block, pipeline.Block, 403, []string{"kw_block.blockme"}},
		{"redact", "my secret is here", pipeline.Redact, pipeline.Redact, 0, []string{"kw_redact.secret"}},
		{"shadow", "BLOCKME", pipeline.Allow, pipeline.Block, 0, []string{"kw_block.blockme"}},
		{"off", "BLOCKME", pipeline.Allow, pipeline.Allow, 0, nil},
		{"strict_threshold", "BLOCKME", pipeline.Allow, pipeline.Allow, 0, nil}, // score 0.9 < 0.95
	}
	for _, c := range cases {
		t.Run(c.policy+"/"+c.text, func(t *testing.T) {
			v := e.Evaluate(ctx, policy(t, c.policy), input(c.text))
			if v.Action != c.action || v.WouldBe != c.wouldBe || v.Status != c.status {
				t.Fatalf("got action %v would-be %v status %d; want %v %v %d", v.Action, v.WouldBe, v.Status, c.action, c.wouldBe, c.status)
			}
			if got := strings.Join(v.Rules(), ","); got != strings.Join(c.rules, ",") {
				t.Fatalf("rules %q, want %q", got, c.rules)
			}
			if v.Policy != c.policy || v.PolicyVersion != "t1" {
				t.Fatalf("decision identity missing: %+v", v)
			}
			if c.policy == "shadow" && !v.Shadow {
				t.Fatal("shadow verdict not marked")
			}
		})
	}
}

func TestRedactionsCoverEverySpan(t *testing.T) {
	v := pipeline.NewEngine(all.EngineOptions()...).Evaluate(context.Background(), policy(t, "redact"), input("a secret and a secret", "no", "secret"))
	if len(v.Redactions) != 3 {
		t.Fatalf("want 3 redactions, got %+v", v.Redactions)
	}
	last := v.Redactions[2]
	if last.Span.Segment != 2 || last.Span.Start != 0 || last.Span.End != 6 || last.With != "[REDACTED:WORD]" {
		t.Fatalf("bad redaction %+v", last)
	}
}

func TestFailClosedPaths(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := pipeline.NewEngine(all.EngineOptions(pipeline.WithMetrics(pipeline.NewMetrics(reg)))...)
	p := policy(t, "enforce")

	v := e.Evaluate(context.Background(), p, input("PANIC"))
	if v.Action != pipeline.Block || v.Cause != pipeline.CausePanic || v.Status != 500 {
		t.Fatalf("panic: %+v", v)
	}
	v = e.Evaluate(context.Background(), p, input("FAIL"))
	if v.Action != pipeline.Block || v.Cause != pipeline.CauseError || v.Status != 500 {
		t.Fatalf("error: %+v", v)
	}

	// An isolated detector that hangs: the verdict comes at the deadline,
	// not when the detector returns.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	v = e.Evaluate(ctx, policy(t, "isolated"), input("HANG"))
	if v.Action != pipeline.Block || v.Cause != pipeline.CauseBudget || v.Status != 503 {
		t.Fatalf("budget: %+v", v)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("budget verdict took %v; the hung detector was waited for", el)
	}
	// An inline detector that overruns: its late findings are not used.
	ctx2, cancel3 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel3()
	if v := e.Evaluate(ctx2, p, input("HANG")); v.Action != pipeline.Block || v.Cause != pipeline.CauseBudget {
		t.Fatalf("inline overrun: %+v", v)
	}
	if v := e.Evaluate(context.Background(), policy(t, "isolated"), input("PANIC")); v.Cause != pipeline.CausePanic {
		t.Fatalf("isolated panic: %+v", v)
	}

	expired, cancel2 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel2()
	<-expired.Done()
	if v := e.Evaluate(expired, p, input("hello")); v.Action != pipeline.Block || v.Cause != pipeline.CauseBudget {
		t.Fatalf("expired budget must fail closed: %+v", v)
	}

	// Shadow mode never turns a failure into an allow.
	if v := e.Evaluate(context.Background(), policy(t, "shadow"), input("PANIC")); v.Action != pipeline.Block {
		t.Fatalf("shadow panic: %+v", v)
	}

	for cause, want := range map[string]float64{"detector_panic": 3, "detector_error": 1, "budget_exceeded": 3} {
		if got := counterValue(t, reg, "llmfw_fail_closed_total", "cause", cause); got != want {
			t.Errorf("llmfw_fail_closed_total{cause=%q} = %v, want %v", cause, got, want)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v", err, problems)
	}
}

// counterValue reads one labelled counter from a registry (0 when absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestLimitsThroughPolicy(t *testing.T) {
	e := pipeline.NewEngine(all.EngineOptions()...)
	v := e.Evaluate(context.Background(), policy(t, "enforce"), input("a", "b", "c", "d"))
	if v.Action != pipeline.Block || v.Status != 400 || v.Rules()[0] != "limits.messages" {
		t.Fatalf("want limits.messages 400, got %+v", v)
	}
	ps, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := e.CheckBodySize(ps.Default, pipeline.Request, 2<<20)
	if ok || v.Status != 413 || v.Rules()[0] != "limits.body_bytes" {
		t.Fatalf("2 MiB body: ok=%v %+v", ok, v)
	}
	if _, ok := e.CheckBodySize(ps.Default, pipeline.Request, 1<<20); !ok {
		t.Fatal("a body of exactly 1 MiB must pass")
	}
}

func TestDecisionCache(t *testing.T) {
	store, err := cache.New(cache.Config{MaxMB: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	e := pipeline.NewEngine(all.EngineOptions(pipeline.WithCache(store))...)
	p := policy(t, "enforce")
	before := calls.Load()
	v1 := e.Evaluate(context.Background(), p, input("BLOCKME please"))
	v2 := e.Evaluate(context.Background(), p, input("BLOCKME please"))
	if n := calls.Load() - before; n != 1 {
		t.Fatalf("detector ran %d times; the second evaluation should be a cache hit", n)
	}
	if !v2.Cached || v2.Action != v1.Action || v2.Status != v1.Status {
		t.Fatalf("cached verdict differs: %+v vs %+v", v1, v2)
	}
	// Same text in another role is another decision.
	in := input("BLOCKME please")
	in.Segments[0].Role = pipeline.RoleSystem
	if v := e.Evaluate(context.Background(), p, in); v.Cached {
		t.Fatal("role must be part of the cache key")
	}
}

func TestCacheFaultIsAMiss(t *testing.T) {
	e := pipeline.NewEngine(all.EngineOptions(pipeline.WithCache(&cache.Faulty{Err: errors.New("disk on fire")}))...)
	p := policy(t, "enforce")
	if v := e.Evaluate(context.Background(), p, input("BLOCKME")); v.Action != pipeline.Block || v.Cached {
		t.Fatalf("a cache fault must not change the verdict: %+v", v)
	}
	if v := e.Evaluate(context.Background(), p, input("hello")); v.Action != pipeline.Allow || v.Cached {
		t.Fatalf("%+v", v)
	}
}

func TestPolicyErrors(t *testing.T) {
	cases := map[string]string{
		"unknown key":       "version: v\npolicies:\n  default:\n    modez: enforce\n",
		"unknown detector":  "version: v\npolicies:\n  default:\n    detectors:\n      nope: {}\n",
		"bad action":        "version: v\npolicies:\n  default:\n    detectors:\n      limits: {action: explode}\n",
		"bad threshold":     "version: v\npolicies:\n  default:\n    detectors:\n      limits: {threshold: 2}\n",
		"no version":        "policies:\n  default: {}\n",
		"missing default":   "version: v\ndefault: x\npolicies:\n  default: {}\n",
		"bad mode":          "version: v\npolicies:\n  default: {mode: maybe}\n",
		"bad status":        "version: v\npolicies:\n  default: {block_status: 200}\n",
		"limits option key": "version: v\npolicies:\n  default:\n    detectors:\n      limits: {max_bodybytes: 3}\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.ParsePolicySet([]byte(src), "t.yaml"); err == nil {
				t.Fatal("accepted")
			} else if !strings.Contains(err.Error(), "t.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
		})
	}
	_, err := pipeline.ParsePolicySet([]byte(cases["unknown key"]), "t.yaml")
	if !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("error does not give the line: %v", err)
	}
}

func TestSelect(t *testing.T) {
	ps, err := pipeline.ParsePolicySet([]byte(testPolicy), "test")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		sel     pipeline.Selector
		want    string
		unknown bool
	}{
		{pipeline.Selector{}, "enforce", false},
		{pipeline.Selector{RouteName: "shadow"}, "shadow", false},
		{pipeline.Selector{RouteName: "some-route"}, "enforce", false},
		{pipeline.Selector{RouteMetadata: "redact", RouteName: "shadow"}, "redact", false},
		{pipeline.Selector{InitialMetadata: "off", RouteMetadata: "redact"}, "off", false},
		{pipeline.Selector{InitialMetadata: "typo"}, "enforce", true},
	}
	for _, c := range cases {
		p, unknown := ps.Select(c.sel)
		if p.Name != c.want || unknown != c.unknown {
			t.Errorf("Select(%+v) = %s,%v; want %s,%v", c.sel, p.Name, unknown, c.want, c.unknown)
		}
	}
}
