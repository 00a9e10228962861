package rules

import (
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/injection/internal/benchtext"
)

// requestProse is the injection pipeline benchmark's prose, normalized, so
// that Find's share of that benchmark can be measured here.
func requestProse(n int, seed uint64) string { return normalize(benchtext.Prose(n, seed)) }

func BenchmarkFindRequestProse4K(b *testing.B) {
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = requestProse(4<<10, uint64(i))
	}
	b.SetBytes(4 << 10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Find(texts[i%len(texts)])
		i++
	}
}
