//go:build e2e

package e2e

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/openai/openai-go/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llm-firewall/llm-firewall/e2e/internal/envoyemu"
	"github.com/llm-firewall/llm-firewall/e2e/internal/fakellm"
)

// The fail-closed facts the firewall's design rests on, shown on the pinned
// real Envoy (and, where the emulator models them, on the emulator too, so
// the two agree). docs/architecture.md ("what real Envoy taught us") records
// what each one showed.

// newEnvoyStack is newStackFor with a real Envoy whose bootstrap tweak
// changes a setting the emulator has no knob for.
func newEnvoyStack(t *testing.T, fw *firewall, tweak func(bs map[string]any), opts ...func(*envoyemu.Config)) *stack {
	t.Helper()
	llm := fakellm.New()
	t.Cleanup(llm.Close)
	cfg := envoyemu.Config{ExtProcAddr: fw.GRPCAddr, UpstreamURL: llm.URL, MessageTimeout: 2 * time.Second,
		Routes: []envoyemu.Route{{PathPrefix: "/v1/", Name: "llm-api"}, {Name: "other"}}}
	for _, o := range opts {
		o(&cfg)
	}
	e := startEnvoyTweaked(t, cfg, tweak)
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	return &stack{kind: viaEnvoy, fw: fw, llm: llm, front: e, url: e.URL(), http: hc}
}

// scriptedProcessor is an ext_proc server that answers request_headers with
// CONTINUE and then does what its script says with request_body: it is how
// a test makes the side stream fail in one precise way.
type scriptedProcessor struct {
	extprocv3.UnimplementedExternalProcessorServer
	onBody       func() error // its error ends the stream (nil: a clean OK close)
	afterHeaders bool         // run onBody right after the header reply, without waiting for the body
}

func (p *scriptedProcessor) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		switch req.GetRequest().(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
				RequestHeaders: &extprocv3.HeadersResponse{}}}); err != nil {
				return err
			}
			if p.afterHeaders {
				return p.onBody()
			}
		case *extprocv3.ProcessingRequest_RequestBody:
			return p.onBody()
		default:
			return status.Error(codes.Internal, "script ends at the request body")
		}
	}
}

// cutProxy is a TCP proxy in front of an address whose connections the test
// can cut at once (a reset of the side stream's HTTP/2 connection).
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(u, c); u.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// cut resets every proxied connection (SO_LINGER 0 sends RST, not FIN).
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
	p.conns = nil
}

// startScripted serves p on loopback, behind a cutProxy; it returns the
// address to give the proxy as its ext_proc cluster.
func startScripted(t *testing.T, p *scriptedProcessor) (*firewall, *cutProxy) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(srv, p)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	cp := newCutProxy(t, ln.Addr().String())
	return &firewall{GRPCAddr: cp.addr()}, cp
}

// scriptedStack puts a proxy of kind in front of a scripted processor.
func scriptedStack(t *testing.T, kind frontKind, fw *firewall) *stack {
	t.Helper()
	llm := fakellm.New()
	t.Cleanup(llm.Close)
	cfg := envoyemu.Config{ExtProcAddr: fw.GRPCAddr, UpstreamURL: llm.URL, MessageTimeout: 2 * time.Second,
		Routes: []envoyemu.Route{{Name: "llm-api"}}, TestMode: true}
	var f front
	if kind == viaEnvoy {
		f = startEnvoy(t, cfg)
	} else {
		emu, err := envoyemu.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = emu.Close() })
		f = emuFront{emu}
	}
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	return &stack{kind: kind, fw: fw, llm: llm, front: f, url: f.URL(), http: hc}
}

// A firewall that was never there (nothing listens at its address): every
// request fails closed with status_on_error, and nothing reaches the model.
func TestFactFirewallUnreachable(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := scriptedStack(t, fk, &firewall{GRPCAddr: freeAddr(t)})
		resp, body := s.post(t, "/v1/chat/completions", chatBody(t, prompt), map[string]string{"Content-Type": "application/json"})
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("status %d, want status_on_error 500; body %.200s", resp.StatusCode, body)
		}
		if s.llm.Count() != 0 {
			t.Error("the upstream was reached without a firewall")
		}
		rec := s.record(t, resp)
		if rec.Outcome != envoyemu.OutcomeLocalReplyError || rec.UpstreamCalled {
			t.Errorf("outcome %q details %q upstream %v", rec.Outcome, rec.Details, rec.UpstreamCalled)
		}
		t.Logf("%s: %d %s", fk, resp.StatusCode, rec.Details)
	})
}

// The side stream fails while Envoy waits for the request-body reply: ended
// with a gRPC error, or its connection reset. Both are 5xx and nothing goes
// upstream. A clean OK close instead means "stop consulting me": the request
// goes on unprocessed whatever failure_mode_allow says — why the firewall
// never returns nil from Process to reject.
func TestFactSideStreamFailsMidBody(t *testing.T) {
	cases := []struct {
		name         string
		script       func(cp **cutProxy) func() error
		afterHeaders bool
		wantStatus   int // 0: forwarded unprocessed
		wantDetails  string
		failOpen     bool // the record must show a fail-open
	}{
		{name: "gRPC error", wantStatus: 500, wantDetails: "ext_proc_error_gRPC_error_13{detector_crashed{via_upstream}}", script: func(**cutProxy) func() error {
			return func() error { return status.Error(codes.Internal, "detector crashed") }
		}},
		{name: "connection reset", wantStatus: 500, wantDetails: "ext_proc_error_gRPC_error_13{upstream_reset_after_response_started{connection_termination}}", script: func(cp **cutProxy) func() error {
			return func() error { (*cp).cut(); return errors.New("cut") }
		}},
		{name: "clean close after headers", afterHeaders: true, failOpen: true, script: func(**cutProxy) func() error {
			return func() error { return nil }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachFront(t, func(t *testing.T, fk frontKind) {
				var cp *cutProxy
				p := &scriptedProcessor{onBody: tc.script(&cp), afterHeaders: tc.afterHeaders}
				fw, proxy := startScripted(t, p)
				cp = proxy
				s := scriptedStack(t, fk, fw)
				resp, body := s.post(t, "/v1/chat/completions", chatBody(t, prompt), map[string]string{"Content-Type": "application/json"})
				rec := s.record(t, resp)
				t.Logf("%s: %d %q messages %v", fk, resp.StatusCode, rec.Details, rec.Messages)
				if tc.failOpen {
					if resp.StatusCode != 200 || s.llm.Count() != 1 || !rec.FailOpen {
						t.Errorf("status %d upstream %d fail_open %v: a clean close should let the request go on unprocessed", resp.StatusCode, s.llm.Count(), rec.FailOpen)
					}
					return
				}
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("status %d, want %d; body %.200s", resp.StatusCode, tc.wantStatus, body)
				}
				if rec.Details != tc.wantDetails {
					t.Errorf("details %q, want %q (as Envoy 1.40 records them)", rec.Details, tc.wantDetails)
				}
				if s.llm.Count() != 0 || rec.UpstreamCalled {
					t.Error("the upstream was reached after the side stream failed")
				}
			})
		})
	}
}

// Envoy's message_timeout shorter than a slow detector: Envoy answers 504
// itself and the firewall's later reply is ignored; with the firewall's
// budget below the timeout the client gets the firewall's own 503 instead.
// Either way nothing reaches the model.
func TestFactMessageTimeoutVersusBudget(t *testing.T) {
	dir := t.TempDir()
	buildRule(t, dir, "loop")
	policy := `
version: e2e-slow-1
default: main
policies:
  main:
    detectors:
      limits: {}
      wasm:
        action: block
        rules:
          - {name: slow, module: rules/loop.wasm, timeout: 1500ms, breaker: off}
`
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, budget string
		timeout      time.Duration
		wantStatus   int
		envoysOwn    bool
	}{
		{"timeout below the detector", "5s", 300 * time.Millisecond, http.StatusGatewayTimeout, true},
		{"budget below the timeout", "200ms", 3 * time.Second, http.StatusServiceUnavailable, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachFront(t, func(t *testing.T, fk frontKind) {
				s := newStack(t, fk, map[string]string{"LLMFW_POLICY_FILE": path, "LLMFW_BUDGET": tc.budget},
					func(c *envoyemu.Config) { c.MessageTimeout = tc.timeout })
				resp, body := s.post(t, "/v1/chat/completions", chatBody(t, "please spin a while"), map[string]string{"Content-Type": "application/json"})
				rec := s.record(t, resp)
				t.Logf("%s: %d %q %.120s", fk, resp.StatusCode, rec.Details, body)
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
				if s.llm.Count() != 0 {
					t.Error("the upstream was reached")
				}
				own := rec.Outcome == envoyemu.OutcomeLocalReplyError
				if own != tc.envoysOwn {
					t.Errorf("outcome %q details %q: Envoy's own reply %v, want %v", rec.Outcome, rec.Details, own, tc.envoysOwn)
				}
				if tc.envoysOwn && s.front.Stats().MessageTimeouts == 0 {
					t.Error("no message_timeouts counted")
				}
			})
		})
	}
}

// The firewall asks for STREAMED on a text/event-stream answer. Envoy takes
// it only with allow_mode_override and only when the resulting mode is one
// of allowed_override_modes; otherwise the answer stays BUFFERED — and is
// still scanned whole (the secret is redacted either way).
func TestFactModeOverrideOnlyAdmitted(t *testing.T) {
	token := githubToken()
	want := "Use the token [REDACTED:GITHUB_TOKEN] to push."
	stream := func(t *testing.T, s *stack) envoyemu.Record {
		t.Helper()
		s.llm.SetAnswer("Use the token " + token + " to push.")
		c := s.openai()
		st := c.Chat.Completions.NewStreaming(testCtx(t), chatParams("how do I push?"))
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != want {
			t.Errorf("client got %q, want %q", got, want)
		}
		rec, _ := s.front.LastRecord()
		return rec
	}
	env := func(t *testing.T) map[string]string {
		return map[string]string{"LLMFW_POLICY_FILE": policyFile(t, sensitivePolicy)}
	}
	t.Run("admitted", func(t *testing.T) {
		eachFront(t, func(t *testing.T, fk frontKind) {
			if rec := stream(t, newStack(t, fk, env(t), streaming)); !rec.Streamed {
				t.Errorf("not streamed: messages %v", rec.Messages)
			}
		})
	})
	t.Run("override not allowed", func(t *testing.T) {
		eachFront(t, func(t *testing.T, fk frontKind) {
			if rec := stream(t, newStack(t, fk, env(t))); rec.Streamed {
				t.Errorf("streamed without allow_mode_override: messages %v", rec.Messages)
			}
		})
	})
	t.Run("another mode admitted", func(t *testing.T) {
		fw := startFirewall(t, env(t))
		s := newEnvoyStack(t, fw, func(bs map[string]any) {
			ep := bootstrapExtProc(bs)
			ep["allow_mode_override"] = true
			// The firewall's override keeps the request BUFFERED; this
			// admits only a request body mode of NONE.
			ep["allowed_override_modes"] = []any{map[string]any{
				"request_header_mode": "SEND", "response_header_mode": "SEND",
				"request_body_mode": "NONE", "response_body_mode": "STREAMED",
				"request_trailer_mode": "SKIP", "response_trailer_mode": "SKIP",
			}}
		})
		if rec := stream(t, s); rec.Streamed {
			t.Errorf("streamed although the mode is not admitted: messages %v", rec.Messages)
		}
	})
}

// Bodies over Envoy's buffer limit (per_connection_buffer_limit_bytes, here
// 64 KiB) in BUFFERED mode: Envoy answers itself and the firewall never sees
// them. The client gets an error, never the unscanned body.
func TestFactBufferLimit(t *testing.T) {
	const limit = 64 << 10
	fw := startFirewall(t, map[string]string{"LLMFW_POLICY_FILE": policyFile(t, sensitivePolicy)})
	s := newEnvoyStack(t, fw, func(bs map[string]any) {
		bootstrapListener(bs)["per_connection_buffer_limit_bytes"] = limit
	})
	t.Run("request", func(t *testing.T) {
		resp, body := s.post(t, "/v1/chat/completions", chatBody(t, strings.Repeat("lorem ipsum ", 2*limit/12)), map[string]string{"Content-Type": "application/json"})
		rec := s.record(t, resp)
		t.Logf("request over the limit: %d %q %.100s", resp.StatusCode, rec.Details, body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want Envoy's 413", resp.StatusCode)
		}
		if s.llm.Count() != 0 {
			t.Error("the upstream was reached")
		}
	})
	t.Run("response", func(t *testing.T) {
		token := githubToken()
		s.llm.SetAnswer(strings.Repeat("filler text ", 2*limit/12) + token)
		resp, body := s.post(t, "/v1/chat/completions", chatBody(t, "write a long text"), map[string]string{"Content-Type": "application/json"})
		rec := s.record(t, resp)
		t.Logf("response over the limit: %d %q %d bytes", resp.StatusCode, rec.Details, len(body))
		if resp.StatusCode < 500 {
			t.Errorf("status %d, want a 5xx from Envoy", resp.StatusCode)
		}
		if strings.Contains(string(body), token) || strings.Contains(string(body), "filler text") {
			t.Error("the unscanned answer reached the client")
		}
	})
}
