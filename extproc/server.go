package extproc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Config is what the server needs besides the engine and the policies.
type Config struct {
	// Budget bounds the work on one message (decode + detectors). It must sit
	// below Envoy's message_timeout so our fail-closed reply comes first.
	Budget time.Duration
	// MaxBodyBytes is the hard bound on a body held in memory, before and
	// after content decoding (gzip bombs stop here); policies bound it lower.
	MaxBodyBytes int
	// MaxStreams bounds concurrent transactions; past it every message is
	// answered with a fail-closed 503 (0 means unbounded).
	MaxStreams int
}

// Server implements envoy.service.ext_proc.v3.ExternalProcessor.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer

	cfg      Config
	engine   *pipeline.Engine
	policies atomic.Pointer[pipeline.PolicySet]
	metrics  *Metrics
	log      *slog.Logger
	slots    chan struct{}
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
	if cfg.MaxStreams > 0 {
		s.slots = make(chan struct{}, cfg.MaxStreams)
	}
	return s
}

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

	admitted := s.admit()
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
				return status.FromContextError(ctx.Err()).Err()
			}
			return err
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

func (s *Server) admit() bool {
	if s.slots == nil {
		return true
	}
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
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
