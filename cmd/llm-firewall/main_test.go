package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestServeHelpListsEveryVariable(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"serve", "--help"}, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"LLMFW_GRPC_ADDR", ":50051", "LLMFW_ADMIN_ADDR", ":9090", "LLMFW_BUDGET", "150ms",
		"LLMFW_POLICY_FILE", "LLMFW_CACHE_MAX_MB", "LLMFW_MAX_RECV_BYTES", "LLMFW_LOG_LEVEL", "LLMFW_LOG_FORMAT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help does not mention %q", want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := loadConfig(map[string]string{}); err != nil {
		t.Fatalf("defaults must be valid: %v", err)
	}
	bad := map[string]map[string]string{
		"budget not a duration": {"LLMFW_BUDGET": "fast"},
		"zero budget":           {"LLMFW_BUDGET": "0s"},
		"recv below body":       {"LLMFW_MAX_RECV_BYTES": "1048576", "LLMFW_MAX_BODY_BYTES": "8388608"},
		"log level":             {"LLMFW_LOG_LEVEL": "loud"},
		"log format":            {"LLMFW_LOG_FORMAT": "xml"},
		"negative cache":        {"LLMFW_CACHE_MAX_MB": "-1"},
	}
	for name, env := range bad {
		if _, err := loadConfig(env); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "LLMFW_") {
			t.Errorf("%s: error does not name the variable: %v", name, err)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("version: v1\npolicies:\n  default:\n    detectors:\n      limits: {max_messages: 10}\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: v1\npolicies:\n  default:\n    detectors:\n      limits: {max_mesages: 10}\n"), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"policy", "check", good}, &out, &errb); code != 0 {
		t.Fatalf("good policy: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"policy", "check", bad}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "line 5") {
		t.Fatalf("bad policy: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"policy", "default"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "limits") {
		t.Fatal("policy default did not print the embedded policy")
	}
}

// TestServeLifecycle starts the real server on loopback ports, checks
// readiness, gRPC health and metrics, then shuts it down by cancelling.
func TestServeLifecycle(t *testing.T) {
	cfg, err := loadConfig(map[string]string{"LLMFW_GRPC_ADDR": "127.0.0.1:0", "LLMFW_ADMIN_ADDR": "127.0.0.1:0", "LLMFW_SHUTDOWN_GRACE": "2s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bound := make(chan listening, 1)
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, &syncWriter{w: &logs}, bound) }()
	var addr listening
	select {
	case addr = <-bound:
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr.Admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz %d", code)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "llmfw_cache_requests_total") || !strings.Contains(body, "llmfw_streams_in_flight") {
		t.Fatalf("/metrics %d lacks llmfw_ series", code)
	}
	conn, err := grpc.NewClient(addr.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hr, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "envoy.service.ext_proc.v3.ExternalProcessor"})
	if err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("grpc health: %v %v", hr.GetStatus(), err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown took too long")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log:\n%s", logs.String())
	}
}

func TestServeRefusesBadPolicyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(path, []byte("version: v\npolicies: {default: {mode: sometimes}}\n"), 0o600)
	cfg, _ := loadConfig(map[string]string{"LLMFW_POLICY_FILE": path, "LLMFW_GRPC_ADDR": "127.0.0.1:0", "LLMFW_ADMIN_ADDR": "127.0.0.1:0"})
	if err := serve(context.Background(), cfg, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Fatalf("want a policy error, got %v", err)
	}
}
