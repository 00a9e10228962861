package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// DecisionStore is what the engine needs from the decision cache. Any error
// is treated as a miss: a cache fault never allows anything by itself.
type DecisionStore interface {
	Get(key [32]byte) ([]byte, bool, error)
	Set(key [32]byte, val []byte) error
}

// Engine runs policies. It is safe for concurrent use.
type Engine struct {
	cache       DecisionStore
	metrics     *Metrics
	log         *slog.Logger
	normalizer  Normalizer
	canaryMaker CanaryMaker

	noCanaryOnce sync.Once
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// WithCache puts a decision cache in front of the detectors.
func WithCache(c DecisionStore) EngineOption { return func(e *Engine) { e.cache = c } }

// WithMetrics records decisions and fail-closed events.
func WithMetrics(m *Metrics) EngineOption { return func(e *Engine) { e.metrics = m } }

// WithLogger sets the logger for detector faults (never input text).
func WithLogger(l *slog.Logger) EngineOption { return func(e *Engine) { e.log = l } }

// WithNormalizer gives the detectors' views: the text normalizer
// (detectors/normalize.Normalize). Without one, views are the text as
// written, and NewEngine says so in its log.
func WithNormalizer(n Normalizer) EngineOption { return func(e *Engine) { e.normalizer = n } }

// WithCanaryMaker gives the canaries policies with canary: true plant
// (detectors/output.MakeCanary). Without one no canary is planted, and the
// first request that wanted one says so in the log.
func WithCanaryMaker(m CanaryMaker) EngineOption { return func(e *Engine) { e.canaryMaker = m } }

// NewEngine builds an Engine.
func NewEngine(opts ...EngineOption) *Engine {
	e := &Engine{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(e)
	}
	if e.normalizer == nil {
		e.log.Warn("engine without a text normalizer: detectors read text as written (confusables, zero-width characters and encodings are not undone); wire detectors/all EngineOptions")
	}
	return e
}

// NewCanary makes a canary with the engine's maker; ok is false when it has
// none (said once in the log).
func (e *Engine) NewCanary() (token, instruction string, ok bool) {
	if e.canaryMaker == nil {
		e.noCanaryOnce.Do(func() {
			e.log.Warn("a policy asks for a canary, but the engine has no canary maker: none is planted (wire detectors/all EngineOptions)")
		})
		return "", "", false
	}
	token, instruction = e.canaryMaker()
	return token, instruction, token != ""
}

// NewDecisionID returns a time-ordered unique ID (UUIDv7). The caller owns
// decision identity: a transaction makes one and stamps it on every verdict
// of both directions, so access logs and audit records join on one ID.
func NewDecisionID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// CheckBodySize asks the policy's size-bounding detectors about a raw body of
// n bytes before it is decoded. ok is false when the body must be refused.
func (e *Engine) CheckBodySize(p *Policy, dir Direction, n int) (v Verdict, ok bool) {
	if p.Mode == Off {
		return Verdict{}, true
	}
	var findings []Finding
	for _, d := range p.detectors {
		if c, isChecker := d.Detector.(BodySizeChecker); isChecker {
			findings = append(findings, c.CheckBodySize(dir, n)...)
		}
	}
	if len(findings) == 0 {
		return Verdict{}, true
	}
	v = e.decide(p, nil, findings)
	e.finish(p, dir, &v)
	return v, v.Action != Block
}

// FailClosed builds the verdict for a transaction that cannot be scanned
// (budget, malformed or unreadable body, overload, internal error) and counts it.
func (e *Engine) FailClosed(p *Policy, dir Direction, cause Cause, status int, reason string) Verdict {
	v := Verdict{
		Action: Block, WouldBe: Block, Status: status, Reason: reason, Cause: cause,
	}
	if p != nil {
		v.Policy, v.PolicyVersion = p.Name, p.Version
		if status == 0 {
			v.Status = p.FailClosedStatus
		}
	}
	if v.Status == 0 {
		v.Status = 503
	}
	e.metrics.failClosed(cause)
	e.metrics.decision(dir, &v)
	return v
}

// Evaluate runs the policy's detectors over in and returns the verdict
// (without a DecisionID: the caller stamps its own). It
// never returns an allow for an input it could not fully scan: a passed
// deadline, a detector error or panic becomes a fail-closed block.
func (e *Engine) Evaluate(ctx context.Context, p *Policy, in *Input) Verdict {
	start := time.Now()
	defer func() { e.metrics.evaluated(in.Direction, time.Since(start)) }()

	if p.Mode == Off {
		v := Verdict{Policy: p.Name, PolicyVersion: p.Version}
		e.metrics.decision(in.Direction, &v)
		return v
	}
	if err := ctx.Err(); err != nil {
		return e.ctxFailure(p, in.Direction, err)
	}
	refusal, extra, refused := e.contentPolicy(p, in)
	if refused {
		return refusal
	}

	var key [32]byte
	if e.cache != nil {
		key = cacheKey(p, in)
		if findings, ok := e.cacheGet(key); ok {
			v := e.decide(p, in.Segments, findings)
			v.Cached = true
			addPolicyFindings(&v, extra)
			e.finish(p, in.Direction, &v)
			return v
		}
	}

	din, joins := detectorInput(p, in)
	res := e.runDetectors(ctx, p, din)
	if res.cause != CauseNone {
		return e.failedRun(p, in.Direction, res.cause)
	}
	res.findings = joins.Findings(res.findings)
	v := e.decide(p, in.Segments, res.findings)
	if e.cache != nil && !slices.ContainsFunc(res.findings, func(f Finding) bool { return f.Transient }) {
		e.cacheSet(key, res.findings)
	}
	if p.Candidate != nil {
		e.compareCandidate(ctx, p, in, din, joins, &v)
	}
	addPolicyFindings(&v, extra)
	e.finish(p, in.Direction, &v)
	return v
}

// compareCandidate evaluates the policy's candidate on the same input
// (sharing its normalized views) and counts where it would decide
// differently. It never changes v: a candidate that fails or runs out of
// budget is counted as candidate_failed, nothing more.
func (e *Engine) compareCandidate(ctx context.Context, p *Policy, in, din *Input, joins *JoinMap, v *Verdict) {
	c := p.Candidate
	if c.TrustToolDefinitions != p.TrustToolDefinitions {
		din, joins = detectorInput(c, in)
	}
	res := e.runDetectors(ctx, c, din)
	if res.cause != CauseNone {
		e.metrics.candidateDiff(p.Name, c.Name, "none", "candidate_failed")
		return
	}
	cv := e.decide(c, in.Segments, joins.Findings(res.findings))
	if cv.WouldBe == v.WouldBe && slices.Equal(cv.Rules(), v.Rules()) {
		return
	}
	mine := map[string]bool{}
	for _, r := range v.Rules() {
		mine[r] = true
	}
	var added, dropped []string
	for _, r := range cv.Rules() {
		if !mine[r] {
			added = append(added, r)
		}
		delete(mine, r)
	}
	for r := range mine {
		dropped = append(dropped, r)
	}
	sort.Strings(dropped)
	change := "would_" + cv.WouldBe.String()
	switch {
	case cv.WouldBe > v.WouldBe:
	case cv.WouldBe < v.WouldBe:
		change = "would_allow"
		if cv.WouldBe == Redact {
			change = "would_redact"
		}
	}
	for _, r := range added {
		e.metrics.candidateDiff(p.Name, c.Name, r, change)
	}
	for _, r := range dropped {
		e.metrics.candidateDiff(p.Name, c.Name, r, "would_allow")
	}
	if len(added) == 0 && len(dropped) == 0 {
		// The same rules fire, but the candidate acts on them differently.
		rules := cv.Rules()
		if len(rules) == 0 {
			rules = v.Rules()
		}
		for _, r := range rules {
			e.metrics.candidateDiff(p.Name, c.Name, r, change)
		}
	}
	// Rule IDs and actions only: never input text.
	e.log.Info("candidate policy differs", "policy", p.Name, "candidate", c.Name, "direction", in.Direction.String(),
		"action", v.WouldBe.String(), "candidate_action", cv.WouldBe.String(), "candidate_adds", added, "candidate_drops", dropped)
}

// EvaluatePart evaluates one part of a message that arrives in parts (a
// window of a streamed answer). It is Evaluate without the decision cache
// (windows rarely repeat) and without counting a decision: the caller
// records one decision for the whole message with Record. Fail-closed
// verdicts are counted as usual.
func (e *Engine) EvaluatePart(ctx context.Context, p *Policy, in *Input) Verdict {
	start := time.Now()
	defer func() { e.metrics.evaluated(in.Direction, time.Since(start)) }()
	if p.Mode == Off {
		return Verdict{Policy: p.Name, PolicyVersion: p.Version}
	}
	if err := ctx.Err(); err != nil {
		return e.ctxFailure(p, in.Direction, err)
	}
	din, joins := detectorInput(p, in)
	res := e.runDetectors(ctx, p, din)
	if res.cause != CauseNone {
		return e.failedRun(p, in.Direction, res.cause)
	}
	return e.decide(p, in.Segments, joins.Findings(res.findings))
}

// Record counts the decision for a message evaluated in parts.
func (e *Engine) Record(dir Direction, v *Verdict) { e.metrics.decision(dir, v) }

// failedRun is the fail-closed verdict for detectors that could not finish:
// 500 for a detector's own fault, 499 for a client that went away, the
// policy's fail-closed status for the budget.
func (e *Engine) failedRun(p *Policy, dir Direction, cause Cause) Verdict {
	status := p.FailClosedStatus
	switch cause {
	case CausePanic, CauseError:
		status = 500
	case CauseCanceled:
		status = 499
	}
	return e.FailClosed(p, dir, cause, status, string(cause))
}

func (e *Engine) ctxFailure(p *Policy, dir Direction, err error) Verdict {
	if errors.Is(err, context.Canceled) {
		return e.FailClosed(p, dir, CauseCanceled, 499, "canceled")
	}
	return e.FailClosed(p, dir, CauseBudget, p.FailClosedStatus, "detection budget exceeded")
}

type detectResult struct {
	findings []Finding
	cause    Cause
}

// runDetectors runs the policy's detectors in order. Most run inline on the
// message's goroutine (a hand-off to another goroutine costs more than a
// typical detector) and the budget is checked between them; detectors that
// implement Isolated run on their own goroutine so that the verdict comes at
// the deadline even when they ignore ctx. A panic anywhere fails closed.
func (e *Engine) runDetectors(ctx context.Context, p *Policy, in *Input) (res detectResult) {
	var family string
	defer func() {
		if r := recover(); r != nil {
			res = e.panicked(family, r)
		}
	}()
	var all []Finding
	for _, d := range p.detectors {
		if err := ctx.Err(); err != nil {
			return detectResult{cause: causeOf(err)}
		}
		family = d.Family()
		if in.Views == nil {
			if vu, ok := d.Detector.(ViewUser); ok && vu.UsesViews(in.Direction) {
				e.normalizeInput(in)
			}
		}
		var (
			fs  []Finding
			err error
		)
		if iso, ok := d.Detector.(Isolated); ok && iso.Isolated() {
			r := e.runIsolated(ctx, d.Detector, in)
			if r.cause != CauseNone {
				return r
			}
			fs = r.findings
		} else {
			fs, err = d.Detect(ctx, in)
		}
		if ctx.Err() != nil {
			// Late results are not used: the budget is the contract.
			return detectResult{cause: causeOf(ctx.Err())}
		}
		if err != nil {
			e.log.Error("detector error", "family", family, "err", err)
			return detectResult{cause: CauseError}
		}
		all = append(all, fs...)
	}
	return detectResult{findings: all}
}

// runIsolated runs one detector on its own goroutine and stops waiting at
// the deadline; the abandoned goroutine's result is dropped.
func (e *Engine) runIsolated(ctx context.Context, d Detector, in *Input) detectResult {
	done := make(chan detectResult, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- e.panicked(d.Family(), r)
			}
		}()
		fs, err := d.Detect(ctx, in)
		switch {
		case ctx.Err() != nil:
			done <- detectResult{cause: causeOf(ctx.Err())}
		case err != nil:
			e.log.Error("detector error", "family", d.Family(), "err", err)
			done <- detectResult{cause: CauseError}
		default:
			done <- detectResult{findings: fs}
		}
	}()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		return detectResult{cause: causeOf(ctx.Err())}
	}
}

func (e *Engine) panicked(family string, r any) detectResult {
	e.metrics.panicked(family)
	e.log.Error("detector panic", "family", family, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return detectResult{cause: CausePanic}
}

// normalizeInput fills in.Views once; without a normalizer each view is
// the text as it is, with an identity offset map.
func (e *Engine) normalizeInput(in *Input) {
	n := e.normalizer
	in.Views = make([]View, len(in.Segments))
	for i, s := range in.Segments {
		if n != nil {
			in.Views[i] = n(s.Text)
			continue
		}
		offs := make([]int32, len(s.Text)+1)
		for j := range offs {
			offs[j] = int32(j)
		}
		in.Views[i] = View{Text: s.Text, Offsets: offs}
	}
}

func causeOf(err error) Cause {
	if errors.Is(err, context.Canceled) {
		return CauseCanceled
	}
	return CauseBudget
}

// decide maps findings to one verdict through the policy. segs gives the
// roles for role thresholds (nil for whole-body checks).
func (e *Engine) decide(p *Policy, segs []Segment, findings []Finding) Verdict {
	v := Verdict{Policy: p.Name, PolicyVersion: p.Version}
	blockStatus := 0
	for _, f := range findings {
		cd, ok := p.detector(f.Family)
		if !ok || (f.Transient && f.Score <= 0) {
			continue
		}
		var role Role
		if len(f.Spans) > 0 && f.Spans[0].Segment >= 0 && f.Spans[0].Segment < len(segs) {
			role = segs[f.Spans[0].Segment].Role
		}
		spec := cd.actionFor(f)
		if spec.act != Allow {
			v.MaxScore = max(v.MaxScore, f.Score)
		}
		if f.Score < cd.thresholdFor(role) {
			continue
		}
		act := spec.act
		if act == Redact && len(f.Spans) == 0 {
			act = Block // nothing to cut out: the whole input is the problem
		}
		f.Action = act
		v.Findings = append(v.Findings, f)
		switch act {
		case Block:
			if blockStatus == 0 {
				blockStatus = f.Status
				if blockStatus == 0 {
					blockStatus = p.BlockStatus
				}
				v.Reason = "blocked: " + f.Rule // the policy name stays internal
			}
		case Redact:
			label := f.Entity
			if label == "" {
				label = f.Rule
			}
			for _, s := range f.Spans {
				v.Redactions = append(v.Redactions, Redaction{Span: s, With: "[REDACTED:" + label + "]", Entity: label, Pseudonym: spec.pseudonym})
			}
		}
		v.WouldBe = max(v.WouldBe, act)
	}
	if v.WouldBe != Redact {
		v.Redactions = nil
	}
	v.Action = v.WouldBe
	if v.Action == Block {
		v.Status = blockStatus
	}
	if p.Mode == Shadow && v.Action != Allow {
		v.Shadow = true
		v.Action, v.Status, v.Reason, v.Redactions = Allow, 0, "", nil
	}
	return v
}

func (p *Policy) detector(family string) (configuredDetector, bool) {
	for _, d := range p.detectors {
		if d.Family() == family {
			return d, true
		}
	}
	return configuredDetector{}, false
}

func (e *Engine) finish(p *Policy, dir Direction, v *Verdict) {
	e.metrics.decision(dir, v)
}

// cacheKey hashes everything a decision depends on: the policy (by name,
// declared version and content digest), the direction, every request fact and every
// segment with its role and provenance. Lengths are written before variable
// fields so no two inputs share an encoding.
func cacheKey(p *Policy, in *Input) [32]byte {
	h := sha256.New()
	var buf [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		// No copy of the text: sha256 reads the bytes and keeps none.
		h.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
	}
	num := func(n int) {
		binary.LittleEndian.PutUint64(buf[:], uint64(n))
		h.Write(buf[:])
	}
	str(p.Version)
	str(p.Digest)
	str(p.Name)
	num(int(in.Direction))
	str(in.Meta.API)
	str(in.Meta.Model)
	stream := 0
	if in.Meta.Stream {
		stream = 1
	}
	num(stream)
	num(in.Meta.Messages)
	num(in.Meta.RequestedTokens)
	num(in.Meta.BodyBytes)
	str(in.Route)
	if x := in.Exchange; x != nil {
		num(1)
		str(x.Canary)
		num(len(x.System))
		for _, s := range x.System {
			str(s)
		}
	} else {
		num(0)
	}
	num(len(in.Segments))
	for _, s := range in.Segments {
		str(string(s.Role))
		str(string(s.Provenance))
		num(int(s.Kind))
		str(s.Text)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (e *Engine) cacheGet(key [32]byte) ([]Finding, bool) {
	b, ok, err := e.cache.Get(key)
	if err != nil || !ok {
		return nil, false
	}
	var fs []Finding
	if err := json.Unmarshal(b, &fs); err != nil {
		e.metrics.cacheCorrupt()
		return nil, false
	}
	return fs, true
}

func (e *Engine) cacheSet(key [32]byte, fs []Finding) {
	b, err := json.Marshal(fs)
	if err != nil {
		return
	}
	_ = e.cache.Set(key, b) // a failed set only costs a later miss; the store counts it
}

// Rules of content no detector can read, and of server-side content
// (RuleServerSide + kind).
const (
	RuleUnscannedTokens = "unscanned.token_prompt"
	RuleUnscannedMedia  = "unscanned.media"
	RuleServerSide      = "server_side."
)

// contentPolicy applies the policy to what the body carries beyond its
// text: content no detector can read (in.Meta.Unscanned: refused unless
// allowed) and server-side content (in.Meta.ServerSide: allowed, flagged
// or refused per kind). A refusal is a block naming the field (400, or 502
// for an answer); in shadow mode it is not refused but comes back in extra
// as a would-be block, for addPolicyFindings to add to the scan's verdict,
// as flagged content does. Every occurrence is counted.
func (e *Engine) contentPolicy(p *Policy, in *Input) (refusal Verdict, extra []Finding, refused bool) {
	status := 400
	if in.Direction == Response {
		status = 502
	}
	refuse := func(rule, reason, kind string) (Verdict, []Finding, bool) {
		f := Finding{Rule: rule, Family: "policy", Score: 1, Action: Block, Status: status}
		if p.Mode == Shadow {
			e.metrics.unscannedContent(kind, "shadow", p.Name)
			return Verdict{}, append(extra, f), false
		}
		e.metrics.unscannedContent(kind, "refused", p.Name)
		v := Verdict{
			Action: Block, WouldBe: Block, Status: status, Reason: "blocked: " + rule + ": " + reason,
			Findings: append(extra, f), Policy: p.Name, PolicyVersion: p.Version,
		}
		e.metrics.decision(in.Direction, &v)
		return v, nil, true
	}
	for _, u := range in.Meta.Unscanned {
		allowed, rule, what := p.AllowUnscannedMedia, RuleUnscannedMedia, "media (image, audio or file) that cannot be scanned; the policy does not allow unscanned media"
		if u.Kind == UnscannedTokens {
			allowed, rule, what = p.AllowTokenPrompts, RuleUnscannedTokens, "token IDs, which cannot be scanned; send the prompt as text"
		}
		if allowed {
			e.metrics.unscannedContent(string(u.Kind), "allowed", p.Name)
			continue
		}
		if v, x, stop := refuse(rule, u.Field+" holds "+what, string(u.Kind)); stop || p.Mode == Shadow {
			return v, x, stop
		}
	}
	for _, ss := range in.Meta.ServerSide {
		rule := RuleServerSide + string(ss.Kind)
		switch p.ServerSide[ss.Kind] {
		case ServerAllow:
			e.metrics.unscannedContent(string(ss.Kind), "allowed", p.Name)
		case ServerFlag:
			e.metrics.unscannedContent(string(ss.Kind), "flagged", p.Name)
			extra = append(extra, Finding{Rule: rule, Family: "policy", Score: 1, Action: Allow})
		default:
			if v, x, stop := refuse(rule, ss.Field+" asks the provider for content the firewall never sees (policy server_side."+string(ss.Kind)+": refuse)", string(ss.Kind)); stop || p.Mode == Shadow {
				return v, x, stop
			}
		}
	}
	return Verdict{}, extra, false
}

// addPolicyFindings adds contentPolicy's findings to the verdict of the
// scan: flagged content as findings that do not act, a shadow policy's
// would-be refusal as a would-be block.
func addPolicyFindings(v *Verdict, extra []Finding) {
	for _, f := range extra {
		v.Findings = append(v.Findings, f)
		if f.Action == Block {
			v.WouldBe, v.Shadow = Block, true
			v.Action, v.Status, v.Reason, v.Redactions = Allow, 0, "", nil
		}
	}
}
