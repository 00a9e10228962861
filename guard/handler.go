package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Paths the handler serves.
const (
	PathGuard = "/v2/guard"
	PathScan  = "/v1/scan"
)

// Response headers, the same names extproc writes, so one access-log join
// works for both transports.
const (
	HeaderDecision   = "x-llmfw-decision"
	HeaderDecisionID = "x-llmfw-decision-id"
)

// Handler serves the guard API. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	engine   *pipeline.Engine
	step     *scan.Step
	policies func() *pipeline.PolicySet
	metrics  *Metrics
	log      *slog.Logger
	mux      *http.ServeMux

	lastUnknownWarn atomic.Int64
}

// NewHandler builds the guard API over engine and the live policy set
// (policies is called once per request, so hot reloads apply at once).
func NewHandler(cfg Config, engine *pipeline.Engine, policies func() *pipeline.PolicySet, m *Metrics, log *slog.Logger) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if engine == nil || policies == nil {
		return nil, errors.New("guard API: engine and policies are required")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Budget == 0 {
		cfg.Budget = DefaultBudget
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, engine: engine, policies: policies, metrics: m, log: log, mux: http.NewServeMux()}
	h.step = &scan.Step{Engine: engine, MaxBodyBytes: cfg.MaxBodyBytes, Log: log, Pins: scan.NewToolPins(1 << 16)}
	h.mux.HandleFunc(PathGuard, h.endpoint(PathGuard, h.guard, h.guardRefusal))
	h.mux.HandleFunc(PathScan, h.endpoint(PathScan, h.scan, h.scanRefusal))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint; the guard API serves POST "+PathGuard+" and POST "+PathScan)
	})
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// call is one guard API request on its way to an answer.
type call struct {
	start    time.Time
	ctx      context.Context
	id       string
	endpoint string
	body     []byte
	outcome  string // metrics label; set by whoever answers
}

// endpoint wraps a handler with what every endpoint does: method, auth,
// body limit, decision ID, metrics, and a panic turned into a fail-closed
// verdict (refuse renders it): net/http would otherwise cut the connection,
// and a gateway may treat a broken guard call as "allow".
func (h *Handler) endpoint(name string, serve func(w http.ResponseWriter, c *call), refuse func(w http.ResponseWriter, c *call, v *pipeline.Verdict)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c := &call{start: time.Now(), ctx: r.Context(), id: pipeline.NewDecisionID(), endpoint: name}
		defer func() { h.metrics.request(name, c.outcome, time.Since(start)) }()
		defer func() {
			if rec := recover(); rec != nil {
				h.log.Error("guard API: panic while handling a request", "decision_id", c.id, "endpoint", name, "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				v := h.engine.FailClosed(nil, pipeline.Request, pipeline.CauseError, http.StatusInternalServerError, "internal error")
				v.DecisionID = c.id
				h.audit(c, pipeline.Request, "", &v, nil)
				c.outcome = "fail_closed"
				refuse(w, c, &v)
			}
		}()
		if r.Method != http.MethodPost {
			c.outcome = "invalid"
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
			return
		}
		if !h.authorized(r) {
			c.outcome = "unauthorized"
			w.Header().Set("WWW-Authenticate", `Bearer realm="llm-firewall"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or unknown bearer token (Authorization: Bearer <token>)")
			return
		}
		if r.ContentLength > int64(h.cfg.MaxBodyBytes) {
			c.outcome = "too_large"
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds the guard API's limit")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(h.cfg.MaxBodyBytes)))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				c.outcome = "too_large"
				writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds the guard API's limit")
				return
			}
			c.outcome = "invalid"
			writeError(w, http.StatusBadRequest, "unreadable_body", "request body could not be read")
			return
		}
		c.body = body
		w.Header().Set(HeaderDecisionID, c.id)
		serve(w, c)
	}
}

// authorized checks the bearer token. With AllowUnauthenticated any
// request passes, whatever it carries (self-hosted Lakera ignores the
// header too, and gateways always send one).
func (h *Handler) authorized(r *http.Request) bool {
	if h.cfg.AllowUnauthenticated {
		return true
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return h.cfg.Tokens.Match(strings.TrimSpace(token))
}

// selectPolicy returns the named policy, or the default when name is empty
// or names none (counted, and warned about at most every 10 s: gateways
// configured for Lakera send Lakera project IDs, which still get scanned).
func (h *Handler) selectPolicy(ps *pipeline.PolicySet, name, field string) *pipeline.Policy {
	if name == "" {
		return ps.Default
	}
	if p, ok := ps.Policy(name); ok {
		return p
	}
	h.metrics.unknown()
	now := time.Now().UnixNano()
	if last := h.lastUnknownWarn.Load(); now-last >= int64(10*time.Second) && h.lastUnknownWarn.CompareAndSwap(last, now) {
		// The selector is an operator's configuration value, not prompt text.
		h.log.Warn("guard API: "+field+" names no policy; using the default (logged at most every 10s; see llmfw_guard_unknown_project_total)",
			field, truncate(name, 64), "default", ps.Default.Name)
	}
	return ps.Default
}

// evaluate runs one input under the request's budget and stamps the call's
// decision ID. A passed budget fails closed inside the engine.
func (h *Handler) evaluate(ctx context.Context, p *pipeline.Policy, in *pipeline.Input, id string) pipeline.Verdict {
	v := h.engine.Evaluate(ctx, p, in)
	v.DecisionID = id
	return v
}

// audit records a decision without any of the scanned text, in the same
// shape as extproc's audit line.
func (h *Handler) audit(c *call, dir pipeline.Direction, api string, v *pipeline.Verdict, segs []pipeline.Segment) {
	scan.Record(c.ctx, h.log, h.cfg.Audit, scan.Decision{
		Verdict: v, Direction: dir, Transport: "http", Route: c.endpoint, API: api,
		Segments: segs, Took: time.Since(c.start), Attrs: []slog.Attr{slog.String("endpoint", c.endpoint)},
	})
}

// outcomeOf is the metrics outcome of the strongest verdict of a request.
func outcomeOf(vs []pipeline.Verdict) string {
	out := "allowed"
	strongest := pipeline.Allow
	for i := range vs {
		v := &vs[i]
		switch {
		case v.Cause != pipeline.CauseNone:
			return "fail_closed"
		case v.Action > strongest:
			strongest = v.Action
			out = map[pipeline.Action]string{pipeline.Redact: "redacted", pipeline.Block: "blocked"}[v.Action]
		case v.Shadow && out == "allowed":
			out = "shadow"
		}
	}
	return out
}

// apiError is the body of every answer that carries no verdict.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, "llm-firewall: "+msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"llm-firewall: answer could not be encoded"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
