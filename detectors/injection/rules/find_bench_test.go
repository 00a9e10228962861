package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// requestProse is about n bytes of the ordinary prose that the injection
// package's pipeline benchmark sends (a fixed set of sentences in a seeded
// order), normalized, so Find's share of that benchmark can be measured here.
func requestProse(n int, seed uint64) string {
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
	return normalize(b.String()[:n])
}

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
