package injection_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/detectors/injection/internal/benchtext"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// BenchmarkDefaultRequestPipeline is the whole default request pipeline
// (normalization, limits, injection rules and classifier) on one user turn of
// ordinary prose, without the decision cache. Run with -cpu 1 for the
// one-core figure; p50/p99 come from per-call times.
func BenchmarkDefaultRequestPipeline(b *testing.B) {
	ps, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		b.Fatal(err)
	}
	e := pipeline.NewEngine(all.EngineOptions()...)
	for _, size := range []int{1 << 10, 4 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			texts := make([]string, 256)
			for i := range texts {
				texts[i] = benchtext.Prose(size, uint64(i))
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
