package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/llm-firewall/llm-firewall/cache"
	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/detectors/wasm"
	"github.com/llm-firewall/llm-firewall/extproc"
	"github.com/llm-firewall/llm-firewall/internal/reload"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// listening reports the bound addresses (tests serve on :0).
type listening struct{ GRPC, Admin, HTTP string }

// serve runs until ctx is done, then drains: readiness and gRPC health go
// NOT_SERVING first, in-flight streams get cfg.ShutdownGrace to finish.
func serve(ctx context.Context, cfg Config, logw io.Writer, bound chan<- listening) error {
	log := newLogger(cfg, logw)
	applyMemoryLimit(cfg.MemoryLimitRatio, log)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	auditLog, err := openAudit(cfg.AuditConfig, reg, log)
	if err != nil {
		return err
	}
	defer func() {
		// After the listeners stopped: every decision is flushed.
		if err := auditLog.Close(); err != nil {
			log.Error("audit log close", "err", err)
		}
	}()
	wasm.SetLogger(log)
	if err := wasm.RegisterMetrics(reg); err != nil {
		return fmt.Errorf("wasm metrics: %w", err)
	}
	policies, source, raw, err := loadPolicies(cfg)
	if err != nil {
		return err
	}

	engineOpts := all.EngineOptions(pipeline.WithMetrics(pipeline.NewMetrics(reg)), pipeline.WithLogger(log))
	if cfg.CacheMaxMB > 0 {
		store, err := cache.New(cache.Config{MaxMB: cfg.CacheMaxMB, TTL: cfg.CacheTTL}, reg)
		if err != nil {
			return fmt.Errorf("decision cache: %w", err)
		}
		defer store.Close()
		engineOpts = append(engineOpts, pipeline.WithCache(store))
	}
	engine := pipeline.NewEngine(engineOpts...)
	srv := extproc.NewServer(extproc.Config{
		Budget: cfg.Budget, MaxBodyBytes: cfg.MaxBodyBytes, MaxStreams: cfg.MaxStreams,
		MaxInflightBytes: int64(cfg.MaxInflightMB) << 20, RequireProtocolConfig: cfg.RequireProtocolConfig,
		MaxConcurrentScans: cfg.MaxConcurrentScans, QueueWait: cfg.QueueWait, Audit: auditLog,
	}, engine, extproc.NewMetrics(reg), log)

	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "llmfw_inflight_body_bytes",
		Help: "Bytes of the in-flight memory budget (LLMFW_MAX_INFLIGHT_MB) held by bodies being held, decoded and scanned.",
	}, func() float64 { return float64(srv.InflightBytes()) }))

	creds, httpTLS, tlsReload, err := newGRPCTLS(cfg.TLSConfig, log, reg)
	if err != nil {
		return err
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxRecvBytes),
		grpc.MaxSendMsgSize(cfg.MaxRecvBytes),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge:      cfg.MaxConnectionAge,
			MaxConnectionAgeGrace: cfg.MaxConnectionAgeGrace,
		}),
		// Envoy pings idle HTTP/2 connections; do not kill it for that.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	gs := grpc.NewServer(opts...)
	extprocv3.RegisterExternalProcessorServer(gs, srv)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	setHealth := func(st healthpb.HealthCheckResponse_ServingStatus) {
		hs.SetServingStatus("", st)
		hs.SetServingStatus(extprocv3.ExternalProcessor_ServiceDesc.ServiceName, st)
	}
	setHealth(healthpb.HealthCheckResponse_NOT_SERVING)

	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	admin := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	gl, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen %s (LLMFW_GRPC_ADDR): %w", cfg.GRPCAddr, err)
	}
	al, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		gl.Close()
		return fmt.Errorf("listen %s (LLMFW_ADMIN_ADDR): %w", cfg.AdminAddr, err)
	}

	errc := make(chan error, 2)
	go func() { errc <- gs.Serve(gl) }()
	go func() {
		if err := admin.Serve(al); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()

	// Policies are in place before anyone is told we are ready.
	srv.SetPolicies(policies)
	if !cfg.HTTPTLS {
		httpTLS = nil
	}
	guardAddr, stopGuard, err := startGuardAPI(cfg.GuardConfig, httpTLS, engine, srv.Policies, auditLog, reg, log)
	if err != nil {
		gs.Stop()
		_ = admin.Close()
		return err
	}
	// Everything that reloads from disk, on its interval and on SIGHUP.
	tasks := []reload.Task{tlsReload}
	if auditLog != nil {
		// SIGHUP after logrotate moved the file: sign and close it, start
		// the next one chained to it.
		tasks = append(tasks, reload.Task{Name: "audit log", Run: func() {
			if err := auditLog.Reopen(); err != nil {
				log.Error("audit log reopen", "err", err)
			}
		}})
	}
	if cfg.PolicyFile != "" {
		rl := newPolicyReloader(cfg.PolicyFile, raw, policies, srv.SetPolicies, log, reg)
		tasks = append(tasks, reload.Task{Name: "policy", Every: cfg.PolicyReload, Run: rl.check})
	}
	hangups, stopHangups := reload.Hangups()
	defer stopHangups()
	rctx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go reload.Loop(rctx, hangups, tasks...)
	ready.Store(true)
	setHealth(healthpb.HealthCheckResponse_SERVING)
	log.Info("serving", "grpc", gl.Addr().String(), "grpc_tls", creds != nil, "admin", al.Addr().String(), "http", guardAddr,
		"policy_source", source, "policy_version", policies.Version, "policies", policies.Names(),
		"budget", cfg.Budget.String())
	if bound != nil {
		bound <- listening{GRPC: gl.Addr().String(), Admin: al.Addr().String(), HTTP: guardAddr}
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		log.Error("listener failed", "err", runErr)
	}

	log.Info("shutting down", "grace", cfg.ShutdownGrace.String())
	ready.Store(false)
	setHealth(healthpb.HealthCheckResponse_NOT_SERVING)
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(cfg.ShutdownGrace):
		log.Warn("grace period over; cutting remaining streams")
		gs.Stop()
		<-stopped
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = stopGuard(sctx)
	_ = admin.Shutdown(sctx)
	log.Info("stopped")
	return runErr
}

// loadPolicies builds the first policy set; raw is the file's bytes (nil
// for the embedded default), which the reloader compares against.
func loadPolicies(cfg Config) (set *pipeline.PolicySet, source string, raw []byte, err error) {
	if cfg.PolicyFile == "" {
		ps, err := pipeline.LoadDefaultPolicySet()
		return ps, "embedded", nil, err
	}
	raw, err = os.ReadFile(cfg.PolicyFile)
	if err != nil {
		return nil, "", nil, fmt.Errorf("load policy (LLMFW_POLICY_FILE): %w", err)
	}
	ps, err := parsePolicyFile(raw, cfg.PolicyFile)
	return ps, cfg.PolicyFile, raw, err
}
