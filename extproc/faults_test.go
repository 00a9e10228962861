package extproc_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llm-firewall/llm-firewall/cache"
	"github.com/llm-firewall/llm-firewall/extproc"
)

// forwards reports whether a reply to a body message lets the body go on:
// a CONTINUE (with or without mutation) does, an ImmediateResponse does not.
func forwards(r *extprocv3.ProcessingResponse) bool {
	return r.GetRequestBody() != nil || r.GetResponseBody() != nil
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestFaultMatrix: every way the firewall can fail to scan a body ends in a
// fail-closed answer for that body, never in a reply that forwards it.
// (WASM traps and infinite loops: detectors/wasm tests and e2e
// TestWASMRules; a killed process and a shutdown under load: e2e
// TestFirewallKilledMidRequestFailsClosed and TestGracefulShutdownInFlight.)
func TestFaultMatrix(t *testing.T) {
	bomb := gzipped(bytes.Repeat([]byte("a"), 32<<20))
	cases := []struct {
		name   string
		cfg    extproc.Config
		store  func() (storeErr error)
		hdrs   []string
		body   []byte
		status int
	}{
		{name: "detector panic", body: chat("PANIC"), status: 500},
		{name: "budget exceeded", cfg: extproc.Config{Budget: 20 * time.Millisecond}, body: chat("SLOW"), status: 503},
		{name: "malformed JSON", body: []byte(`{"messages":[{"role":"user","content":"hi"}`), status: 400},
		{name: "duplicate keys hide nothing", body: []byte(`{"messages":[{"role":"user","content":"hi","content":"BLOCKME"}]}`), status: 403},
		{name: "invalid UTF-8 (not JSON: refused)", body: []byte("{\"messages\":[{\"role\":\"user\",\"content\":\"\xff BLOCKME \xfe\"}]}"), status: 400},
		{name: "oversized body", body: chat(strings.Repeat("x", 2<<20)), status: 413},
		{name: "gzip bomb", hdrs: []string{"content-encoding", "gzip"}, body: bomb, status: 413},
		{name: "unsupported encoding", hdrs: []string{"content-encoding", "compress"}, body: []byte("\x1f\x9d\x90"), status: 415},
		{name: "corrupt gzip", hdrs: []string{"content-encoding", "gzip"}, body: []byte("\x1f\x8b\x08\x00broken"), status: 400},
		{name: "attack inside gzip", hdrs: []string{"content-encoding", "gzip"}, body: gzipped(chat("BLOCKME")), status: 403},
		{name: "deep nesting", body: []byte(`{"messages":[{"role":"user","content":` + strings.Repeat("[", 5000) + `"x"` + strings.Repeat("]", 5000) + `}]}`), status: 400},
		{name: "memory budget", cfg: extproc.Config{MaxInflightBytes: 1024}, body: chat(strings.Repeat("y", 4096)), status: 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			e := h.open()
			e.send(reqHeaders(chatPath, false, tc.hdrs...))
			r := e.send(reqBody(tc.body, true))
			if forwards(r) {
				t.Fatalf("the body was forwarded: %v", r.Response)
			}
			if got := immediate(t, r).GetStatus().GetCode(); int(got) != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
		})
	}

	// A decision store that fails every call is a miss, never an allow:
	// detection still runs and still blocks.
	t.Run("cache failure", func(t *testing.T) {
		h := newHarnessWithStore(t, extproc.Config{}, nil, cache.Faulty{Err: errors.New("store down")})
		for i := 0; i < 2; i++ {
			e := h.open()
			e.send(reqHeaders(chatPath, false))
			if r := e.send(reqBody(chat("BLOCKME"), true)); forwards(r) || immediate(t, r).GetStatus().GetCode() != 403 {
				t.Fatalf("call %d with a failing cache: %v", i, r.Response)
			}
			e = h.open()
			e.send(reqHeaders(chatPath, false))
			if r := e.send(reqBody(chat("hello"), true)); !forwards(r) {
				t.Fatalf("call %d with a failing cache refused a benign body: %v", i, r.Response)
			}
		}
	})

	// The client goes away mid-transaction, with a partial body held back:
	// the server frees the transaction and never answers the held bytes
	// with a forward. (A reply already in flight before the cancel may
	// still be delivered; what matters is that the stream ends in an error.)
	t.Run("client cancel", func(t *testing.T) {
		h := newHarness(t, extproc.Config{})
		e := h.open()
		e.mode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
		e.send(reqHeaders(chatPath, false))
		r := e.send(reqBody([]byte(`{"messages":[{"role":"user","content":"hal`), false))
		if r.GetRequestBody().GetResponse().GetBodyMutation().GetClearBody() != true {
			t.Fatalf("a partial STREAMED chunk was not held back: %v", r.Response)
		}
		e.cancel()
		for {
			if _, err := e.stream.Recv(); err != nil {
				break
			}
		}
		waitFor(t, func() bool { return counter(t, h, "llmfw_streams_in_flight", "", "") == 0 })
	})

	// The server stops mid-stream: the stream ends with an error (Envoy,
	// with failure_mode_allow false, refuses the request), never a clean
	// close that would mean "continue unprocessed".
	t.Run("server stop mid-stream", func(t *testing.T) {
		h := newHarness(t, extproc.Config{Budget: 5 * time.Second})
		e := h.open()
		e.send(reqHeaders(chatPath, false))
		if err := e.stream.Send(reqBody(chat("SLOW"), true)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		h.gs.Stop()
		r, err := e.stream.Recv()
		if err == nil && forwards(r) {
			t.Fatalf("a reply forwarded the body after the server stopped: %v", r.Response)
		}
		if err == nil {
			t.Fatalf("the stream did not end with an error: %v", r.Response)
		}
	})
}
