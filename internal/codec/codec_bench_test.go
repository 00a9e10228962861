package codec

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// chatBody builds an OpenAI chat request of about size bytes.
func chatBody(tb testing.TB, size int) []byte {
	tb.Helper()
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	req := struct {
		Model     string `json:"model"`
		Messages  []msg  `json:"messages"`
		MaxTokens int    `json:"max_tokens"`
	}{Model: "gpt-4o", MaxTokens: 256}
	req.Messages = append(req.Messages, msg{"system", "You are a helpful assistant. Answer briefly and cite sources."})
	sentence := "Please summarise the quarterly report, including revenue \"growth\" and risks. "
	for i := 0; ; i++ {
		b, err := json.Marshal(req)
		if err != nil {
			tb.Fatal(err)
		}
		if len(b) >= size {
			return b
		}
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		n := min(4, (size-len(b))/len(sentence)+1)
		req.Messages = append(req.Messages, msg{role, fmt.Sprintf("Turn %d: %s", i, strings.Repeat(sentence, n))})
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		body := chatBody(b, size)
		b.Run(fmt.Sprintf("openai.chat/%dKB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodeRequest(OpenAIChat, body, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRewrite(b *testing.B) {
	body := chatBody(b, 16<<10)
	d, err := DecodeRequest(OpenAIChat, body, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	reps := []pipeline.Redaction{{Span: pipeline.Span{Segment: 1, Start: 0, End: 4}, With: "[X]"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Rewrite(reps); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNumberArray(b *testing.B) {
	body := numberArrayBody(1 << 20)
	// uncapped: what the tree itself costs; default: the node cap refuses
	// the body after DefaultMaxNodes values.
	for _, tc := range []struct {
		name string
		lim  Limits
	}{{"uncapped", Limits{MaxNodes: -1}}, {"default", Limits{}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				_, err := DecodeRequest(GenericJSON, body, tc.lim)
				if (err != nil) != (tc.lim.MaxNodes == 0) {
					b.Fatal(err)
				}
			}
		})
	}
}

// chatStream builds an OpenAI chat completion stream of about size bytes
// with one short delta per event, as servers send them.
func chatStream(size int) []byte {
	var b strings.Builder
	words := strings.Fields("Please summarise the quarterly report including revenue growth and risks")
	for i := 0; b.Len() < size; i++ {
		chunk, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": " " + words[i%len(words)]}, "finish_reason": nil}},
		})
		b.WriteString("data: ")
		b.Write(chunk)
		b.WriteString("\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

func BenchmarkDecodeSSE(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		body := chatStream(size)
		b.Run(fmt.Sprintf("openai.chat/%dKB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodeSSE(OpenAIChat, body, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
