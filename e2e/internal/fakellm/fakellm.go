// Package fakellm is a fake LLM upstream for the e2e suite. It speaks the
// wire shapes of OpenAI chat completions (POST /v1/chat/completions) and
// Anthropic messages (POST /v1/messages), plain and streamed ("stream":
// true: server-sent events in pieces of a few bytes, flushed one by one, so
// words and tokens are split across events and chunks), answers
// deterministically with "echo: " + the last user message text (or a canned
// answer, or the request's system prompt when told to leak it), and records
// every request it receives so tests can check what got past the firewall.
package fakellm

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Request is one request as the upstream received it.
type Request struct {
	Method string
	Path   string // with the query, as sent
	Header http.Header
	// RawBody is the body as it came over the wire; Body is RawBody with
	// content-encoding undone (equal to RawBody when there is none).
	RawBody         []byte
	Body            []byte
	ContentEncoding string
	DecodeError     string // set when the content-encoding could not be undone
}

// Server is the fake upstream on a loopback port.
type Server struct {
	*httptest.Server
	seq atomic.Int64

	mu     sync.Mutex
	reqs   []Request
	answer string        // canned answer; "" means echo
	leak   bool          // answer with the request's system prompt
	gate   chan struct{} // non-nil: requests wait for it to close before answering
	gap    time.Duration // between SSE events; 0 means eventGap
	alt    string        // non-empty: streamed chat chunks carry logprobs with this alternative token
}

// SetAlternative makes later streamed chat answers carry logprobs whose
// first content token has tok among its top alternatives ("" turns
// logprobs off).
func (s *Server) SetAlternative(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alt = tok
}

// LeakSystemPrompt makes later answers repeat the request's system prompt
// (what a model does under a successful prompt-extraction attack).
func (s *Server) LeakSystemPrompt(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leak = on
}

// New starts a fake upstream on 127.0.0.1.
func New() *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.openAIChat)
	mux.HandleFunc("POST /v1/messages", s.anthropicMessages)
	s.Server = httptest.NewServer(s.record(mux))
	return s
}

// SetAnswer makes every later response answer with text instead of the echo;
// "" restores the echo.
func (s *Server) SetAnswer(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = text
}

// SetEventGap spaces later streamed events d apart instead of eventGap
// (d <= 0 restores it).
func (s *Server) SetEventGap(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gap = d
}

func (s *Server) streamGap() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gap > 0 {
		return s.gap
	}
	return eventGap
}

// Hold makes later requests wait, once recorded, until release is called (or
// the client goes away). Tests use it to keep a transaction in flight.
func (s *Server) Hold() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == gate {
				s.gate = nil
			}
			s.mu.Unlock()
			close(gate)
		})
	}
}

// Requests returns every recorded request, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count is the number of requests received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// Last returns the most recent request.
func (s *Server) Last() (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return Request{}, false
	}
	return s.reqs[len(s.reqs)-1], true
}

// Reset forgets recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

// record stores the request, undoes gzip, and hands the decoded body on.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		rec := Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), RawBody: raw, Body: raw}
		rec.Header.Set("Host", r.Host)
		rec.ContentEncoding = strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
		switch rec.ContentEncoding {
		case "", "identity":
		case "gzip", "x-gzip":
			if dec, err := gunzip(raw); err != nil {
				rec.DecodeError = err.Error()
			} else {
				rec.Body = dec
			}
		default:
			rec.DecodeError = "unsupported content-encoding " + rec.ContentEncoding
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		gate := s.gate
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		if rec.DecodeError != "" {
			http.Error(w, rec.DecodeError, http.StatusUnsupportedMediaType)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(rec.Body))
		r.ContentLength = int64(len(rec.Body))
		next.ServeHTTP(w, r)
	})
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return out, nil
}

// message is the part of both providers' message objects we read; content is
// a string or an array of typed blocks.
type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func (m message) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &blocks) != nil {
		return ""
	}
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" || b.Type == "input_text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

type chatRequest struct {
	Model    string          `json:"model"`
	Messages []message       `json:"messages"`
	System   json.RawMessage `json:"system"` // Anthropic: a string or text blocks
	Stream   bool            `json:"stream"`
}

func (s *Server) reply(req chatRequest) string {
	msgs := req.Messages
	s.mu.Lock()
	canned, leak := s.answer, s.leak
	s.mu.Unlock()
	if leak {
		var sys []string
		if len(req.System) > 0 {
			sys = append(sys, message{Content: req.System}.text())
		}
		for _, m := range msgs {
			if m.Role == "system" || m.Role == "developer" {
				sys = append(sys, m.text())
			}
		}
		return "Sure, my instructions are: " + strings.Join(sys, " ")
	}
	if canned != "" {
		return canned
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return "echo: " + msgs[i].text()
		}
	}
	return "echo: "
}

// tokens is a rough, deterministic token count (whitespace words).
func tokens(s string) int { return len(strings.Fields(s)) }

func (s *Server) openAIChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"message": "fakellm: invalid chat completion request", "type": "invalid_request_error", "param": nil, "code": nil,
		}})
		return
	}
	answer := s.reply(req)
	in := 0
	for _, m := range req.Messages {
		in += tokens(m.text())
	}
	out := tokens(answer)
	if req.Stream {
		id := fmt.Sprintf("chatcmpl-fake%06d", s.seq.Add(1))
		chunk := func(delta map[string]any, finish any) map[string]any {
			return map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": req.Model,
				"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
		}
		events := []sseEvent{{data: chunk(map[string]any{"role": "assistant", "content": ""}, nil)}}
		s.mu.Lock()
		alt := s.alt
		s.mu.Unlock()
		for i, p := range pieces(answer) {
			c := chunk(map[string]any{"content": p}, nil)
			if alt != "" && i == 0 {
				ch := c["choices"].([]any)[0].(map[string]any)
				ch["logprobs"] = map[string]any{"content": []any{map[string]any{"token": p, "logprob": -0.1, "bytes": nil,
					"top_logprobs": []any{map[string]any{"token": alt, "logprob": -3.2, "bytes": nil}}}}}
			}
			events = append(events, sseEvent{data: c})
		}
		events = append(events, sseEvent{data: chunk(map[string]any{}, "stop")}, sseEvent{raw: "[DONE]"})
		writeSSE(w, events, s.streamGap())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      fmt.Sprintf("chatcmpl-fake%06d", s.seq.Add(1)),
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   req.Model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": answer, "refusal": nil},
			"logprobs":      nil,
			"finish_reason": "stop",
		}},
		"usage": map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out},
	})
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"type": "error", "error": map[string]any{
			"type": "invalid_request_error", "message": "fakellm: invalid messages request",
		}})
		return
	}
	answer := s.reply(req)
	in := 0
	for _, m := range req.Messages {
		in += tokens(m.text())
	}
	if req.Stream {
		id := fmt.Sprintf("msg_fake%06d", s.seq.Add(1))
		events := []sseEvent{
			{name: "message_start", data: map[string]any{"type": "message_start", "message": map[string]any{
				"id": id, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
				"stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": in, "output_tokens": 0}}}},
			{name: "content_block_start", data: map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}},
		}
		for _, p := range pieces(answer) {
			events = append(events, sseEvent{name: "content_block_delta", data: map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": p}}})
		}
		events = append(events,
			sseEvent{name: "content_block_stop", data: map[string]any{"type": "content_block_stop", "index": 0}},
			sseEvent{name: "message_delta", data: map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil}, "usage": map[string]any{"output_tokens": tokens(answer)}}},
			sseEvent{name: "message_stop", data: map[string]any{"type": "message_stop"}})
		writeSSE(w, events, s.streamGap())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":            fmt.Sprintf("msg_fake%06d", s.seq.Add(1)),
		"type":          "message",
		"role":          "assistant",
		"model":         req.Model,
		"content":       []any{map[string]any{"type": "text", "text": answer}},
		"stop_reason":   "end_turn",
		"stop_sequence": nil,
		"usage":         map[string]any{"input_tokens": in, "output_tokens": tokens(answer)},
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// pieces cuts an answer into pieces of 1 to 5 bytes on rune boundaries,
// deterministically, the way token deltas split words.
func pieces(s string) []string {
	var out []string
	for i, n := 0, 0; i < len(s); n++ {
		size := 1 + n%5
		j := min(len(s), i+size)
		for j < len(s) && !utf8.RuneStart(s[j]) {
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

type sseEvent struct {
	name string
	data any    // JSON-encoded
	raw  string // sent as is when data is nil
}

// eventGap spaces the events as a model's tokens are spaced, so a proxy
// reads them in separate chunks (on loopback, back-to-back writes arrive in
// one read and a STREAMED body would be one chunk).
const eventGap = 2 * time.Millisecond

// writeSSE sends the events one by one, flushing after each, so they reach
// the client (and the proxy) in separate reads.
func writeSSE(w http.ResponseWriter, events []sseEvent, gap time.Duration) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	for _, ev := range events {
		var b bytes.Buffer
		if ev.name != "" {
			b.WriteString("event: " + ev.name + "\n")
		}
		data := ev.raw
		if ev.data != nil {
			js, _ := json.Marshal(ev.data)
			data = string(js)
		}
		b.WriteString("data: " + data + "\n\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
		time.Sleep(gap)
	}
}
