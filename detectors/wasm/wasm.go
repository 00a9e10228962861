package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/sys"
	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/detectors/wasm/abi"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Family is the detector family name used in policies and findings.
const Family = "wasm"

// Rule IDs are built from the rule's name: "wasm.<name>" for what the module
// reports (plus "." and the module's own suffix when it gives one), and two
// the host reports itself.
const (
	FailureSuffix     = "." + abi.SuffixFailure     // the module failed and on_failure is block
	BreakerOpenSuffix = "." + abi.SuffixBreakerOpen // the breaker is open and when_open is block
)

// FailureStatus is the HTTP status of a block caused by a rule that could not
// give a verdict: like a budget overrun, the message was not scanned.
const FailureStatus = 503

func init() { pipeline.Register(Family, New) }

// Failure kinds, the kind label of llmfw_wasm_failures_total.
const (
	kindTrap        = "trap"        // the module trapped or exited
	kindTimeout     = "timeout"     // the rule's timeout cut it
	kindMemory      = "memory"      // it hit memory_pages (or could not take the input)
	kindABI         = "abi"         // it broke the ABI (bad pointer, malformed verdict)
	kindInstantiate = "instantiate" // a new instance could not be made
)

var logger atomic.Pointer[slog.Logger]

// SetLogger sets where rule failures and skips are reported (rate-limited,
// never with input text). The default is slog.Default().
func SetLogger(l *slog.Logger) { logger.Store(l) }

func log() *slog.Logger {
	if l := logger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// alertEvery bounds failure and skip log lines to one per rule per interval.
const alertEvery = 10 * time.Second

// Detector runs one policy's WASM rules. It is immutable after New (but for
// pools and breakers) and safe for concurrent use.
type Detector struct {
	rules []*rule
	now   func() time.Time // the breaker's clock; replaced in tests
}

var (
	_ pipeline.Detector = (*Detector)(nil)
	_ pipeline.Isolated = (*Detector)(nil)
	_ pipeline.ViewUser = (*Detector)(nil)
)

type rule struct {
	id      string // "wasm.<name>"
	spec    ruleSpec
	pool    *pool
	breaker *breaker

	lastAlert  atomic.Int64 // unix nanoseconds
	suppressed atomic.Int64
}

// New builds the detector from its policy section: it reads, checks and
// compiles every module (compiled code is shared with earlier loads of the
// same bytes), instantiates each once and hands it its config, so a broken
// rule fails the policy load rather than the first request.
func New(node *yaml.Node) (pipeline.Detector, error) {
	specs, err := parseSection(node)
	if err != nil {
		return nil, err
	}
	d := &Detector{now: time.Now}
	for i := range specs {
		r, err := newRule(&specs[i])
		if err != nil {
			d.Close()
			return nil, err
		}
		d.rules = append(d.rules, r)
	}
	// A replaced policy's detector is dropped, not closed, by the pipeline:
	// its idle instances and compiled modules go when it is collected.
	runtime.AddCleanup(d, func(rules []*rule) {
		for _, r := range rules {
			r.pool.close()
		}
	}, d.rules)
	return d, nil
}

func newRule(s *ruleSpec) (*rule, error) {
	r := &rule{id: Family + "." + s.Name, spec: *s}
	c, err := shared.acquire(s.Module, s.MemoryPages)
	if err != nil {
		return nil, fmt.Errorf("wasm: rule %q: module %s: %w", s.Name, s.Source, err)
	}
	if err := checkModule(c.cm, s.MemoryPages); err != nil {
		shared.release(c)
		return nil, fmt.Errorf("wasm: rule %q: module %s %w", s.Name, s.Source, err)
	}
	r.pool = newPool(c, s, r.id)
	// One instance now proves the module starts and accepts its config.
	ctx, cancel := context.WithTimeout(context.Background(), instantiateGuard)
	defer cancel()
	in, err := r.pool.get(ctx)
	if err != nil {
		r.pool.close()
		return nil, fmt.Errorf("wasm: rule %q: module %s: %w", s.Name, s.Source, err)
	}
	r.pool.put(in, true)
	r.spec.Module = nil // compiled: the bytes need not stay in memory
	r.breaker = newBreaker(s.Breaker, func(st breakerState) {
		metrics.breaker.WithLabelValues(r.id).Set(float64(st))
		if st == open {
			metrics.breakerOpen.WithLabelValues(r.id).Inc()
			log().Warn("wasm rule breaker opened", "rule", r.id, "open_for", s.Breaker.OpenFor.String(),
				"when_open", blockOrSkipName(s.Breaker.OpenBlock))
		}
	})
	return r, nil
}

func blockOrSkipName(block bool) string {
	if block {
		return "block"
	}
	return "skip"
}

// Close releases the detector's instances and its share of the compiled
// modules. Calls still running finish; later calls fail their rules. Calling
// it is optional: an unreachable detector is released when collected.
func (d *Detector) Close() {
	for _, r := range d.rules {
		r.pool.close()
	}
}

// Family implements pipeline.Detector.
func (d *Detector) Family() string { return Family }

// Isolated implements pipeline.Isolated: a module may run until its deadline,
// so the engine runs the detector on its own goroutine.
func (d *Detector) Isolated() bool { return true }

// UsesViews implements pipeline.ViewUser: rules see normalized text.
func (d *Detector) UsesViews(dir pipeline.Direction) bool {
	for _, r := range d.rules {
		if int(dir) < len(r.spec.Directions) && r.spec.Directions[dir] {
			return true
		}
	}
	return false
}

// Detect implements pipeline.Detector. Rules run one after another; a rule
// that cannot give a verdict yields its failure finding (or is skipped, as
// the policy says) so that one broken rule neither lets traffic through
// unchecked nor turns into an internal error for the whole transaction.
// Only the message's own context ending is returned as an error.
func (d *Detector) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	defer runtime.KeepAlive(d) // keeps the cleanup from closing pools mid-call
	var out []pipeline.Finding
	for _, r := range d.rules {
		if int(in.Direction) >= len(r.spec.Directions) || !r.spec.Directions[in.Direction] {
			continue
		}
		fs, err := r.evaluate(ctx, in, d.now)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// failure is a rule that could not give a verdict.
type failure struct {
	kind string
	err  error
}

func (r *rule) evaluate(ctx context.Context, in *pipeline.Input, now func() time.Time) ([]pipeline.Finding, error) {
	ok, probe := r.breaker.allow(now())
	if !ok {
		metrics.calls.WithLabelValues(r.id, "open").Inc()
		if r.spec.Breaker.OpenBlock {
			return []pipeline.Finding{r.hostFinding(BreakerOpenSuffix)}, nil
		}
		metrics.skipped.WithLabelValues(r.id, "breaker_open").Inc()
		r.alert("wasm rule skipped: breaker open")
		return []pipeline.Finding{r.skipMark(BreakerOpenSuffix)}, nil
	}
	start := time.Now()
	fs, fail := r.run(ctx, in)
	metrics.seconds.WithLabelValues(r.id).Observe(time.Since(start).Seconds())
	if err := ctx.Err(); err != nil {
		// The message's budget ran out (or it was canceled): not the rule's
		// fault, and the engine fails the message closed itself.
		r.breaker.abort(probe)
		return nil, err
	}
	if fail == nil {
		r.breaker.success(probe)
		result := "allow"
		if len(fs) > 0 {
			result = "finding"
		}
		metrics.calls.WithLabelValues(r.id, result).Inc()
		return fs, nil
	}
	metrics.calls.WithLabelValues(r.id, "failure").Inc()
	metrics.failures.WithLabelValues(r.id, fail.kind).Inc()
	r.breaker.failure(probe, now())
	if r.spec.FailureBlock {
		r.alert("wasm rule failed: blocking", "kind", fail.kind, "err", errText(fail.err))
		return []pipeline.Finding{r.hostFinding(FailureSuffix)}, nil
	}
	metrics.skipped.WithLabelValues(r.id, "failure").Inc()
	r.alert("wasm rule failed: skipped", "kind", fail.kind, "err", errText(fail.err))
	return []pipeline.Finding{r.skipMark(FailureSuffix)}, nil
}

// hostFinding is the rule's own failure or breaker-open finding. It is
// transient: the verdict depends on the rule's health, not on the text, so
// the engine does not cache it.
func (r *rule) hostFinding(suffix string) pipeline.Finding {
	return pipeline.Finding{Rule: r.id + suffix, Family: Family, Score: 1, Status: FailureStatus, Transient: true}
}

// skipMark says a rule was skipped without a verdict: it never acts, but
// keeps the engine from caching an allow for text the rule did not check.
func (r *rule) skipMark(suffix string) pipeline.Finding {
	return pipeline.Finding{Rule: r.id + suffix, Family: Family, Transient: true}
}

// run checks every segment the rule looks at with one instance, under the
// rule's timeout. Waiting for and creating the instance count against the
// message's budget only: a cold start is not the rule's fault.
func (r *rule) run(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, *failure) {
	inst, err := r.pool.get(ctx)
	if err != nil {
		return nil, &failure{kindInstantiate, err}
	}
	rctx, cancel := context.WithTimeout(ctx, r.spec.Timeout)
	defer cancel()
	healthy := false
	defer func() { r.pool.put(inst, healthy) }()

	req := abi.Request{Direction: uint32(in.Direction), Segments: uint32(len(in.Segments)), Route: in.Route}
	var out []pipeline.Finding
	for i := range in.Segments {
		seg := &in.Segments[i]
		if r.spec.Roles != nil && !r.spec.Roles[seg.Role] {
			continue
		}
		view := pipeline.View{Text: seg.Text} // identity map without a normalizer
		if i < len(in.Views) {
			view = in.Views[i]
		}
		if view.Text == "" {
			continue
		}
		if rctx.Err() != nil {
			return nil, r.classify(inst, rctx, context.DeadlineExceeded)
		}
		req.Segment, req.Kind = uint32(i), uint32(seg.Kind)
		req.Role, req.Provenance, req.Text = string(seg.Role), string(seg.Provenance), view.Text
		v, err := inst.call(rctx, &req)
		if err != nil {
			return nil, r.classify(inst, rctx, err)
		}
		if f, ok := r.finding(v, i, &view, nil); ok {
			out = append(out, f)
		}
		if !r.spec.Layers {
			continue
		}
		// Decoded payloads (base64, hex, escapes, ...): a name hidden in an
		// encoding is still the name. A span in a layer maps to the whole
		// encoded region of the original.
		for l := range view.Layers {
			layer := &view.Layers[l]
			if layer.Text == "" {
				continue
			}
			if rctx.Err() != nil {
				return nil, r.classify(inst, rctx, context.DeadlineExceeded)
			}
			req.Kind, req.Text = abi.KindLayer, layer.Text
			v, err := inst.call(rctx, &req)
			if err != nil {
				return nil, r.classify(inst, rctx, err)
			}
			if f, ok := r.finding(v, i, nil, layer); ok {
				out = append(out, f)
			}
		}
	}
	healthy = true
	return out, nil
}

// finding turns a verdict on a segment's view (or on one of its decoded
// layers) into a finding with spans of the original text.
func (r *rule) finding(v *abi.Verdict, seg int, view *pipeline.View, layer *pipeline.Layer) (pipeline.Finding, bool) {
	if v == nil || v.Action == abi.ActionAllow {
		return pipeline.Finding{}, false
	}
	f := pipeline.Finding{
		Rule: r.id, Family: Family, Score: float64(v.Score) / abi.MaxScore,
		Entity: v.Entity, Status: int(v.Status),
	}
	if v.Rule != "" {
		f.Rule += "." + v.Rule
	}
	if v.Action == abi.ActionBlock {
		f.Score = 1
	}
	switch {
	case len(v.Spans) == 0:
	case layer != nil:
		f.Spans = []pipeline.Span{{Segment: seg, Start: layer.Start, End: layer.End}}
	default:
		f.Spans = make([]pipeline.Span, len(v.Spans))
		for j, s := range v.Spans {
			st, en := view.OriginalSpan(int(s.Start), int(s.End))
			f.Spans[j] = pipeline.Span{Segment: seg, Start: st, End: en}
		}
	}
	return f, true
}

// classify names a failed call. Go's runtime reports running out of memory
// as a trap, so a trap with the memory (nearly) at the limit is "memory".
func (r *rule) classify(inst *instance, rctx context.Context, err error) *failure {
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled),
		errors.Is(err, context.DeadlineExceeded), rctx.Err() != nil:
		return &failure{kindTimeout, err}
	case errors.Is(err, errAllocRefused):
		return &failure{kindMemory, err}
	case errors.Is(err, errABI):
		return &failure{kindABI, err}
	}
	if !inst.mod.IsClosed() && nearLimit(inst.mem.Size(), r.spec.MemoryPages) {
		return &failure{kindMemory, err}
	}
	return &failure{kindTrap, err}
}

// nearLimit: a module's last allocation may fail short of the limit by up to
// its allocator's growth step (Go grows its heap by up to 4 MiB).
func nearLimit(size uint32, pages uint32) bool {
	limit := uint64(pages) << 16
	slack := min(limit/8, 4<<20)
	return uint64(size)+slack >= limit
}

// alert logs at most one line per rule per alertEvery, with how many were
// held back; it never logs input text.
func (r *rule) alert(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := r.lastAlert.Load()
	if now-last < int64(alertEvery) || !r.lastAlert.CompareAndSwap(last, now) {
		r.suppressed.Add(1)
		return
	}
	args = append(args, "rule", r.id, "suppressed", r.suppressed.Swap(0))
	log().Warn(msg, args...)
}

// errText is the first line of a wazero error, bounded: wazero's messages
// name the trap and the function, never the data.
func errText(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
