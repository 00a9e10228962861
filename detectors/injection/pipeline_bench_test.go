package injection_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// prose builds about n bytes of ordinary English from a fixed set of
// sentences in a seeded order, unique per seed (no decision cache here).
func prose(n int, seed uint64) string {
	sentences := []string{
		"The quarterly report shows revenue growth across all regions.",
		"Please summarize the main arguments of the attached essay in plain language.",
		"Our team met on Tuesday to review the migration plan for the database cluster.",
		"Can you suggest three improvements to the onboarding checklist?",
		"The weather in Lisbon is usually mild in spring, with occasional rain.",
		"Write a friendly reply thanking the customer for the detailed bug report.",
		"Kubernetes schedules pods onto nodes based on resource requests and affinity rules.",
		"She compared the two mortgage offers and chose the one with the lower fixed rate.",
		"List the ingredients needed for a classic margherita pizza.",
		"The museum's new exhibition focuses on early twentieth-century photography.",
	}
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	fmt.Fprintf(&b, "Request %d. ", seed)
	for b.Len() < n {
		b.WriteString(sentences[r.IntN(len(sentences))])
		b.WriteByte(' ')
	}
	return b.String()[:n]
}

// BenchmarkDefaultRequestPipeline is the whole default request pipeline
// (normalization, limits, injection rules and classifier) on one user turn of
// ordinary prose, without the decision cache. Run with -cpu 1 for the
// one-core figure; p50/p99 come from per-call times.
func BenchmarkDefaultRequestPipeline(b *testing.B) {
	ps, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		b.Fatal(err)
	}
	e := pipeline.NewEngine()
	for _, size := range []int{1 << 10, 4 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			texts := make([]string, 256)
			for i := range texts {
				texts[i] = prose(size, uint64(i))
			}
			durs := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				in := &pipeline.Input{Direction: pipeline.Request, Meta: pipeline.Meta{Messages: 1, BodyBytes: size},
					Segments: []pipeline.Segment{{Text: texts[i%len(texts)], Role: pipeline.RoleUser, Provenance: pipeline.FromUser}}}
				i++
				start := time.Now()
				v := e.Evaluate(context.Background(), ps.Default, in)
				if len(durs) < cap(durs) {
					durs = append(durs, time.Since(start))
				}
				if v.WouldBe != pipeline.Allow {
					b.Fatalf("benign prose flagged: %v", v.Rules())
				}
			}
			slices.Sort(durs)
			if len(durs) > 0 {
				b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(durs[min(len(durs)-1, len(durs)*99/100)].Microseconds()), "p99-µs")
			}
		})
	}
}
