//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/e2e/internal/fakellm"
)

// shippedBootstrap is envoy/envoy.yaml as shipped, with only what a test
// must change: loopback ports for the admin and listener, the firewall's
// address, the two provider clusters pointed (without TLS) at the fake LLM,
// and the suite's JSON access log and x-request-id echo added beside the
// shipped ones. Every ext_proc, route and per-route setting stays as shipped.
func shippedBootstrap(t *testing.T, fwAddr, llmURL string, admin, listener int, accessLog string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var bs map[string]any
	if err := yaml.Unmarshal(src, &bs); err != nil {
		t.Fatalf("envoy/envoy.yaml: %v", err)
	}
	at := func(m any, keys ...any) any {
		for _, k := range keys {
			switch k := k.(type) {
			case string:
				m = m.(map[string]any)[k]
			case int:
				m = m.([]any)[k]
			}
		}
		return m
	}
	at(bs, "admin").(map[string]any)["address"] = socketAddress(t, "127.0.0.1:"+itoa(admin))
	sr := at(bs, "static_resources").(map[string]any)
	listeners := sr["listeners"].([]any)
	if len(listeners) != 1 {
		t.Fatalf("envoy.yaml has %d listeners, the test expects 1", len(listeners))
	}
	l := listeners[0].(map[string]any)
	l["address"] = socketAddress(t, "127.0.0.1:"+itoa(listener))
	hcm := at(l, "filter_chains", 0, "filters", 0, "typed_config").(map[string]any)
	hcm["always_set_request_id_in_response"] = true
	hcm["access_log"] = append(hcm["access_log"].([]any), map[string]any{
		"name": "envoy.access_loggers.file",
		"typed_config": map[string]any{
			"@type":      "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
			"path":       accessLog,
			"log_format": map[string]any{"json_format": accessLogFormat},
		},
	})
	upstream := strings.TrimPrefix(llmURL, "http://")
	for _, c := range sr["clusters"].([]any) {
		c := c.(map[string]any)
		switch c["name"] {
		case "llm-firewall":
			c["load_assignment"] = loadAssignment(t, "llm-firewall", fwAddr)
		case "openai", "anthropic":
			c["type"] = "STATIC"
			delete(c, "dns_lookup_family")
			delete(c, "transport_socket")
			c["load_assignment"] = loadAssignment(t, c["name"].(string), upstream)
		default:
			t.Fatalf("envoy.yaml: unexpected cluster %v", c["name"])
		}
	}
	b, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadAssignment(t *testing.T, name, addr string) map[string]any {
	return map[string]any{
		"cluster_name": name,
		"endpoints": []any{map[string]any{"lb_endpoints": []any{
			map[string]any{"endpoint": map[string]any{"address": socketAddress(t, addr)}},
		}}},
	}
}

// The shipped envoy/envoy.yaml itself serves traffic: benign and injected
// chat (its openai-chat route selects the strict policy by initial
// metadata), an Anthropic message, a streamed answer switched to STREAMED by
// its allowed_override_modes, the health route that bypasses ext_proc, the
// default deny, and a dead firewall failing closed.
func TestShippedEnvoyConfigServes(t *testing.T) {
	t.Parallel()
	fw := startKillable(t)
	llm := fakellm.New()
	t.Cleanup(llm.Close)
	e := startEnvoyFrom(t, func(admin, listener int, accessLog string) []byte {
		return shippedBootstrap(t, fw.GRPCAddr, llm.URL, admin, listener, accessLog)
	})
	e.statPrefix, e.upstreams = "llm_ingress", []string{"openai", "anthropic"}
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	s := &stack{kind: viaEnvoy, fw: fw, llm: llm, front: e, url: e.URL(), http: hc}
	// The firewall cluster is health-checked: wait for its first check.
	waitHealthy(t, e, "llm-firewall")
	oc, ac := s.openai(), s.anthropic()
	// Without chatParams' system prompt: the strict profile scans system
	// text too, and flags the short "Answer briefly." (classifier score
	// 0.42 over strict's 0.35) — a false positive left to the detection work.
	userOnly := openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}}

	t.Run("benign chat on the strict route", func(t *testing.T) {
		var httpResp *http.Response
		resp, err := oc.Chat.Completions.New(testCtx(t), userOnly, ooption.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatalf("%v\n%s", err, fw.stderr)
		}
		if got := resp.Choices[0].Message.Content; got != "echo: "+prompt {
			t.Errorf("answer %q", got)
		}
		rec := s.record(t, httpResp)
		if p, _ := rec.Metadata("llmfw", "policy"); p != "strict" || rec.Route != "openai-chat" {
			t.Errorf("route %q policy %v, want openai-chat / strict (grpc_initial_metadata)", rec.Route, p)
		}
	})
	t.Run("injection is 403", func(t *testing.T) {
		before := llm.Count()
		_, err := oc.Chat.Completions.New(testCtx(t), chatParams(injectionPrompt))
		if err == nil {
			t.Fatal("injection allowed")
		}
		if apiErr := openAIStatus(t, err); apiErr.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", apiErr.StatusCode)
		}
		if llm.Count() != before {
			t.Error("the injection reached the upstream")
		}
	})
	t.Run("anthropic message", func(t *testing.T) {
		msg, err := ac.Messages.New(testCtx(t), messageParams(prompt))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Content[0].Text != "echo: "+prompt {
			t.Errorf("answer %+v", msg.Content)
		}
	})
	t.Run("streamed answer", func(t *testing.T) {
		st := oc.Chat.Completions.NewStreaming(testCtx(t), userOnly)
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != "echo: "+prompt {
			t.Errorf("answer %q", got)
		}
		if rec, _ := e.LastRecord(); !rec.Streamed {
			t.Errorf("the answer was not streamed through ext_proc (messages %v)", rec.Messages)
		}
	})
	t.Run("health route and default deny skip the upstream", func(t *testing.T) {
		before := llm.Count()
		for path, want := range map[string]int{"/healthz": 200, "/admin/secret": 404} {
			resp, err := hc.Get(e.URL() + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			}
		}
		if llm.Count() != before {
			t.Error("a direct-response route reached the upstream")
		}
	})
	t.Run("firewall down fails closed", func(t *testing.T) {
		if err := fw.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-fw.exited
		before := llm.Count()
		_, err := oc.Chat.Completions.New(testCtx(t), chatParams(prompt))
		if err == nil {
			t.Fatal("allowed with the firewall down")
		}
		if apiErr := openAIStatus(t, err); apiErr.StatusCode < 500 {
			t.Errorf("status %d, want 5xx", apiErr.StatusCode)
		}
		if llm.Count() != before {
			t.Error("the upstream was reached with the firewall down")
		}
	})
}

// waitHealthy waits until Envoy's active health check marks cluster healthy.
func waitHealthy(t *testing.T, e *realEnvoy, cluster string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if e.rawStats()["cluster."+cluster+".membership_healthy"] > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s not healthy within 15s:\n%s", cluster, e.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
