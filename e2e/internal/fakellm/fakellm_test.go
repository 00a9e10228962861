package fakellm

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestOpenAISDKParsesAnswer(t *testing.T) {
	s := New()
	defer s.Close()
	client := openai.NewClient(ooption.WithBaseURL(s.URL+"/v1/"), ooption.WithAPIKey("test"), ooption.WithMaxRetries(0),
		ooption.WithHTTPClient(s.Client()))
	resp, err := client.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello there")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "echo: hello there" {
		t.Errorf("answer = %q", got)
	}
	if resp.Object != "chat.completion" || resp.Choices[0].FinishReason != "stop" || resp.Usage.TotalTokens == 0 {
		t.Errorf("response = %+v", resp)
	}
	req, _ := s.Last()
	if req.Path != "/v1/chat/completions" || !bytes.Contains(req.Body, []byte("hello there")) || req.Header.Get("Authorization") != "Bearer test" {
		t.Errorf("recorded %+v", req)
	}

	s.SetAnswer("canned")
	resp, err = client.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
	})
	if err != nil || resp.Choices[0].Message.Content != "canned" {
		t.Errorf("canned answer: %v %+v", err, resp)
	}
}

func TestAnthropicSDKParsesAnswer(t *testing.T) {
	s := New()
	defer s.Close()
	client := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(s.URL+"/"),
		aoption.WithAPIKey("test"), aoption.WithMaxRetries(0), aoption.WithHTTPClient(s.Client()))
	msg, err := client.Messages.New(ctx(t), anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet5_5,
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("bonjour"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "echo: bonjour" || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("message = %+v", msg)
	}
	req, _ := s.Last()
	if req.Path != "/v1/messages" || req.Header.Get("X-Api-Key") != "test" {
		t.Errorf("recorded %+v", req)
	}
}

func TestGzipBodyRecordedRawAndDecoded(t *testing.T) {
	s := New()
	defer s.Close()
	plain := []byte(`{"model":"m","messages":[{"role":"user","content":"zipped"}]}`)
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/chat/completions", bytes.NewReader(zb.Bytes()))
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got, _ := s.Last()
	if !bytes.Equal(got.RawBody, zb.Bytes()) || !bytes.Equal(got.Body, plain) || got.ContentEncoding != "gzip" {
		t.Errorf("recorded %+v", got)
	}
}

func TestMalformedIs400(t *testing.T) {
	s := New()
	defer s.Close()
	resp, err := s.Client().Post(s.URL+"/v1/messages", "application/json", strings.NewReader("{nope"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || s.Count() != 1 {
		t.Errorf("status %d count %d", resp.StatusCode, s.Count())
	}
}

func TestHoldKeepsRequestsInFlight(t *testing.T) {
	s := New()
	defer s.Close()
	release := s.Hold()
	done := make(chan int, 1)
	go func() {
		resp, err := s.Client().Post(s.URL+"/v1/messages", "application/json",
			strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.Count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("answered while held")
	default:
	}
	release()
	if code := <-done; code != 200 {
		t.Fatalf("status %d", code)
	}
}

func TestSDKStreamsAssembleAnswer(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetAnswer("streamed ünïcode answer, in pieces")
	oc := openai.NewClient(ooption.WithBaseURL(s.URL+"/v1/"), ooption.WithAPIKey("test"), ooption.WithMaxRetries(0), ooption.WithHTTPClient(s.Client()))
	st := oc.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
	})
	var acc openai.ChatCompletionAccumulator
	events := 0
	for st.Next() {
		acc.AddChunk(st.Current())
		events++
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "streamed ünïcode answer, in pieces" || events < 8 {
		t.Errorf("openai stream: %q in %d events", got, events)
	}

	ac := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(s.URL+"/"), aoption.WithAPIKey("test"), aoption.WithMaxRetries(0), aoption.WithHTTPClient(s.Client()))
	as := ac.Messages.NewStreaming(ctx(t), anthropic.MessageNewParams{
		Model: anthropic.ModelClaudeSonnet5_5, MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))},
	})
	var msg anthropic.Message
	for as.Next() {
		if err := msg.Accumulate(as.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := as.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "streamed ünïcode answer, in pieces" {
		t.Errorf("anthropic stream: %+v", msg.Content)
	}

	s.SetAnswer("")
	s.LeakSystemPrompt(true)
	resp, err := oc.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("secret rules"), openai.UserMessage("x")},
	})
	if err != nil || !strings.Contains(resp.Choices[0].Message.Content, "secret rules") {
		t.Errorf("leak mode: %v %+v", err, resp)
	}
}
