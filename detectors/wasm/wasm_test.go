package wasm

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

func TestKeywordRuleFindsItsWordWithTheRightSpan(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: codes
    module: keyword.wasm
    timeout: 2s
`)
	if fs := detect(t, d, request("what is the weather like?")); len(fs) != 0 {
		t.Fatalf("clean text: findings %v, want none", rules(fs))
	}

	text := "status of project bluebird and falcon-7?"
	fs := detect(t, d, request("hello", text))
	if len(fs) != 1 {
		t.Fatalf("findings %v, want one", rules(fs))
	}
	f := fs[0]
	if f.Rule != "wasm.codes.keyword" || f.Family != Family || f.Score != 1 || f.Entity != "INTERNAL_CODE" {
		t.Fatalf("finding %+v", f)
	}
	var got []string
	for _, s := range f.Spans {
		if s.Segment != 1 {
			t.Fatalf("span %+v: want segment 1", s)
		}
		got = append(got, text[s.Start:s.End])
	}
	if !slices.Equal(got, []string{"project bluebird", "falcon-7"}) {
		t.Fatalf("spans cover %q", got)
	}
}

// The module sees the normalized view; its spans come back as spans of the
// original text.
func TestSpansMapThroughTheView(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: codes-view
    module: keyword.wasm
    timeout: 2s
`)
	orig := "ask \u200bPROJECT Bluebird now"
	view := "ask project bluebird now"
	offs := make([]int32, 0, len(view)+1)
	for i := range len(view) + 1 {
		o := i
		if i >= 4 {
			o += 3 // the zero-width space the normalizer dropped
		}
		offs = append(offs, int32(o))
	}
	in := request(orig)
	in.Views = []pipeline.View{{Text: view, Offsets: offs}}
	fs := detect(t, d, in)
	if len(fs) != 1 || len(fs[0].Spans) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	s := fs[0].Spans[0]
	if got := orig[s.Start:s.End]; got != "PROJECT Bluebird" {
		t.Fatalf("span covers %q of the original, want %q", got, "PROJECT Bluebird")
	}
	if !d.UsesViews(pipeline.Request) {
		t.Fatal("UsesViews(request) = false")
	}
}

func TestCompetitorRuleUsesItsConfig(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: competitors
    module: competitors.wasm
    timeout: 2s
    config:
      names: [Acme Corp, Globex]
      score: 0.9
`)
	text := "compare us with acme corp and globex, not globexia"
	fs := detect(t, d, request(text))
	if len(fs) != 1 {
		t.Fatalf("findings %v, want one", rules(fs))
	}
	f := fs[0]
	if f.Rule != "wasm.competitors.name" || f.Entity != "COMPETITOR" || f.Score != 0.9 {
		t.Fatalf("finding %+v", f)
	}
	var got []string
	for _, s := range f.Spans {
		got = append(got, text[s.Start:s.End])
	}
	if !slices.Equal(got, []string{"acme corp", "globex"}) {
		t.Fatalf("spans cover %q, want acme corp and the whole word globex", got)
	}
	if fs := detect(t, d, request("initech is fine")); len(fs) != 0 {
		t.Fatalf("unlisted name: findings %v", rules(fs))
	}
}

func TestModuleRejectingItsConfigFailsTheLoad(t *testing.T) {
	buildExamples(t)
	for _, tc := range []struct{ section, want string }{
		{"rules:\n  - name: c\n    module: competitors.wasm\n    config: {names: []}\n", "names is empty"},
		{"rules:\n  - name: c\n    module: competitors.wasm\n    config: {nmes: [x]}\n", "rejected its config"},
		{"rules:\n  - name: k\n    module: keyword.wasm\n    config: {x: 1}\n", "takes no config"},
	} {
		_, err := newFromYAML(tc.section)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want it to mention %q", tc.section, err, tc.want)
		}
	}
}

func TestInfiniteLoopIsCutAndBlocks(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: loop
    module: loop.wasm
    timeout: 20ms
    breaker: off
`)
	before := failures("wasm.loop", kindTimeout)
	done := make(chan []pipeline.Finding, 1)
	go func() {
		fs, _ := d.Detect(context.Background(), request("please spin forever"))
		done <- fs
	}()
	var fs []pipeline.Finding
	select {
	case fs = <-done:
	case <-time.After(2 * time.Second): // hang guard, 100× the budget
		t.Fatal("the looping rule was not cut")
	}
	if len(fs) != 1 || fs[0].Rule != "wasm.loop.failure" || fs[0].Score != 1 || fs[0].Status != FailureStatus {
		t.Fatalf("findings %+v, want one wasm.loop.failure block", fs)
	}
	if got := failures("wasm.loop", kindTimeout) - before; got != 1 {
		t.Fatalf("timeout failures +%v, want +1", got)
	}
	// The cut instance is gone; the rule still serves the next message.
	if fs := detect(t, d, request("an ordinary question")); len(fs) != 0 {
		t.Fatalf("next call: findings %v, want none", rules(fs))
	}
}

func TestFailureSkipAlertsWithoutBlocking(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: loop-skip
    module: loop.wasm
    timeout: 10ms
    on_failure: skip
    breaker: off
`)
	skipped := testutil.ToFloat64(metrics.skipped.WithLabelValues("wasm.loop-skip", "failure"))
	if fs := detect(t, d, request("spin")); !onlySkipMarks(fs) {
		t.Fatalf("on_failure skip: findings %v, want only a transient skip mark", rules(fs))
	}
	if got := testutil.ToFloat64(metrics.skipped.WithLabelValues("wasm.loop-skip", "failure")) - skipped; got != 1 {
		t.Fatalf("skipped +%v, want +1", got)
	}
}

func TestMemoryHogIsContained(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: hog
    module: memhog.wasm
    memory_pages: 96
    timeout: 2s
    breaker: off
`)
	before := failures("wasm.hog", kindMemory)
	fs := detect(t, d, request("grow without end"))
	if len(fs) != 1 || fs[0].Rule != "wasm.hog.failure" {
		t.Fatalf("findings %v, want wasm.hog.failure", rules(fs))
	}
	if got := failures("wasm.hog", kindMemory) - before; got != 1 {
		t.Fatalf("memory failures +%v, want +1", got)
	}
	if fs := detect(t, d, request("a small question")); len(fs) != 0 {
		t.Fatalf("next call: findings %v, want none", rules(fs))
	}
}

// An input larger than the rule's memory can hold is a memory failure, not
// a pass.
func TestInputBeyondMemoryLimitFailsClosed(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: small
    module: trap.wasm
    timeout: 2s
    memory_pages: 2
    breaker: off
`)
	before := failures("wasm.small", kindMemory)
	fs := detect(t, d, request(strings.Repeat("a", 200_000)))
	if len(fs) != 1 || fs[0].Rule != "wasm.small.failure" {
		t.Fatalf("findings %v, want wasm.small.failure", rules(fs))
	}
	if got := failures("wasm.small", kindMemory) - before; got != 1 {
		t.Fatalf("memory failures +%v, want +1", got)
	}
}

func TestTrappingRuleAppliesItsFailureAction(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: trap
    module: trap.wasm
    timeout: 2s
    breaker: off
`)
	before := failures("wasm.trap", kindTrap)
	if fs := detect(t, d, request("all quiet")); len(fs) != 0 {
		t.Fatalf("findings %v, want none", rules(fs))
	}
	fs := detect(t, d, request("fine", "then boom"))
	if len(fs) != 1 || fs[0].Rule != "wasm.trap.failure" || fs[0].Score != 1 {
		t.Fatalf("findings %+v, want wasm.trap.failure", fs)
	}
	if got := failures("wasm.trap", kindTrap) - before; got != 1 {
		t.Fatalf("trap failures +%v, want +1", got)
	}
}

func TestBreakerOpensAndHalfOpenProbeClosesIt(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: flaky
    module: trap.wasm
    timeout: 2s
    breaker: {failures: 3, window: 1m, open_for: 10s, when_open: block}
`)
	clock := time.Unix(1_700_000_000, 0)
	d.now = func() time.Time { return clock }
	gauge := func() float64 { return testutil.ToFloat64(metrics.breaker.WithLabelValues("wasm.flaky")) }
	openBefore := calls("wasm.flaky", "open")

	for i := range 3 {
		if fs := detect(t, d, request("boom")); len(fs) != 1 || fs[0].Rule != "wasm.flaky.failure" {
			t.Fatalf("failure %d: findings %v", i, rules(fs))
		}
		clock = clock.Add(time.Second)
	}
	if gauge() != float64(open) {
		t.Fatalf("breaker state %v after 3 failures, want open (2)", gauge())
	}
	// Open: the module is not called; the rule's whole traffic is blocked.
	if fs := detect(t, d, request("harmless")); len(fs) != 1 || fs[0].Rule != "wasm.flaky.breaker_open" {
		t.Fatalf("open breaker: findings %v, want wasm.flaky.breaker_open", rules(fs))
	}
	if got := calls("wasm.flaky", "open") - openBefore; got != 1 {
		t.Fatalf("calls{open} +%v, want +1", got)
	}
	// After open_for one probe goes through; it fails, the breaker reopens.
	clock = clock.Add(11 * time.Second)
	if fs := detect(t, d, request("boom")); len(fs) != 1 || fs[0].Rule != "wasm.flaky.failure" {
		t.Fatalf("failed probe: findings %v", rules(fs))
	}
	if gauge() != float64(open) {
		t.Fatalf("breaker state %v after a failed probe, want open", gauge())
	}
	if fs := detect(t, d, request("harmless")); len(fs) != 1 || fs[0].Rule != "wasm.flaky.breaker_open" {
		t.Fatalf("reopened: findings %v", rules(fs))
	}
	// The rule recovers: the next probe succeeds and closes the breaker.
	clock = clock.Add(11 * time.Second)
	if fs := detect(t, d, request("harmless")); len(fs) != 0 {
		t.Fatalf("good probe: findings %v, want none", rules(fs))
	}
	if gauge() != float64(closed) {
		t.Fatalf("breaker state %v after a good probe, want closed (0)", gauge())
	}
	if fs := detect(t, d, request("harmless again")); len(fs) != 0 {
		t.Fatalf("closed: findings %v", rules(fs))
	}
}

func TestOpenBreakerSkipsWhenPolicySaysSo(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: flaky-skip
    module: trap.wasm
    timeout: 2s
    breaker: {failures: 1, window: 1m, open_for: 1h, when_open: skip}
`)
	if fs := detect(t, d, request("boom")); len(fs) != 1 {
		t.Fatalf("failure: findings %v, want the failure block (on_failure defaults to block)", rules(fs))
	}
	skipped := testutil.ToFloat64(metrics.skipped.WithLabelValues("wasm.flaky-skip", "breaker_open"))
	if fs := detect(t, d, request("boom")); !onlySkipMarks(fs) {
		t.Fatalf("open, when_open skip: findings %v, want only a transient skip mark", rules(fs))
	}
	if got := testutil.ToFloat64(metrics.skipped.WithLabelValues("wasm.flaky-skip", "breaker_open")) - skipped; got != 1 {
		t.Fatalf("skipped{breaker_open} +%v, want +1", got)
	}
}

func TestConcurrentCalls(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: codes-conc
    module: keyword.wasm
    pool_size: 2
    max_instances: 3
    timeout: 1s
  - name: trap-conc
    module: trap.wasm
    timeout: 2s
    breaker: off
`)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				text, want := "nothing here", []string{}
				switch (g + i) % 3 {
				case 1:
					text, want = "about falcon-7", []string{"wasm.codes-conc.keyword"}
				case 2:
					text, want = "boom", []string{"wasm.trap-conc.failure"}
				}
				fs, err := d.Detect(context.Background(), request(text))
				if err != nil || !slices.Equal(rules(fs), want) {
					errs <- text + ": " + strings.Join(rules(fs), ",")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := testutil.ToFloat64(metrics.instances.WithLabelValues("wasm.codes-conc")); got > 3 {
		t.Fatalf("%v live instances, max_instances is 3", got)
	}
}

func TestFreshInstancePerCallWithPoolSizeZero(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: fresh
    module: trap.wasm
    timeout: 2s
    pool_size: 0
`)
	for range 3 {
		if fs := detect(t, d, request("quiet")); len(fs) != 0 {
			t.Fatalf("findings %v", rules(fs))
		}
		if got := testutil.ToFloat64(metrics.instances.WithLabelValues("wasm.fresh")); got != 0 {
			t.Fatalf("%v instances kept with pool_size 0, want 0", got)
		}
	}
}

func TestDirectionsAndRolesFilter(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: codes-filter
    module: keyword.wasm
    timeout: 2s
    directions: [response]
    roles: [assistant]
`)
	in := request("falcon-7")
	if fs := detect(t, d, in); len(fs) != 0 || d.UsesViews(pipeline.Request) {
		t.Fatalf("request direction: findings %v, want none", rules(fs))
	}
	in.Direction = pipeline.Response
	if fs := detect(t, d, in); len(fs) != 0 {
		t.Fatalf("user role: findings %v, want none", rules(fs))
	}
	in.Segments[0].Role = pipeline.RoleAssistant
	if fs := detect(t, d, in); len(fs) != 1 {
		t.Fatalf("assistant response: findings %v, want one", rules(fs))
	}
}

// A message whose own budget ends is the engine's to fail closed, not a
// failure of the rule: no failure is counted and the breaker stays closed.
func TestMessageDeadlineIsNotARuleFailure(t *testing.T) {
	d := newDetector(t, `
rules:
  - name: loop-parent
    module: loop.wasm
    timeout: 5s
    breaker: {failures: 1}
`)
	before := failures("wasm.loop-parent", kindTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := d.Detect(ctx, request("spin"))
	if err == nil {
		t.Fatal("Detect returned no error past the message's deadline")
	}
	if got := failures("wasm.loop-parent", kindTimeout) - before; got != 0 {
		t.Fatalf("timeout failures +%v, want 0", got)
	}
	if st := d.rules[0].breaker.current(); st != closed {
		t.Fatalf("breaker %v, want closed", st)
	}
}

// A code name hidden in a payload the normalizer decoded is found, and the
// span is the encoded region of the original; layers: false turns it off.
func TestDecodedLayersAreChecked(t *testing.T) {
	orig := "decode this: cHJvamVjdCBibHVlYmlyZA== thanks"
	start := strings.Index(orig, "cHJv")
	end := start + len("cHJvamVjdCBibHVlYmlyZA==")
	in := request(orig)
	in.Views = []pipeline.View{{Text: orig, Layers: []pipeline.Layer{
		{Encoding: "base64", Depth: 1, Text: "project bluebird", Start: start, End: end},
	}}}
	d := newDetector(t, "rules:\n  - {name: codes-layers, module: keyword.wasm, timeout: 2s}\n")
	fs := detect(t, d, in)
	if len(fs) != 1 || len(fs[0].Spans) != 1 {
		t.Fatalf("findings %+v, want one with one span", fs)
	}
	if s := fs[0].Spans[0]; s.Start != start || s.End != end {
		t.Fatalf("span [%d,%d), want the encoded region [%d,%d)", s.Start, s.End, start, end)
	}
	off := newDetector(t, "rules:\n  - {name: codes-nolayers, module: keyword.wasm, timeout: 2s, layers: false}\n")
	if fs := detect(t, off, in); len(fs) != 0 {
		t.Fatalf("layers: false: findings %v, want none", rules(fs))
	}
}

// onlySkipMarks: a skipped rule reports nothing that acts, only transient
// score-0 marks that keep the engine from caching an unchecked allow.
func onlySkipMarks(fs []pipeline.Finding) bool {
	for _, f := range fs {
		if f.Score != 0 || !f.Transient {
			return false
		}
	}
	return len(fs) > 0
}
