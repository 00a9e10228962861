package extproc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
	"github.com/llm-firewall/llm-firewall/pipeline/audit"
)

// Config is what the server needs besides the engine and the policies.
type Config struct {
	// Budget bounds the work on one message (decode + detectors). It must sit
	// below Envoy's message_timeout so our fail-closed reply comes first.
	Budget time.Duration
	// MaxBodyBytes is the hard bound on a body held in memory, before and
	// after content decoding (gzip bombs stop here); policies bound it lower.
	MaxBodyBytes int
	// MaxStreams bounds concurrent transactions (a transaction lasts until
	// the upstream's response is done); past it every message is answered
	// with a fail-closed 503 (0 means unbounded).
	MaxStreams int
	// MaxInflightBytes bounds the memory all transactions together may hold
	// for bodies being held back, decoded and scanned; past it a message is
	// answered with a fail-closed 503 (0 means unbounded).
	MaxInflightBytes int64
	// MaxConcurrentScans bounds the messages being decoded and scanned at
	// once (the CPU-bound work); 0 means 4 per CPU. A message waits at
	// most QueueWait for a scan slot, then fails closed with 503 and
	// retry-after: an overloaded firewall answers fast instead of letting
	// every message run out of budget.
	MaxConcurrentScans int
	// QueueWait bounds the wait for a transaction slot (MaxStreams) or a
	// scan slot; 0 means no wait.
	QueueWait time.Duration
	// Audit receives one record per decision (nil: no audit log).
	Audit *audit.Log
	// RequireProtocolConfig refuses streams whose first message does not
	// announce the body modes: without them a partial body cannot be told
	// from a whole one. Turn it off only for Envoys too old to send it.
	RequireProtocolConfig bool
}

// Server implements envoy.service.ext_proc.v3.ExternalProcessor.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer

	cfg      Config
	engine   *pipeline.Engine
	step     *scan.Step
	policies atomic.Pointer[pipeline.PolicySet]
	metrics  *Metrics
	log      *slog.Logger
	slots    chan struct{}
	scans    chan struct{}
	inflight atomic.Int64

	warnUnknownPolicy rateLimit
}

// rateLimit lets a log line through at most every 10 seconds.
type rateLimit struct{ last atomic.Int64 }

func (r *rateLimit) allow() bool {
	now := time.Now().UnixNano()
	last := r.last.Load()
	return now-last >= int64(10*time.Second) && r.last.CompareAndSwap(last, now)
}

// acquireBytes takes n bytes of the in-flight memory budget.
func (s *Server) acquireBytes(n int64) bool {
	if s.cfg.MaxInflightBytes <= 0 || n <= 0 {
		s.inflight.Add(max(n, 0))
		return true
	}
	for {
		cur := s.inflight.Load()
		if cur+n > s.cfg.MaxInflightBytes {
			return false
		}
		if s.inflight.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// InflightBytes is the part of the in-flight memory budget in use.
func (s *Server) InflightBytes() int64 { return s.inflight.Load() }

func (s *Server) releaseBytes(n int64) {
	if n > 0 {
		s.inflight.Add(-n)
	}
}

// NewServer builds a server; it serves nothing until SetPolicies is called.
func NewServer(cfg Config, engine *pipeline.Engine, m *Metrics, log *slog.Logger) *Server {
	if cfg.Budget <= 0 {
		cfg.Budget = 150 * time.Millisecond
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, engine: engine, metrics: m, log: log}
	s.step = &scan.Step{Engine: engine, MaxBodyBytes: cfg.MaxBodyBytes, Log: log, Pins: scan.NewToolPins(toolPinCap)}
	if cfg.MaxStreams > 0 {
		s.slots = make(chan struct{}, cfg.MaxStreams)
	}
	if cfg.MaxConcurrentScans <= 0 {
		cfg.MaxConcurrentScans = 4 * runtime.GOMAXPROCS(0)
	}
	s.cfg.MaxConcurrentScans = cfg.MaxConcurrentScans
	s.scans = make(chan struct{}, cfg.MaxConcurrentScans)
	return s
}

// acquire takes a slot of sem, waiting at most the queue wait (and never
// past ctx).
func (s *Server) acquire(ctx context.Context, sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	if s.cfg.QueueWait <= 0 {
		return false
	}
	t := time.NewTimer(s.cfg.QueueWait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// acquireScan takes a scan slot for one message's decoding and detection.
func (s *Server) acquireScan(ctx context.Context) bool {
	if s.acquire(ctx, s.scans) {
		return true
	}
	s.metrics.overloaded("scans")
	return false
}

func (s *Server) releaseScan() { <-s.scans }

// SetPolicies swaps the active policy set atomically; in-flight transactions
// keep the snapshot they started with.
func (s *Server) SetPolicies(ps *pipeline.PolicySet) { s.policies.Store(ps) }

// Policies returns the active policy set (nil before the first load).
func (s *Server) Policies() *pipeline.PolicySet { return s.policies.Load() }

// Process handles one HTTP transaction. It returns nil only when Envoy ended
// the stream; it never closes cleanly to reject (Envoy would continue
// unprocessed), it answers with an ImmediateResponse instead.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	ctx := stream.Context()
	s.metrics.streamStarted()
	tx := newTransaction(s, ctx)
	defer tx.finish()

	admitted := s.admit(ctx)
	if admitted {
		defer s.release()
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if status.Code(err) == codes.Canceled || ctx.Err() != nil {
				tx.aborted = true
				if ctx.Err() != nil {
					return status.FromContextError(ctx.Err()).Err()
				}
			}
			return err // never nil here: a clean close would mean "continue unprocessed"
		}
		var resp *extprocv3.ProcessingResponse
		if admitted {
			resp, err = tx.handle(req)
		} else {
			resp, err = tx.overloaded(req)
		}
		if err != nil {
			// Not a Process-level nil: Envoy treats a non-OK status as a
			// failure and, with failure_mode_allow false, refuses the request.
			return err
		}
		if err := stream.Send(resp); err != nil {
			tx.aborted = true
			return err
		}
	}
}

func (s *Server) admit(ctx context.Context) bool {
	if s.slots == nil || s.acquire(ctx, s.slots) {
		return true
	}
	s.metrics.overloaded("streams")
	return false
}

func (s *Server) release() {
	if s.slots != nil {
		<-s.slots
	}
}

// budgetCtx bounds the work on one message.
func (s *Server) budgetCtx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.cfg.Budget)
}

// toolPinCap bounds the tool-definition pins kept (policy tool_pin): about
// 100 bytes each, so at most a few MiB.
const toolPinCap = 1 << 16
