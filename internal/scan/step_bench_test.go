package scan_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

var benchWords = strings.Fields(`the a report team quarter sales rose fell market customer product service
	plan meeting notes budget project schedule review update office travel data table chart
	summary draft email letter week month year city river garden recipe kitchen bread coffee
	music film book chapter story history science lesson school student teacher question answer
	and of to in on for with from about after before during while because`)

// benchProse is n bytes of ordinary sentences, seeded.
func benchProse(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	for b.Len() < n {
		w := 6 + r.IntN(10)
		for i := range w {
			word := benchWords[r.IntN(len(benchWords))]
			if i == 0 {
				word = strings.ToUpper(word[:1]) + word[1:]
			}
			b.WriteString(word)
			if i < w-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(". ")
	}
	return b.String()[:n]
}

// benchTools declares eight tools with ordinary parameter schemas.
func benchTools() []any {
	var tools []any
	for i := range 8 {
		tools = append(tools, map[string]any{"type": "function", "function": map[string]any{
			"name": fmt.Sprintf("tool_%d", i), "description": "Looks up records of the given kind and returns them as a table.",
			"parameters": map[string]any{"type": "object", "properties": map[string]any{
				"query":      map[string]any{"type": "string", "description": "What to look for."},
				"max_rows":   map[string]any{"type": "integer", "description": "At most this many rows."},
				"sort_order": map[string]any{"type": "string", "enum": []string{"asc", "desc"}},
				"filters": map[string]any{"type": "object", "properties": map[string]any{
					"from_date": map[string]any{"type": "string", "format": "date"},
					"owner":     map[string]any{"type": "string"},
				}},
			}, "required": []string{"query"}},
		}})
	}
	return tools
}

// BenchmarkStep is the whole request scan step (decode, joined texts and
// keys, the default policy's detectors, no cache) on chat bodies of 1, 4
// and 16 KB of prose: as one text, as 64-byte content parts (joined-text
// scanning), and as one text beside eight declared tools (key scanning).
func BenchmarkStep(b *testing.B) {
	set, step := defaultStep(b)
	shapes := []struct {
		name string
		body func(text string) string
	}{
		{"text", func(text string) string {
			return mustJSON(map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": text}}})
		}},
		{"parts64", func(text string) string { return openAIParts(chunks(text, 64)) }},
		{"tools", func(text string) string {
			return mustJSON(map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": text}}, "tools": benchTools()})
		}},
	}
	for _, sh := range shapes {
		for _, size := range []int{1 << 10, 4 << 10, 16 << 10} {
			b.Run(fmt.Sprintf("%s/%dKB", sh.name, size>>10), func(b *testing.B) {
				bodies := make([][]byte, 64)
				for i := range bodies {
					bodies[i] = []byte(sh.body(benchProse(size, uint64(i))))
				}
				b.ReportAllocs()
				b.SetBytes(int64(size))
				i, flagged := 0, 0
				for b.Loop() {
					r := step.Scan(context.Background(), set.Default, &scan.Message{Direction: pipeline.Request, API: codec.OpenAIChat, Body: bodies[i%len(bodies)]}, &scan.Conversation{})
					i++
					if r.Verdict.WouldBe != pipeline.Allow {
						flagged++
					}
				}
				// Benign prose: a flagged body is a false positive, reported
				// (trees without joined texts flag prose cut into parts).
				b.ReportMetric(float64(flagged)/float64(i), "flagged/op")
			})
		}
	}
}
