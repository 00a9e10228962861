package extproc_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/llm-firewall/llm-firewall/extproc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const chatPath = "/v1/chat/completions"

func chat(content string) []byte {
	b, _ := json.Marshal(map[string]any{
		"model":    "gpt-4o-mini",
		"messages": []map[string]any{{"role": "system", "content": "You are helpful."}, {"role": "user", "content": content}},
	})
	return b
}

func completion(content string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
	})
	return b
}

func openAIError(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI-shaped error: %s (%v)", body, err)
	}
	return e.Error.Message
}

func TestAllowedTransaction(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	body := chat("What is the capital of France?")

	r := e.send(reqHeaders(chatPath, false, "content-length", itoa(len(body)), "x-llmfw-decision", "allow"))
	c := common(t, r)
	if got := c.GetHeaderMutation().GetRemoveHeaders(); len(got) != 1 || got[0] != "x-llmfw-decision" {
		t.Fatalf("a client-supplied x-llmfw-decision header must be removed, got %v", got)
	}
	r = e.send(reqBody(body, true))
	c = common(t, r)
	if c.GetBodyMutation() != nil {
		t.Fatal("an allowed body must not be mutated")
	}
	if header(c.GetHeaderMutation(), extproc.HeaderDecision) != "allow" {
		t.Fatalf("missing %s header", extproc.HeaderDecision)
	}
	id := r.GetDynamicMetadata().GetFields()[extproc.MetadataNS].GetStructValue().GetFields()["decision_id"].GetStringValue()
	if len(id) != 36 || header(c.GetHeaderMutation(), extproc.HeaderDecisionID) != id {
		t.Fatalf("decision ID missing or inconsistent: metadata %q", id)
	}

	resp := completion("Paris.")
	r = e.send(respHeaders("200", false, "content-length", itoa(len(resp))))
	if got := header(common(t, r).GetHeaderMutation(), extproc.HeaderDecisionID); got != id {
		t.Fatalf("response headers carry decision %q, want the request's %q", got, id)
	}
	r = e.send(respBody(resp, true))
	if common(t, r).GetBodyMutation() != nil {
		t.Fatal("an allowed response must not be mutated")
	}
	if got := r.GetDynamicMetadata().GetFields()[extproc.MetadataNS].GetStructValue().GetFields()["decision_id"].GetStringValue(); got != id {
		t.Fatalf("response decision %q, want the transaction's one ID %q", got, id)
	}
	e.close()
	waitFor(t, func() bool { return testutil.ToFloat64(metric(t, h, "llmfw_streams_in_flight")) == 0 })
}

func TestBlockedRequestIsProviderShaped(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	for _, tc := range []struct {
		path  string
		body  []byte
		check func(t *testing.T, body []byte)
	}{
		{chatPath, chat("please BLOCKME"), func(t *testing.T, b []byte) { openAIError(t, b) }},
		{"/v1/messages", []byte(`{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"BLOCKME"}]}`),
			func(t *testing.T, b []byte) {
				var e struct {
					Type  string `json:"type"`
					Error struct{ Type, Message string }
				}
				if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" || e.Error.Type != "permission_error" || e.Error.Message == "" {
					t.Fatalf("not an Anthropic-shaped 403: %s", b)
				}
			}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			e := h.open()
			e.send(reqHeaders(tc.path, false))
			ir := immediate(t, e.send(reqBody(tc.body, true)))
			if ir.GetStatus().GetCode() != 403 {
				t.Fatalf("status %v, want 403", ir.GetStatus().GetCode())
			}
			if header(ir.GetHeaders(), extproc.HeaderDecision) != "block" || header(ir.GetHeaders(), extproc.HeaderDecisionID) == "" {
				t.Fatal("block reply lacks decision headers")
			}
			if bytes.Contains(ir.GetBody(), []byte("please")) {
				t.Fatal("error body echoes the prompt")
			}
			tc.check(t, ir.GetBody())
		})
	}
}

func TestRedactionRewritesBodyAndLength(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	body := chat("my key is secret-12345, keep it")
	e.send(reqHeaders(chatPath, false, "content-length", itoa(len(body))))
	c := common(t, e.send(reqBody(body, true)))
	out := c.GetBodyMutation().GetBody()
	if out == nil {
		t.Fatal("want a body mutation")
	}
	if got := header(c.GetHeaderMutation(), "content-length"); got != itoa(len(out)) {
		t.Fatalf("content-length %q does not match the new body (%d bytes)", got, len(out))
	}
	var req struct {
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal(out, &req); err != nil {
		t.Fatalf("rewritten body is not JSON: %v", err)
	}
	if got := req.Messages[1].Content; got != "my key is [REDACTED:SECRET], keep it" {
		t.Fatalf("redacted content %q", got)
	}
	if header(c.GetHeaderMutation(), extproc.HeaderDecision) != "redact" {
		t.Fatal("decision header should say redact")
	}
}

func TestMalformedJSONIs400(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.send(reqHeaders(chatPath, false))
	ir := immediate(t, e.send(reqBody([]byte(`{"model":"x","messages":[{"role":"user","content":"hi"}`), true)))
	if ir.GetStatus().GetCode() != 400 {
		t.Fatalf("status %d, want 400", ir.GetStatus().GetCode())
	}
	openAIError(t, ir.GetBody())

	// A policy may relax it: the body is then scanned as text, still blocked on content.
	e = h.open("x-llmfw-policy", "lenient")
	e.send(reqHeaders(chatPath, false))
	ir = immediate(t, e.send(reqBody([]byte(`{"messages":[{"role":"user","content":"BLOCKME"`), true)))
	if ir.GetStatus().GetCode() != 403 {
		t.Fatalf("lenient malformed body with BLOCKME: status %d, want 403", ir.GetStatus().GetCode())
	}
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestCompressedBodiesAreScanned(t *testing.T) {
	h := newHarness(t, extproc.Config{})

	e := h.open()
	e.send(reqHeaders(chatPath, false, "content-encoding", "gzip"))
	if ir := immediate(t, e.send(reqBody(gz(t, chat("BLOCKME")), true))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("gzip body with BLOCKME: status %d, want 403", ir.GetStatus().GetCode())
	}

	e = h.open()
	e.send(reqHeaders(chatPath, false, "content-encoding", "gzip"))
	if c := common(t, e.send(reqBody(gz(t, chat("hello")), true))); c.GetBodyMutation() != nil {
		t.Fatal("a clean gzip body is forwarded as it came")
	}

	// Redacting a compressed body forwards it decoded, without content-encoding.
	e = h.open()
	e.send(reqHeaders(chatPath, false, "content-encoding", "gzip"))
	c := common(t, e.send(reqBody(gz(t, chat("secret-99")), true)))
	if !bytes.Contains(c.GetBodyMutation().GetBody(), []byte("[REDACTED:SECRET]")) ||
		len(c.GetHeaderMutation().GetRemoveHeaders()) != 1 || c.GetHeaderMutation().GetRemoveHeaders()[0] != "content-encoding" {
		t.Fatalf("redacted gzip body: %s / %v", c.GetBodyMutation().GetBody(), c.GetHeaderMutation())
	}

	e = h.open()
	e.send(reqHeaders(chatPath, false, "content-encoding", "compress"))
	if ir := immediate(t, e.send(reqBody([]byte("\x1f\x9d junk"), true))); ir.GetStatus().GetCode() != 415 {
		t.Fatalf("unsupported encoding: status %d, want 415", ir.GetStatus().GetCode())
	}

	e = h.open()
	e.send(reqHeaders(chatPath, false, "content-encoding", "gzip"))
	if ir := immediate(t, e.send(reqBody([]byte("not gzip at all"), true))); ir.GetStatus().GetCode() != 400 {
		t.Fatalf("corrupt gzip: status %d, want 400", ir.GetStatus().GetCode())
	}

	// A gzip bomb: 64 MiB of zeros in ~64 KiB; refused, not inflated.
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 64 {
		w.Write(zero)
	}
	w.Close()
	e = h.open()
	e.send(reqHeaders(chatPath, false, "content-encoding", "gzip"))
	if ir := immediate(t, e.send(reqBody(buf.Bytes(), true))); ir.GetStatus().GetCode() != 413 {
		t.Fatalf("gzip bomb: status %d, want 413", ir.GetStatus().GetCode())
	}
}

func TestOversizeBodyIs413(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	big := chat(strings.Repeat("a", 2<<20))

	e := h.open()
	e.send(reqHeaders(chatPath, false))
	if ir := immediate(t, e.send(reqBody(big, true))); ir.GetStatus().GetCode() != 413 {
		t.Fatalf("2 MiB body: status %d, want 413", ir.GetStatus().GetCode())
	}
	// With a content-length the refusal comes at the headers, before buffering.
	e = h.open()
	if ir := immediate(t, e.send(reqHeaders(chatPath, false, "content-length", itoa(len(big))))); ir.GetStatus().GetCode() != 413 {
		t.Fatalf("declared 2 MiB: status %d, want 413", ir.GetStatus().GetCode())
	}
	// Envoy hit its buffer limit and sends a partial body: never scanned in part.
	e = h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_BUFFERED_PARTIAL
	e.send(reqHeaders(chatPath, false))
	if ir := immediate(t, e.send(reqBody([]byte(`{"messages":[`), false))); ir.GetStatus().GetCode() != 413 {
		t.Fatalf("partial body: status %d, want 413", ir.GetStatus().GetCode())
	}
}

func TestDetectorPanicFailsClosed(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.send(reqHeaders(chatPath, false))
	ir := immediate(t, e.send(reqBody(chat("PANIC"), true)))
	if ir.GetStatus().GetCode() != 500 {
		t.Fatalf("status %d, want 500", ir.GetStatus().GetCode())
	}
	// The server keeps serving.
	e = h.open()
	e.send(reqHeaders(chatPath, false))
	common(t, e.send(reqBody(chat("fine"), true)))
}

func TestBudgetExceededFailsClosed(t *testing.T) {
	h := newHarness(t, extproc.Config{Budget: 20 * time.Millisecond})
	e := h.open()
	e.send(reqHeaders(chatPath, false))
	start := time.Now()
	ir := immediate(t, e.send(reqBody(chat("SLOW"), true)))
	if ir.GetStatus().GetCode() != 503 {
		t.Fatalf("status %d, want 503", ir.GetStatus().GetCode())
	}
	if !strings.Contains(openAIError(t, ir.GetBody()), "budget") {
		t.Fatal("the error should say the budget ran out")
	}
	if time.Since(start) > time.Second {
		t.Fatal("the budget reply waited for the detector")
	}

	h = newHarness(t, extproc.Config{Budget: time.Nanosecond})
	for _, body := range [][]byte{chat("hello"), chat("x")} {
		e = h.open()
		e.send(reqHeaders(chatPath, false))
		if ir := immediate(t, e.send(reqBody(body, true))); ir.GetStatus().GetCode() != 503 {
			t.Fatalf("1ns budget: status %d, want 503", ir.GetStatus().GetCode())
		}
	}
}

func TestResponseIsScanned(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.send(reqHeaders(chatPath, false))
	e.send(reqBody(chat("hi"), true))
	e.send(respHeaders("200", false))
	ir := immediate(t, e.send(respBody(completion("sure: BLOCKME"), true)))
	if ir.GetStatus().GetCode() != 403 {
		t.Fatalf("status %d, want 403", ir.GetStatus().GetCode())
	}

	e = h.open()
	e.send(reqHeaders(chatPath, false))
	e.send(reqBody(chat("hi"), true))
	e.send(respHeaders("200", false))
	c := common(t, e.send(respBody(completion("your token secret-777"), true)))
	if !bytes.Contains(c.GetBodyMutation().GetBody(), []byte(`your token [REDACTED:SECRET]`)) {
		t.Fatalf("response not redacted: %s", c.GetBodyMutation().GetBody())
	}

	// An upstream error page that is not JSON is still scanned, as text.
	e = h.open()
	e.send(reqHeaders(chatPath, false))
	e.send(reqBody(chat("hi"), true))
	e.send(respHeaders("502", false, "content-type", "text/html"))
	immediate(t, e.send(respBody([]byte("<h1>BLOCKME</h1>"), true)))
}

func TestStreamStartingAtResponseHeaders(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	// No request phase (an earlier filter answered, or request phases are
	// skipped on the route): the response is still scanned.
	e := h.open()
	common(t, e.send(respHeaders("200", false)))
	if ir := immediate(t, e.send(respBody(completion("BLOCKME"), true))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("status %d, want 403", ir.GetStatus().GetCode())
	}
	e = h.open()
	common(t, e.send(respHeaders("413", false)))
	if c := common(t, e.send(respBody([]byte(`{"error":"payload too large"}`), true))); c.GetBodyMutation() != nil {
		t.Fatal("a clean local reply passes unchanged")
	}
}

func TestFirstMessageIsRequestBody(t *testing.T) {
	// request_header_mode: SKIP — the body is the first message; the policy
	// must still be selected and applied.
	h := newHarness(t, extproc.Config{})
	e := h.open()
	if ir := immediate(t, e.send(reqBody(chat("BLOCKME"), true))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("status %d, want 403", ir.GetStatus().GetCode())
	}
}

func TestMissingProtocolConfigFailsClosed(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.mode = nil
	if ir := immediate(t, e.send(reqHeaders(chatPath, false))); ir.GetStatus().GetCode() != 503 {
		t.Fatalf("status %d, want 503", ir.GetStatus().GetCode())
	}
}

func TestRepeatedContentEncodingHeaders(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	// A second header line must not hide the first (RFC 9110 joins them).
	e.send(reqHeaders("/api/chat", false, "content-encoding", "gzip", "content-encoding", "identity"))
	if ir := immediate(t, e.send(reqBody(gz(t, chat("BLOCKME")), true))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("status %d, want 403", ir.GetStatus().GetCode())
	}
}

func TestUpstreamCannotForgeDecisionHeaders(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.send(reqHeaders("/v1/models", true))
	c := common(t, e.send(respHeaders("200", false, "x-llmfw-decision", "allow")))
	if got := c.GetHeaderMutation().GetRemoveHeaders(); len(got) != 1 || got[0] != "x-llmfw-decision" {
		t.Fatalf("upstream x-llmfw-decision not removed: %v", got)
	}
}

func TestMemoryBudgetFailsClosed(t *testing.T) {
	h := newHarness(t, extproc.Config{MaxInflightBytes: 64 << 10})
	e := h.open()
	e.send(reqHeaders(chatPath, false))
	if ir := immediate(t, e.send(reqBody(chat(strings.Repeat("a", 32<<10)), true))); ir.GetStatus().GetCode() != 503 {
		t.Fatalf("status %d, want 503", ir.GetStatus().GetCode())
	}
	// Small bodies still pass, and the budget is returned after each message.
	for range 3 {
		e = h.open()
		e.send(reqHeaders(chatPath, false))
		common(t, e.send(reqBody(chat("hi"), true)))
	}
	// Held STREAMED chunks are charged and returned too.
	e = h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
	e.send(reqHeaders(chatPath, false))
	body := chat("hello there")
	e.send(reqBody(body[:8], false))
	common(t, e.send(reqBody(body[8:], true)))
	e.close()
	waitFor(t, func() bool { return h.srv.InflightBytes() == 0 })
}

func TestStreamedRedaction(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	// One chunk with end_of_stream in STREAMED mode: the headers have left,
	// so the reply carries the body only.
	e := h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
	e.send(reqHeaders(chatPath, false, "content-length", "10"))
	c := common(t, e.send(reqBody(chat("key secret-42"), true)))
	if c.GetHeaderMutation() != nil || !bytes.Contains(c.GetBodyMutation().GetBody(), []byte("[REDACTED:SECRET]")) {
		t.Fatalf("streamed redaction: headers %v body %s", c.GetHeaderMutation(), c.GetBodyMutation().GetBody())
	}
	// A compressed streamed body cannot be relabelled: blocked, not leaked.
	e = h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
	e.send(reqHeaders(chatPath, false, "content-encoding", "gzip"))
	if ir := immediate(t, e.send(reqBody(gz(t, chat("key secret-42")), true))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("status %d, want 403", ir.GetStatus().GetCode())
	}
}

func TestUnscannedBodyModeFailsClosed(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_NONE
	if ir := immediate(t, e.send(reqHeaders(chatPath, false))); ir.GetStatus().GetCode() != 503 {
		t.Fatalf("status %d, want 503", ir.GetStatus().GetCode())
	}
	// Headers-only requests have nothing to hide.
	e = h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_NONE
	common(t, e.send(reqHeaders("/v1/models", true)))
	// A policy may accept it.
	e = h.open("x-llmfw-policy", "lenient")
	e.mode.RequestBodyMode = filterv3.ProcessingMode_NONE
	common(t, e.send(reqHeaders(chatPath, false)))
}

func TestStreamedBodyIsHeldUntilScanned(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	body := chat("please BLOCK" + "ME now")
	split := bytes.Index(body, []byte("BLOCK")) + 3

	e := h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
	e.send(reqHeaders(chatPath, false))
	c := common(t, e.send(reqBody(body[:split], false)))
	if !c.GetBodyMutation().GetClearBody() {
		t.Fatal("a streamed chunk must be held back (cleared) until the body is scanned")
	}
	if ir := immediate(t, e.send(reqBody(body[split:], true))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("BLOCKME split across chunks: status %d, want 403", ir.GetStatus().GetCode())
	}

	clean := chat("nothing to see")
	e = h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
	e.send(reqHeaders(chatPath, false))
	e.send(reqBody(clean[:10], false))
	c = common(t, e.send(reqBody(clean[10:], true)))
	if !bytes.Equal(c.GetBodyMutation().GetBody(), clean) {
		t.Fatalf("the last chunk must release the whole held body; got %q", c.GetBodyMutation().GetBody())
	}
}

func TestShadowPolicyAllowsAndSaysSo(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open("x-llmfw-policy", "watch")
	e.send(reqHeaders(chatPath, false))
	c := common(t, e.send(reqBody(chat("BLOCKME"), true)))
	if header(c.GetHeaderMutation(), extproc.HeaderDecision) != "shadow" {
		t.Fatal("shadow decision should be visible in the decision header")
	}
}

func TestRouteNameSelectsPolicy(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.route = "watch"
	e.send(reqHeaders(chatPath, false))
	if c := common(t, e.send(reqBody(chat("BLOCKME"), true))); header(c.GetHeaderMutation(), extproc.HeaderDecision) != "shadow" {
		t.Fatal("route name attribute did not select the watch policy")
	}
}

func TestHostAndPathSelectPolicy(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	for host, want := range map[string]string{"shadow.example": "shadow", "llm.example": ""} {
		e := h.open()
		hdrs := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: headers(false,
			":method", "POST", ":path", chatPath, ":authority", host, "content-type", "application/json")}}
		e.send(hdrs)
		r := e.send(reqBody(chat("BLOCKME"), true))
		if want == "" {
			immediate(t, r) // the default policy blocks
			continue
		}
		if got := header(common(t, r).GetHeaderMutation(), extproc.HeaderDecision); got != want {
			t.Fatalf("host %s: decision %q, want %q", host, got, want)
		}
	}
}

// TestScanOverloadFailsFast: with every scan slot busy past the queue wait,
// a message is refused at once with 503 and retry-after (not left to run
// out of its budget), and counted.
func TestScanOverloadFailsFast(t *testing.T) {
	h := newHarness(t, extproc.Config{MaxConcurrentScans: 1, QueueWait: 10 * time.Millisecond, Budget: 2 * time.Second})
	busy := h.open()
	busy.send(reqHeaders(chatPath, false))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = busy.stream.Send(reqBody(chat("SLOW"), true)) // holds the only scan slot until its budget ends
		_, _ = busy.stream.Recv()
	}()
	refused := false
	for i := 0; i < 200 && !refused; i++ {
		e := h.open()
		e.send(reqHeaders(chatPath, false))
		r := e.send(reqBody(chat("hello"), true))
		if ir := r.GetImmediateResponse(); ir != nil {
			if ir.GetStatus().GetCode() != 503 || header(ir.GetHeaders(), "retry-after") == "" {
				t.Fatalf("status %d retry-after %q, want 503 with retry-after", ir.GetStatus().GetCode(), header(ir.GetHeaders(), "retry-after"))
			}
			refused = true
		}
		e.close()
		time.Sleep(5 * time.Millisecond)
	}
	if !refused {
		t.Fatal("no message was refused while the only scan slot was busy")
	}
	if n := counter(t, h, "llmfw_overload_rejections_total", "limit", "scans"); n < 1 {
		t.Fatalf("llmfw_overload_rejections_total{limit=scans} = %v", n)
	}
	<-done
}

func TestOverloadFailsClosed(t *testing.T) {
	h := newHarness(t, extproc.Config{MaxStreams: 1})
	busy := h.open()
	busy.send(reqHeaders(chatPath, false)) // holds the only slot
	e := h.open()
	ir := immediate(t, e.send(reqHeaders(chatPath, false)))
	if ir.GetStatus().GetCode() != 503 {
		t.Fatalf("status %d, want 503", ir.GetStatus().GetCode())
	}
	if header(ir.GetHeaders(), "retry-after") == "" {
		t.Fatal("overload 503 without retry-after")
	}
	busy.close()
	waitFor(t, func() bool {
		e := h.open()
		defer e.close()
		req := reqHeaders(chatPath, true)
		req.ProtocolConfig = e.mode
		_ = e.stream.Send(req)
		r, err := e.stream.Recv()
		return err == nil && r.GetImmediateResponse() == nil
	})
}

func TestClientCancelMidStream(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.send(reqHeaders(chatPath, false))
	e.cancel() // Envoy resets the stream before the body
	waitFor(t, func() bool { return testutil.ToFloat64(metric(t, h, "llmfw_streams_in_flight")) == 0 })
	if got := counter(t, h, "llmfw_transactions_total", "outcome", "aborted"); got != 1 {
		t.Fatalf("aborted transactions = %v, want 1", got)
	}
}

func TestTrailers(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	// BUFFERED with trailers: Envoy sends the whole body without
	// end_of_stream, then the trailers.
	e := h.open()
	e.send(reqHeaders(chatPath, false))
	common(t, e.send(reqBody(chat("hi"), false)))
	e.send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: &extprocv3.HttpTrailers{}}})
	e.send(respHeaders("200", false))
	if ir := immediate(t, e.send(respBody(completion("BLOCKME"), false))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("buffered body before trailers not scanned: %d", ir.GetStatus().GetCode())
	}

	// STREAMED body held back when trailers arrive: it can no longer be
	// released, so the stream fails (Envoy answers it closed).
	e = h.open()
	e.mode.RequestBodyMode = filterv3.ProcessingMode_STREAMED
	e.send(reqHeaders(chatPath, false))
	e.send(reqBody(chat("hi"), false))
	if err := e.stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: &extprocv3.HttpTrailers{}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.stream.Recv(); err == nil {
		t.Fatal("want the stream to fail with an error status")
	}
}

func TestMetricsAreLintClean(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	e.send(reqHeaders(chatPath, false))
	e.send(reqBody(chat("BLOCKME"), true))
	problems, err := testutil.GatherAndLint(h.reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v", err, problems)
	}
	if got := counter(t, h, "llmfw_decisions_total", "rule", "word.block"); got != 1 {
		t.Fatalf("llmfw_decisions_total{rule=word.block} = %v", got)
	}
}

func TestAuditLogHasDecisionsButNoText(t *testing.T) {
	var logs syncBuffer
	h := newHarnessWithLog(t, extproc.Config{}, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	const marker = "TOPSECRET-PROMPT-TEXT"
	for _, text := range []string{marker + " BLOCKME", marker + " fine", marker + " secret-1"} {
		e := h.open()
		e.send(reqHeaders(chatPath, false, "content-length", "1", "authorization", "Bearer sk-"+marker))
		e.send(reqBody(chat(text), true))
	}
	e := h.open()
	e.send(reqHeaders(chatPath, false, "content-length", itoa(5<<20)))
	out := logs.String()
	if strings.Contains(out, marker) {
		t.Fatalf("the log contains request text or headers:\n%s", out)
	}
	for _, want := range []string{`"action":"block"`, `"action":"allow"`, `"action":"redact"`, `"rules":["limits.body_bytes"]`, `"decision_id":"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

func sse(events ...string) []byte {
	var b bytes.Buffer
	for _, ev := range events {
		b.WriteString("data: " + ev + "\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

func TestSSEResponseIsAssembledAndScanned(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	chunk := func(text string) string {
		b, _ := json.Marshal(map[string]any{"object": "chat.completion.chunk", "choices": []map[string]any{{"index": 0, "delta": map[string]any{"content": text}}}})
		return string(b)
	}
	stream := func(parts ...string) *envoy {
		e := h.open()
		e.send(reqHeaders(chatPath, false))
		e.send(reqBody(chat("hi"), true))
		e.send(respHeaders("200", false, "content-type", "text/event-stream"))
		return e
	}
	// A word split across delta events, one part JSON-escaped.
	e := stream()
	if ir := immediate(t, e.send(respBody(sse(chunk("sure, BLO"), `{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\u0043KME"}}]}`), true))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("split BLOCKME in SSE: status %d, want 403", ir.GetStatus().GetCode())
	}
	// A secret split across events is redacted in the events themselves.
	e = stream()
	out := string(common(t, e.send(respBody(sse(chunk("token secret-"), chunk("1234 ok")), true))).GetBodyMutation().GetBody())
	if strings.Contains(out, "secret-") || strings.Contains(out, "1234") || !strings.Contains(out, `"token [REDACTED:SECRET]"`) || !strings.Contains(out, `" ok"`) {
		t.Fatalf("secret in SSE not redacted in place:\n%s", out)
	}
	e = stream()
	if c := common(t, e.send(respBody(sse(chunk("Paris "), chunk("is nice.")), true))); c.GetBodyMutation() != nil {
		t.Fatal("a clean stream passes unchanged")
	}
}

func TestLenientFallbackDecodesEscapes(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open("x-llmfw-policy", "lenient")
	e.send(reqHeaders(chatPath, false))
	if ir := immediate(t, e.send(reqBody([]byte(`{"messages":[{"role":"user","content":"\u0042LOCKME"},]}`), true))); ir.GetStatus().GetCode() != 403 {
		t.Fatalf("escaped text in a malformed body: status %d, want 403", ir.GetStatus().GetCode())
	}
}
