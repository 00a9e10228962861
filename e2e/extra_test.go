//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/llm-firewall/llm-firewall/e2e/internal/envoyemu"
)

func chatBody(t *testing.T, text string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"model":    "gpt-4o-mini",
		"messages": []any{map[string]any{"role": "user", "content": text}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Without content-length the size is only known from the body: the firewall
// must still refuse it (at request_body) rather than pass it.
func TestOversizeChunkedIs413(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		body := chatBody(t, twoMiB)
		// An io.Reader of unknown length makes net/http send it chunked.
		req, err := http.NewRequest(http.MethodPost, s.url+"/v1/chat/completions", io.MultiReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413; body %.300s", resp.StatusCode, b)
		}
		checkOpenAIError(t, resp, b)
		checkBlocked(t, s, http.StatusRequestEntityTooLarge)
		if rec := s.record(t, resp); rec.Phase != "request_body" {
			t.Errorf("blocked at %s, want request_body (no content-length to judge by)", rec.Phase)
		}
	})
}

// A small gzip body that inflates far past every limit must be refused, not
// forwarded unscanned.
func TestGzipBombRefused(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		// {"model":...,"messages":[{"role":"user","content":"aaaa…"}]} inflating
		// to 32 MiB, compressed as a stream (building it in memory is slow under -race).
		const inflated = 32 << 20
		var zb bytes.Buffer
		zw, err := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = zw.Write([]byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"`))
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for range inflated >> 20 {
			_, _ = zw.Write(chunk)
		}
		_, _ = zw.Write([]byte(`"}]}`))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		resp, body := s.post(t, "/v1/chat/completions", zb.Bytes(),
			map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"})
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d-byte gzip inflating to %d bytes: status %d, want 413; body %.300s", zb.Len(), inflated, resp.StatusCode, body)
		}
		checkOpenAIError(t, resp, body)
		checkBlocked(t, s, http.StatusRequestEntityTooLarge)
	})
}

// The per-route gRPC initial metadata x-llmfw-policy selects the shadow
// policy "monitor" of the default policy file: findings are recorded but the
// request goes through.
func TestShadowPolicyViaInitialMetadata(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		// 2 MiB through every family of the monitor profile (and the race
		// detector): the budget is raised, this is about shadow semantics.
		s := newStack(t, fk, map[string]string{"LLMFW_BUDGET": "20s"}, func(c *envoyemu.Config) {
			c.Routes = []envoyemu.Route{{PathPrefix: "/v1/", Name: "llm-api", InitialMetadata: map[string]string{"x-llmfw-policy": "monitor"}}}
			c.MessageTimeout = 25 * time.Second
		})
		resp, body := s.post(t, "/v1/chat/completions", chatBody(t, twoMiB), map[string]string{"Content-Type": "application/json"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("shadow policy: status %d, want 200; body %.300s", resp.StatusCode, body)
		}
		if s.llm.Count() != 1 {
			t.Errorf("upstream requests %d, want 1", s.llm.Count())
		}
		rec := s.record(t, resp)
		if p, _ := rec.Metadata("llmfw", "policy"); p != nil && p != "monitor" {
			t.Errorf("llmfw.policy = %v, want monitor", p)
		}
		checkAllowed(t, s, resp)
	})
}

// SIGTERM with a transaction in flight: the stream is allowed to finish, the
// client gets its answer, the process exits 0.
func TestGracefulShutdownInFlight(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		release := s.llm.Hold()
		defer release()
		type result struct {
			code int
			body []byte
			err  error
		}
		done := make(chan result, 1)
		reqBody := chatBody(t, "in flight")
		go func() {
			resp, err := s.http.Post(s.url+"/v1/chat/completions", "application/json", bytes.NewReader(reqBody))
			if err != nil {
				done <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			done <- result{resp.StatusCode, b, err}
		}()
		// Once the upstream holds the request, the firewall's stream is open and
		// waiting for response_headers.
		deadline := time.Now().Add(5 * time.Second)
		for s.llm.Count() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("request never reached the upstream")
			}
			time.Sleep(5 * time.Millisecond) // poll interval
		}
		stopped := make(chan error, 1)
		go func() { stopped <- s.fw.stop() }()
		// Readiness drops while the stream drains.
		hc := &http.Client{Timeout: time.Second}
		defer hc.CloseIdleConnections()
		for {
			resp, err := hc.Get("http://" + s.fw.AdminAddr + "/readyz")
			if err != nil {
				break // admin already gone: also not ready
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("/readyz stayed 200 after SIGTERM")
			}
			time.Sleep(5 * time.Millisecond) // poll interval
		}
		release()
		r := <-done
		if r.err != nil || r.code != http.StatusOK || !bytes.Contains(r.body, []byte("echo: in flight")) {
			t.Errorf("in-flight request: %d %q %v", r.code, r.body, r.err)
		}
		if err := <-stopped; err != nil {
			t.Errorf("shutdown with a stream in flight: %v\nstderr:\n%s", err, s.fw.stderr)
		}
		s.assertNoFailOpen(t)
	})
}

func TestGRPCHealthServing(t *testing.T) {
	t.Parallel()
	fw := startFirewall(t, nil)
	conn, err := grpc.NewClient(fw.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, svc := range []string{"", "envoy.service.ext_proc.v3.ExternalProcessor"} {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %v %v", svc, resp.GetStatus(), err)
		}
	}
}

// decisionIDs lists the llmfw.decision_id values a transaction's replies set.
func decisionIDs(rec envoyemu.Record) []string {
	var ids []string
	for _, u := range rec.MetadataUpdates {
		if id, ok := u.Values["decision_id"].(string); ok && u.Namespace == "llmfw" {
			ids = append(ids, u.Phase+"="+id)
		}
	}
	return ids
}

// Decision identity (STYLE.md): each transaction gets one decision ID, in
// dynamic metadata (hence %DYNAMIC_METADATA(llmfw:decision_id)% in the access
// log), in the response header and in the audit log, so they join. An ID that
// changes between the request and the response phase breaks the join: the
// access log then shows the response-phase ID while the request-phase
// finding was logged under another.
func TestOneDecisionIDPerTransaction(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		// 2 MiB through every family of the monitor profile (and the race
		// detector): the budget is raised, this is about shadow semantics.
		s := newStack(t, fk, map[string]string{"LLMFW_BUDGET": "20s"}, func(c *envoyemu.Config) {
			c.Routes = []envoyemu.Route{{PathPrefix: "/v1/", Name: "llm-api", InitialMetadata: map[string]string{"x-llmfw-policy": "monitor"}}}
			c.MessageTimeout = 25 * time.Second
		})
		// Shadow policy: the request phase has a finding that is logged at info.
		resp, body := s.post(t, "/v1/chat/completions", chatBody(t, twoMiB), map[string]string{"Content-Type": "application/json"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d; body %.300s", resp.StatusCode, body)
		}
		rec := s.record(t, resp)
		ids := decisionIDs(rec)
		final, ok := rec.Metadata("llmfw", "decision_id")
		if !ok {
			t.Fatal("no llmfw.decision_id in the transaction's dynamic metadata")
		}
		// Each reply's update is visible in the emulator; real Envoy's
		// access log shows the merged result, which must still join with
		// the request-phase audit line below.
		if len(ids) == 0 && fk == viaEmulator {
			t.Fatal("no llmfw.decision_id in any reply")
		}
		for _, pid := range ids {
			if !strings.HasSuffix(pid, "="+final.(string)) {
				t.Errorf("decision_id differs between phases: %v", ids)
				break
			}
		}
		if h := resp.Header.Get("x-llmfw-decision-id"); h != "" && h != final {
			t.Errorf("x-llmfw-decision-id %q, metadata %v", h, final)
		}
		// The audit line of the request-phase finding carries the same ID.
		deadline := time.Now().Add(5 * time.Second)
		for {
			var logged []string
			for _, line := range strings.Split(s.fw.stderr.String(), "\n") {
				var e struct {
					Msg        string   `json:"msg"`
					DecisionID string   `json:"decision_id"`
					Direction  string   `json:"direction"`
					Rules      []string `json:"rules"`
				}
				if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "decision" && e.Direction == "request" {
					logged = append(logged, e.DecisionID)
				}
			}
			if len(logged) > 0 {
				if logged[len(logged)-1] != final {
					t.Errorf("request-phase audit decision_id %v, access-log decision_id (final metadata) %v: they do not join", logged, final)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("no request-phase decision line in the log:\n%s", s.fw.stderr)
				break
			}
			time.Sleep(10 * time.Millisecond) // poll interval
		}
	})
}

// A route named like a policy selects it (the xds.route_name attribute):
// the chat route is named "monitor", the shadow profile, so an injection
// there is recorded and forwarded; the same injection on the messages route
// (named "llm-api", no such policy: the default) is blocked.
func TestRouteNameSelectsPolicy(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil, func(c *envoyemu.Config) {
			c.Routes = []envoyemu.Route{{PathPrefix: "/v1/chat/", Name: "monitor"}, {PathPrefix: "/v1/", Name: "llm-api"}}
		})
		resp, body := s.post(t, "/v1/chat/completions", chatBody(t, injectionPrompt), map[string]string{"Content-Type": "application/json"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("route monitor: status %d, want 200 (shadow); body %.300s", resp.StatusCode, body)
		}
		if d := resp.Header.Get("x-llmfw-decision"); d != "shadow" {
			t.Errorf("route monitor: x-llmfw-decision %q, want shadow", d)
		}
		rec := s.record(t, resp)
		if p, _ := rec.Metadata("llmfw", "policy"); p != "monitor" {
			t.Errorf("route monitor: llmfw.policy %v, want monitor", p)
		}
		if rec.Route != "monitor" {
			t.Errorf("record route %q, want monitor", rec.Route)
		}

		msg, _ := json.Marshal(map[string]any{"model": "claude", "max_tokens": 64,
			"messages": []any{map[string]any{"role": "user", "content": injectionPrompt}}})
		before := s.llm.Count()
		resp, body = s.post(t, "/v1/messages", msg, map[string]string{"Content-Type": "application/json"})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("route llm-api: status %d, want 403; body %.300s", resp.StatusCode, body)
		}
		if s.llm.Count() != before {
			t.Error("route llm-api: the blocked injection reached the upstream")
		}
		if p, _ := s.record(t, resp).Metadata("llmfw", "policy"); p != "balanced" {
			t.Errorf("route llm-api: llmfw.policy %v, want the default balanced", p)
		}
	})
}
