package scan

import (
	"context"
	"log/slog"
	"time"

	"github.com/llm-firewall/llm-firewall/pipeline"
	"github.com/llm-firewall/llm-firewall/pipeline/audit"
)

// Decision is one verdict to record and where it was made.
type Decision struct {
	Verdict   *pipeline.Verdict
	Direction pipeline.Direction
	// Transport is "ext_proc" or "http"; Route the route name (ext_proc)
	// or the endpoint (guard API).
	Transport, Route string
	API              string
	// Segments are what was scanned, for the audit record's evidence
	// hashes (never logged).
	Segments []pipeline.Segment
	Took     time.Duration
	// Attrs are the transport's own log fields.
	Attrs []slog.Attr
}

// Record writes a decision the one way every transport writes it, without
// any of the scanned text: the audit record first (it must not depend on
// the log level), then the "decision" log line, at info when the verdict
// acts, is shadowed or was forced, else at debug.
func Record(ctx context.Context, log *slog.Logger, a *audit.Log, d Decision) {
	v := d.Verdict
	r := a.FromVerdict(v, d.Direction, d.Transport, d.Route, d.Segments, d.Took)
	r.API = d.API
	a.Write(r)
	level := slog.LevelDebug
	if v.Action != pipeline.Allow || v.Shadow || v.Cause != pipeline.CauseNone {
		level = slog.LevelInfo
	}
	if log == nil || !log.Enabled(ctx, level) {
		return
	}
	attrs := append([]slog.Attr{
		slog.String("decision_id", v.DecisionID),
		slog.String("transport", d.Transport),
		slog.String("direction", d.Direction.String()),
		slog.String("action", v.Label()),
		slog.String("would_be", v.WouldBe.String()),
		slog.String("cause", string(v.Cause)),
		slog.Int("status", v.Status),
		slog.Any("rules", v.Rules()),
		slog.String("policy", v.Policy),
		slog.String("policy_version", v.PolicyVersion),
		slog.String("api", d.API),
		slog.Bool("cached", v.Cached),
	}, d.Attrs...)
	log.LogAttrs(context.WithoutCancel(ctx), level, "decision", attrs...)
}
