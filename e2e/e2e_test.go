//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/llm-firewall/llm-firewall/e2e/internal/envoyemu"
)

const prompt = "What is the capital of France?"

func chatParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer briefly."), openai.UserMessage(text)},
	}
}

func messageParams(text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet5_5,
		MaxTokens: 128,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

// checkAllowed asserts what every allowed transaction must show: the
// decision header, llmfw.decision_id dynamic metadata, a clean forward.
func checkAllowed(t *testing.T, s *stack, resp *http.Response) {
	t.Helper()
	if resp.Header.Get("x-llmfw-decision") == "" {
		t.Errorf("response lacks x-llmfw-decision; headers %v", resp.Header)
	}
	rec := s.record(t, resp)
	if rec.Outcome != envoyemu.OutcomeForwarded {
		t.Errorf("emulator outcome %q (details %q), want forwarded", rec.Outcome, rec.Details)
	}
	v, ok := rec.Metadata("llmfw", "decision_id")
	id, _ := v.(string)
	if !ok || id == "" {
		t.Errorf("dynamic metadata llmfw.decision_id missing or empty: %v", rec.DynamicMetadata)
	}
	// Access logs join with decisions through this ID (STYLE: decision identity).
	if h := resp.Header.Get("x-llmfw-decision-id"); h != "" && h != id {
		t.Errorf("x-llmfw-decision-id %q differs from llmfw.decision_id %q", h, id)
	}
	if want := "request_headers,request_body,response_headers,response_body"; strings.Join(rec.Messages, ",") != want {
		t.Errorf("ext_proc messages %v, want %s", rec.Messages, want)
	}
	s.assertNoFailOpen(t)
}

// Test 1.
func TestOpenAIChatAllowed(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		var httpResp *http.Response
		c := s.openai()
		resp, err := c.Chat.Completions.New(testCtx(t), chatParams(prompt), ooption.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatalf("chat completion through the firewall: %v", err)
		}
		if got := resp.Choices[0].Message.Content; got != "echo: "+prompt {
			t.Errorf("answer %q, want %q", got, "echo: "+prompt)
		}
		up, ok := s.llm.Last()
		if !ok || up.Path != "/v1/chat/completions" || !bytes.Contains(up.Body, []byte(prompt)) {
			t.Errorf("upstream request %+v does not carry the prompt", up)
		}
		checkAllowed(t, s, httpResp)
	})
}

// Test 2.
func TestAnthropicMessagesAllowed(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		var httpResp *http.Response
		c := s.anthropic()
		msg, err := c.Messages.New(testCtx(t), messageParams(prompt), aoption.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatalf("messages through the firewall: %v", err)
		}
		if len(msg.Content) == 0 || msg.Content[0].Text != "echo: "+prompt {
			t.Errorf("answer %+v, want %q", msg.Content, "echo: "+prompt)
		}
		up, ok := s.llm.Last()
		if !ok || up.Path != "/v1/messages" || !bytes.Contains(up.Body, []byte(prompt)) {
			t.Errorf("upstream request %+v does not carry the prompt", up)
		}
		checkAllowed(t, s, httpResp)
	})
}

// twoMiB is a prompt over the default policy's 1 MiB request limit.
var twoMiB = strings.Repeat("lorem ipsum ", 2<<20/12+1)

// checkBlocked asserts a local reply by the firewall with nothing upstream.
func checkBlocked(t *testing.T, s *stack, wantStatus int) {
	t.Helper()
	if n := s.llm.Count(); n != 0 {
		t.Errorf("upstream received %d requests, want none", n)
	}
	rec, ok := s.front.LastRecord()
	if !ok {
		t.Fatal("no emulator record")
	}
	if rec.Outcome != envoyemu.OutcomeImmediateResponse || rec.Status != wantStatus {
		t.Errorf("emulator record outcome %q status %d details %q, want immediate_response %d", rec.Outcome, rec.Status, rec.Details, wantStatus)
	}
	s.assertNoFailOpen(t)
}

// Test 3.
func TestOpenAIOversizeIs413(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		c := s.openai()
		_, err := c.Chat.Completions.New(testCtx(t), chatParams(twoMiB))
		if err == nil {
			t.Fatal("2 MiB prompt was allowed")
		}
		apiErr := openAIStatus(t, err)
		if apiErr.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413; body %s", apiErr.StatusCode, apiErr.RawJSON())
		}
		if apiErr.Message == "" {
			t.Errorf("SDK error has no message; body %s", apiErr.RawJSON())
		}
		checkBlocked(t, s, http.StatusRequestEntityTooLarge)
	})
}

// Test 4.
func TestAnthropicOversizeIs413(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		c := s.anthropic()
		_, err := c.Messages.New(testCtx(t), messageParams(twoMiB))
		if err == nil {
			t.Fatal("2 MiB prompt was allowed")
		}
		apiErr := anthropicStatus(t, err)
		if apiErr.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413; body %s", apiErr.StatusCode, apiErr.RawJSON())
		}
		var body struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(apiErr.RawJSON()), &body); err != nil || body.Type != "error" || body.Error.Message == "" {
			t.Errorf("body is not Anthropic-shaped: %s", apiErr.RawJSON())
		}
		checkBlocked(t, s, http.StatusRequestEntityTooLarge)
	})
}

type openAIErrorBody struct {
	Error *struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

// checkOpenAIError asserts an OpenAI-shaped JSON error body.
func checkOpenAIError(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content-type %q, want application/json", ct)
	}
	var e openAIErrorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Errorf("body is not an OpenAI-shaped error (%v): %s", err, body)
	}
}

// Test 5.
func TestMalformedJSONIs400(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		resp, body := s.post(t, "/v1/chat/completions", []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}`),
			map[string]string{"Content-Type": "application/json", "Authorization": "Bearer test"})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400; body %s", resp.StatusCode, body)
		}
		checkOpenAIError(t, resp, body)
		checkBlocked(t, s, http.StatusBadRequest)
	})
}

func TestMalformedJSONOnMessagesIsAnthropicShaped400(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		resp, body := s.post(t, "/v1/messages", []byte(`{"model":`), map[string]string{"Content-Type": "application/json"})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400; body %s", resp.StatusCode, body)
		}
		var e struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Message == "" {
			t.Errorf("body is not Anthropic-shaped: %s", body)
		}
		checkBlocked(t, s, http.StatusBadRequest)
	})
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Test 6.
func TestContentEncoding(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		orig := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"compressed hello"}]}`)

		t.Run("gzip is decoded and scanned", func(t *testing.T) {
			resp, body := s.post(t, "/v1/chat/completions", gz(t, orig),
				map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200; body %s", resp.StatusCode, body)
			}
			if !bytes.Contains(body, []byte("echo: compressed hello")) {
				t.Errorf("answer %s", body)
			}
			up, ok := s.llm.Last()
			if !ok {
				t.Fatal("upstream received nothing")
			}
			if up.DecodeError != "" || !bytes.Equal(up.Body, orig) {
				t.Errorf("upstream decoded body %q (encoding %q, err %q), want the original", up.Body, up.ContentEncoding, up.DecodeError)
			}
			checkAllowed(t, s, resp)
		})

		t.Run("compress is refused with 415", func(t *testing.T) {
			before := s.llm.Count()
			resp, body := s.post(t, "/v1/chat/completions", orig,
				map[string]string{"Content-Type": "application/json", "Content-Encoding": "compress"})
			if resp.StatusCode != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d, want 415; body %s", resp.StatusCode, body)
			}
			checkOpenAIError(t, resp, body)
			if s.llm.Count() != before {
				t.Error("upstream received the unscannable request")
			}
			if rec := s.record(t, resp); rec.Outcome != envoyemu.OutcomeImmediateResponse {
				t.Errorf("outcome %q details %q, want immediate_response", rec.Outcome, rec.Details)
			}
		})
	})
}

// Test 7.
func TestBudgetExhaustedFailsClosed(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, map[string]string{"LLMFW_BUDGET": "1ns"})
		c := s.openai()
		var httpResp *http.Response
		_, err := c.Chat.Completions.New(testCtx(t), chatParams(prompt), ooption.WithResponseInto(&httpResp))
		if err == nil {
			t.Fatal("request allowed although no detection could finish within the budget")
		}
		apiErr := openAIStatus(t, err)
		if apiErr.StatusCode < 500 || apiErr.StatusCode > 599 {
			t.Errorf("status %d, want 5xx; body %s", apiErr.StatusCode, apiErr.RawJSON())
		}
		if n := s.llm.Count(); n != 0 {
			t.Errorf("upstream received %d requests, want none", n)
		}
		// The firewall must answer itself (budget below message_timeout), not
		// leave it to Envoy's 504.
		rec, _ := s.front.LastRecord()
		if rec.Outcome != envoyemu.OutcomeImmediateResponse {
			t.Errorf("outcome %q details %q status %d, want the firewall's own immediate_response", rec.Outcome, rec.Details, rec.Status)
		}
		if st := s.front.Stats(); st.MessageTimeouts != 0 {
			t.Errorf("Envoy message timeout fired %d times", st.MessageTimeouts)
		}
		s.assertNoFailOpen(t)
	})
}

var transactionsTotal = regexp.MustCompile(`(?m)^(llmfw_[a-z_]*transactions[a-z_]*_total)(\{[^}]*\})? ([0-9.e+]+)$`)

// Test 8.
func TestMetricsAndHealth(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		c := s.openai()
		if _, err := c.Chat.Completions.New(testCtx(t), chatParams(prompt)); err != nil {
			t.Fatalf("chat completion: %v", err)
		}
		get := func(path string) (int, string) {
			resp, err := s.http.Get("http://" + s.fw.AdminAddr + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, _ := get("/healthz"); code != http.StatusOK {
			t.Errorf("/healthz %d", code)
		}
		if code, _ := get("/readyz"); code != http.StatusOK {
			t.Errorf("/readyz %d", code)
		}
		// A transaction is counted when its ext_proc stream ends, which real
		// Envoy does after the client has the answer: poll for it.
		var (
			metrics string
			total   float64
		)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var code int
			code, metrics = get("/metrics")
			if code != http.StatusOK || !strings.Contains(metrics, "\nllmfw_") {
				t.Fatalf("/metrics %d without llmfw_ series", code)
			}
			total = 0
			for _, m := range transactionsTotal.FindAllStringSubmatch(metrics, -1) {
				v, _ := strconv.ParseFloat(m[3], 64)
				total += v
			}
			if total >= 1 || time.Now().After(deadline) {
				break
			}
		}
		if total < 1 {
			t.Errorf("no llmfw_*transactions*_total counter ≥ 1 within 5s of one transaction; llmfw series:\n%s", llmfwLines(metrics))
		}
	})
}

func llmfwLines(metrics string) string {
	var out []string
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "llmfw_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Test 9.
func TestGracefulShutdownIdle(t *testing.T) {
	t.Parallel()
	fw := startFirewall(t, nil)
	start := time.Now()
	if err := fw.stop(); err != nil {
		t.Fatalf("SIGTERM while idle: %v\nstderr:\n%s", err, fw.stderr)
	}
	t.Logf("exited 0 in %v", time.Since(start))
}

// Shutdown after traffic: the emulator's streams are closed, so the gRPC
// server has nothing to wait for.
func TestGracefulShutdownAfterTraffic(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		c := s.openai()
		if _, err := c.Chat.Completions.New(testCtx(t), chatParams(prompt)); err != nil {
			t.Fatalf("chat completion: %v", err)
		}
		if err := s.fw.stop(); err != nil {
			t.Fatalf("SIGTERM after traffic: %v\nstderr:\n%s", err, s.fw.stderr)
		}
		// After the firewall is gone the emulated Envoy fails closed.
		_, err := c.Chat.Completions.New(testCtx(t), chatParams(prompt))
		if apiErr := openAIStatus(t, err); apiErr.StatusCode != http.StatusInternalServerError {
			t.Errorf("status %d with the firewall down, want status_on_error 500", apiErr.StatusCode)
		}
		if s.llm.Count() != 1 {
			t.Errorf("upstream requests %d, want 1", s.llm.Count())
		}
	})
}

func TestConcurrentMixedTraffic(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		s := newStack(t, fk, nil)
		oc, ac := s.openai(), s.anthropic()
		var wg sync.WaitGroup
		errs := make(chan string, 64)
		for i := range 16 {
			wg.Go(func() {
				text := prompt + " #" + strconv.Itoa(i)
				if i%2 == 0 {
					r, err := oc.Chat.Completions.New(testCtx(t), chatParams(text))
					if err != nil || r.Choices[0].Message.Content != "echo: "+text {
						errs <- "openai " + strconv.Itoa(i) + ": " + errString(err)
					}
					return
				}
				m, err := ac.Messages.New(testCtx(t), messageParams(text))
				if err != nil || len(m.Content) == 0 || m.Content[0].Text != "echo: "+text {
					errs <- "anthropic " + strconv.Itoa(i) + ": " + errString(err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		if n := s.llm.Count(); n != 16 {
			t.Errorf("upstream requests %d, want 16", n)
		}
		s.assertNoFailOpen(t)
	})
}

func errString(err error) string {
	if err == nil {
		return "wrong answer"
	}
	return err.Error()
}
