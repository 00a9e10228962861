//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llm-firewall/llm-firewall/e2e/internal/envoyemu"
	"github.com/llm-firewall/llm-firewall/e2e/internal/fakellm"
	"github.com/llm-firewall/llm-firewall/internal/load"
)

// BenchmarkRealEnvoyAddedLatency measures what the firewall adds to a
// client's latency behind the pinned real Envoy: one Envoy, one firewall
// with its embedded default policy, one fake LLM; the same request goes
// through the route with ext_proc ("extproc") and through a route on the
// same listener whose ExtProcPerRoute disables the filter ("off"). One
// client, one request at a time, so the figures are latency, not
// throughput. Each prompt is different (no decision-cache hits).
//
//	make bench-envoy
//
// reports, per sub-benchmark, p50 and p99 in µs beside ns/op; for the
// streamed case p50/p99 are the first byte of the answer's body (its first
// SSE event, the role), and text-p50/text-p99 its first event with text.
func BenchmarkRealEnvoyAddedLatency(b *testing.B) {
	fw := startFirewall(b, nil)
	llm := fakellm.New()
	b.Cleanup(llm.Close)
	cfg := envoyemu.Config{
		ExtProcAddr: fw.GRPCAddr, UpstreamURL: llm.URL, MessageTimeout: 2 * time.Second,
		Routes: []envoyemu.Route{{PathPrefix: "/v1/", Name: "llm-api"}}, AllowModeOverride: true,
	}
	// "off" is a second route on the same listener: same Envoy, same
	// connections, only the ext_proc filter disabled for it.
	envoy := startEnvoyTweaked(b, cfg, func(bs map[string]any) {
		hcm := bootstrapListener(bs)["filter_chains"].([]any)[0].(map[string]any)["filters"].([]any)[0].(map[string]any)["typed_config"].(map[string]any)
		vh := hcm["route_config"].(map[string]any)["virtual_hosts"].([]any)[0].(map[string]any)
		vh["routes"] = append([]any{map[string]any{
			"name":  "off",
			"match": map[string]any{"prefix": "/off/"},
			"route": map[string]any{"cluster": "llm", "timeout": "60s", "prefix_rewrite": "/"},
			"typed_per_filter_config": map[string]any{"envoy.filters.http.ext_proc": map[string]any{
				"@type":    "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute",
				"disabled": true,
			}},
		}}, vh["routes"].([]any)...)
	})
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	b.Cleanup(hc.CloseIdleConnections)
	cases := []struct {
		name   string
		size   int
		stream bool
	}{
		{"chat1KB", 1 << 10, false},
		{"chat16KB", 16 << 10, false},
		{"stream1KB", 1 << 10, true},
	}
	for _, c := range cases {
		for _, route := range []struct{ name, prefix string }{{"extproc", ""}, {"off", "/off"}} {
			b.Run(c.name+"/"+route.name, func(b *testing.B) {
				if c.stream {
					llm.SetAnswer(benchAnswer)
					llm.SetEventGap(benchEventGap)
					defer llm.SetEventGap(0)
				} else {
					llm.SetAnswer("") // echo: the answer is as large as the prompt
				}
				url := envoy.URL() + route.prefix + "/v1/chat/completions"
				var h, ht load.Histogram
				gen := newProse(uint64(len(c.name)) * 7919)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					body := benchChatBody(gen.text(c.size), c.stream)
					first, text := timeRequest(b, hc, url, body, c.stream)
					h.Record(first)
					ht.Record(text)
					if i%256 == 255 {
						llm.Reset() // the fake LLM keeps every request otherwise
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(h.Quantile(0.50).Microseconds()), "p50-µs")
				b.ReportMetric(float64(h.Quantile(0.99).Microseconds()), "p99-µs")
				if c.stream {
					b.ReportMetric(float64(ht.Quantile(0.50).Microseconds()), "text-p50-µs")
					b.ReportMetric(float64(ht.Quantile(0.99).Microseconds()), "text-p99-µs")
				}
			})
		}
	}
}

// benchAnswer is the streamed answer: about 400 bytes in 1–5 byte pieces,
// one SSE event each, benchEventGap apart — longer than the default
// stream_holdback_bytes (256), so the first text shows what the hold-back
// window costs.
const benchAnswer = "Tomatoes need six hours of sun, steady water at the roots and a stake " +
	"or cage once the stems grow heavy. Pinch out the side shoots on vine " +
	"varieties, mulch the soil to keep it evenly moist, and feed every two " +
	"weeks once the first fruit sets. Pick them when they are fully coloured " +
	"and slightly soft; they ripen further on a sunny windowsill."

// benchEventGap is shorter than a model's token gap (tens of ms) so that a
// run stays short; the hold-back delay scales with the real gap.
const benchEventGap = 500 * time.Microsecond

// timeRequest posts body to url and returns the time to the end of a
// buffered answer, or for a streamed one to its first body byte and to its
// first event that carries text; any status but 200 fails the benchmark (a
// block would not be the benign path).
func timeRequest(b *testing.B, hc *http.Client, url string, body []byte, stream bool) (first, text time.Duration) {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer test")
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d: a benign prompt was not served", resp.StatusCode)
	}
	if !stream {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		return d, d
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.Peek(1); err != nil {
		b.Fatalf("no first byte: %v", err)
	}
	first = time.Since(start)
	for {
		line, err := br.ReadBytes('\n')
		if text == 0 && hasText(line) {
			text = time.Since(start)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if text == 0 {
		b.Fatal("the streamed answer carried no text")
	}
	return first, text
}

// hasText reports whether an SSE line is an OpenAI chunk with content.
func hasText(line []byte) bool {
	data, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("data: "))
	if !ok {
		return false
	}
	var chunk struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	return json.Unmarshal(data, &chunk) == nil && len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != ""
}

func benchChatBody(prompt string, stream bool) []byte {
	b, err := json.Marshal(map[string]any{
		"model":    "gpt-4o-mini",
		"stream":   stream,
		"messages": []any{map[string]any{"role": "user", "content": prompt}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// prose draws benign text from a fixed set of plain sentences in a
// pseudo-random order, so that no two prompts are the same.
type prose struct{ state uint64 }

func newProse(seed uint64) *prose { return &prose{state: seed} }

var proseSentences = []string{
	"The garden gets morning light along the east fence.",
	"Our team meets on Tuesdays to review the quarterly plan.",
	"Bread rises faster in a warm kitchen than in a cold one.",
	"The library extended its opening hours for the exam season.",
	"Cyclists prefer the river path because it is flat and quiet.",
	"A good soup starts with onions cooked slowly in butter.",
	"The museum's new wing shows maps from the seventeenth century.",
	"Rain is expected later in the week, with mild temperatures.",
	"Students compared two methods for measuring the height of a tree.",
	"The orchestra rehearsed the second movement twice before lunch.",
	"Fresh basil keeps longer in a glass of water on the counter.",
	"The train to the coast leaves every hour during the summer.",
	"Please summarize the main points of these notes in a short paragraph.",
	"Volunteers planted oak saplings along the edge of the park.",
	"The report compares energy use in older and newer buildings.",
	"Our neighbours repainted their front door a deep shade of green.",
}

func (p *prose) next() uint64 { // splitmix64
	p.state += 0x9e3779b97f4a7c15
	z := p.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// text returns about n bytes of prose.
func (p *prose) text(n int) string {
	var sb strings.Builder
	for sb.Len() < n {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(proseSentences[p.next()%uint64(len(proseSentences))])
	}
	return sb.String()
}
