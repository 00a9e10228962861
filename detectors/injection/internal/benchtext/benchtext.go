// Package benchtext generates the ordinary prose that the injection
// benchmarks send, so that the whole pipeline's benchmark and the rules'
// benchmark of their share of it measure the same text.
package benchtext

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

var sentences = []string{
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

// Prose is n bytes of ordinary English from a fixed set of sentences in a
// seeded order, unique per seed (so no decision cache answers it).
func Prose(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	fmt.Fprintf(&b, "Request %d. ", seed)
	for b.Len() < n {
		b.WriteString(sentences[r.IntN(len(sentences))])
		b.WriteByte(' ')
	}
	return b.String()[:n]
}
