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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncWriter{w: &bytes.Buffer{}}
	bound := make(chan listening, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logs, bound) }()
	var addr listening
	select {
	case addr = <-bound:
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	metrics := func() string {
		resp, err := http.Get("http://" + addr.Admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
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
	cancel()
	<-done
}
