package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPolicyHotReload serves a policy file, then edits it: a valid edit is
// swapped in (the metrics show its version), an invalid one is rejected and
// counted while the previous set keeps serving.
func TestPolicyHotReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(version, mode string) {
		t.Helper()
		// Write then rename, as a ConfigMap update swaps files atomically.
		tmp := path + ".tmp"
		src := "version: " + version + "\npolicies:\n  default:\n    mode: " + mode + "\n    detectors:\n      limits: {max_messages: 10}\n"
		if err := os.WriteFile(tmp, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("v1", "enforce")
	cfg, err := loadConfig(map[string]string{"LLMFW_POLICY_FILE": path, "LLMFW_POLICY_RELOAD_INTERVAL": "20ms",
		"LLMFW_GRPC_ADDR": "127.0.0.1:0", "LLMFW_ADMIN_ADDR": "127.0.0.1:0", "LLMFW_SHUTDOWN_GRACE": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{w: &bytes.Buffer{}}
	metrics, stop := serveForTest(t, cfg, logs)
	waitFor := func(what string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			m := metrics()
			if strings.Contains(m, what) {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("metrics never showed %q:\n%s", what, m)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor(`llmfw_policy_info{digest=`)
	if m := metrics(); !strings.Contains(m, `version="v1"} 1`) {
		t.Fatalf("first policy not shown:\n%s", m)
	}

	write("v2", "sometimes") // invalid mode
	waitFor(`llmfw_policy_reloads_total{result="rejected"} 1`)
	if m := metrics(); !strings.Contains(m, `version="v1"} 1`) {
		t.Fatal("a rejected file replaced the running set")
	}
	if !strings.Contains(logs.String(), "policy reload rejected") || !strings.Contains(logs.String(), "sometimes") {
		t.Fatalf("rejection not logged with its reason:\n%s", logs.String())
	}

	write("v3", "shadow")
	// One scrape gathers collectors concurrently, so the counter and the
	// info gauge may be read either side of the swap: wait for the gauge.
	waitFor(`version="v3"} 1`)
	m := waitFor(`llmfw_policy_reloads_total{result="ok"} 1`)
	if strings.Contains(m, `version="v1"`) {
		t.Fatalf("reloaded policy not in force:\n%s", m)
	}
	stop()
}

// One SIGHUP reaches every reloader through the one reload loop: the
// policy file (not polled here) is read again, and the audit log, moved
// away as logrotate does, is reopened at its path.
func TestSIGHUPReloadsEverything(t *testing.T) {
	dir := t.TempDir()
	policyPath, auditPath := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit.jsonl")
	write := func(version string) {
		t.Helper()
		src := "version: " + version + "\npolicies:\n  default:\n    detectors:\n      limits: {max_messages: 10}\n"
		if err := os.WriteFile(policyPath+".tmp", []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(policyPath+".tmp", policyPath); err != nil {
			t.Fatal(err)
		}
	}
	write("v1")
	cfg, err := loadConfig(map[string]string{"LLMFW_POLICY_FILE": policyPath, "LLMFW_POLICY_RELOAD_INTERVAL": "0s",
		"LLMFW_AUDIT_FILE": auditPath,
		"LLMFW_GRPC_ADDR":  "127.0.0.1:0", "LLMFW_ADMIN_ADDR": "127.0.0.1:0", "LLMFW_SHUTDOWN_GRACE": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{w: &bytes.Buffer{}}
	metrics, stop := serveForTest(t, cfg, logs)

	write("v2")
	if err := os.Rename(auditPath, auditPath+".1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // no poll may pick it up: the interval is 0
	if m := metrics(); !strings.Contains(m, `version="v1"} 1`) {
		t.Fatalf("policy changed without SIGHUP:\n%s", m)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, statErr := os.Stat(auditPath)
		if strings.Contains(metrics(), `version="v2"} 1`) && statErr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP: policy v2 in force %v, audit log reopened %v (%v)\n%s",
				strings.Contains(metrics(), `version="v2"} 1`), statErr == nil, statErr, logs.String())
		}
	}
	stop()
}

// serveForTest runs serve on cfg until stop; metrics scrapes its admin
// listener.
func serveForTest(t *testing.T, cfg Config, logs io.Writer) (metrics func() string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bound := make(chan listening, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logs, bound) }()
	var addr listening
	select {
	case addr = <-bound:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	t.Cleanup(cancel)
	metrics = func() string {
		resp, err := http.Get("http://" + addr.Admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	return metrics, func() { cancel(); <-done }
}
