package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-firewall/llm-firewall/guard"
	"github.com/llm-firewall/llm-firewall/pipeline"
	"github.com/llm-firewall/llm-firewall/pipeline/audit"
)

// GuardConfig configures the guard HTTP API (POST /v2/guard, Lakera Guard
// v2-compatible, and POST /v1/scan). It is embedded in Config, so its
// variables are LLMFW_HTTP_*.
type GuardConfig struct {
	HTTPAddr                 string        `env:"HTTP_ADDR" help:"guard HTTP API listen address (POST /v2/guard Lakera Guard v2-compatible, POST /v1/scan); empty means off"`
	HTTPTokenFile            string        `env:"HTTP_TOKEN_FILE" help:"file of bearer tokens the guard API accepts, one per line (# comments)"`
	HTTPTokens               string        `env:"HTTP_TOKENS" help:"comma-separated bearer tokens the guard API accepts (added to HTTP_TOKEN_FILE's)"`
	HTTPAllowUnauthenticated bool          `env:"HTTP_ALLOW_UNAUTHENTICATED" envDefault:"false" help:"serve the guard API without a token (only for a listener no one else can reach); without it a token is required"`
	HTTPMaxBodyBytes         int           `env:"HTTP_MAX_BODY_BYTES" envDefault:"1048576" help:"largest guard API request body; larger ones get 413"`
	HTTPBudget               time.Duration `env:"HTTP_BUDGET" envDefault:"150ms" help:"detection budget per guard API request; past it the answer fails closed (flagged / block); keep it below the gateway's guard timeout"`
}

// startGuardAPI starts the guard API listener when cfg.HTTPAddr is set; with
// it unset it returns an empty address and a no-op shutdown. The listener
// uses the same engine, live policy set and registry as ext_proc.
func startGuardAPI(cfg GuardConfig, tlsConf *tls.Config, engine *pipeline.Engine, policies func() *pipeline.PolicySet, auditLog *audit.Log, reg prometheus.Registerer, log *slog.Logger) (addr string, shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if cfg.HTTPAddr == "" {
		return "", noop, nil
	}
	tokens, err := guard.LoadTokens(cfg.HTTPTokenFile, cfg.HTTPTokens)
	if err != nil {
		return "", noop, fmt.Errorf("%s (LLMFW_HTTP_TOKEN_FILE)", err)
	}
	if tokens.Len() == 0 && !cfg.HTTPAllowUnauthenticated {
		return "", noop, errors.New("LLMFW_HTTP_ADDR is set but the guard API has no token: set LLMFW_HTTP_TOKEN_FILE or LLMFW_HTTP_TOKENS, or LLMFW_HTTP_ALLOW_UNAUTHENTICATED=true for a listener only trusted callers can reach")
	}
	if cfg.HTTPMaxBodyBytes <= 0 {
		return "", noop, errors.New("LLMFW_HTTP_MAX_BODY_BYTES must be positive")
	}
	if cfg.HTTPBudget <= 0 {
		return "", noop, errors.New("LLMFW_HTTP_BUDGET must be positive")
	}
	h, err := guard.NewHandler(guard.Config{
		Tokens: tokens, AllowUnauthenticated: cfg.HTTPAllowUnauthenticated,
		MaxBodyBytes: cfg.HTTPMaxBodyBytes, Budget: cfg.HTTPBudget, Audit: auditLog,
	}, engine, policies, guard.NewMetrics(reg), log)
	if err != nil {
		return "", noop, err
	}
	l, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return "", noop, fmt.Errorf("listen %s (LLMFW_HTTP_ADDR): %w", cfg.HTTPAddr, err)
	}
	addr = l.Addr().String()
	if tlsConf != nil {
		l = tls.NewListener(l, tlsConf) // LLMFW_HTTP_TLS: the gRPC listener's certificate, reloaded the same way
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("guard API listener failed", "err", err)
		}
	}()
	if tokens.Len() == 0 {
		log.Warn("guard API serves without authentication (LLMFW_HTTP_ALLOW_UNAUTHENTICATED=true)")
	}
	return addr, srv.Shutdown, nil
}
