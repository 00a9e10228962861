package content_test

import (
	"context"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/normalize"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// prompt4KB is a realistic 4 KB user prompt: ordinary prose with a few
// words that trigger lexicon look-ups but no harmful request.
func prompt4KB() string {
	sentences := []string{
		"Please summarize the attached quarterly report for the board, focusing on revenue growth and churn.",
		"The kids in my daughter's class are planning a science fair project about volcanoes and need a simple explanation.",
		"Our on-call engineer had to kill the stuck Python process twice last night before the queue drained.",
		"Can you suggest a friendly reply to a customer who wrote that our app is so damn slow on older phones?",
		"The museum's new exhibition covers the history of weapons and armour in medieval Europe.",
		"List three ways to improve the onboarding checklist so new hires feel welcome in their first week.",
		"She compared two mortgage offers and chose the one with the lower fixed rate and no early repayment fee.",
		"Kubernetes schedules pods onto nodes based on resource requests, limits and affinity rules.",
	}
	var b strings.Builder
	for i := 0; b.Len() < 4096; i++ {
		b.WriteString(sentences[i%len(sentences)])
		b.WriteByte(' ')
	}
	return b.String()[:4096]
}

func benchDetect(b *testing.B, preset string, withNormalize bool) {
	text := prompt4KB()
	d := build(b, "preset: "+preset)
	in := &pipeline.Input{Direction: pipeline.Request,
		Segments: []pipeline.Segment{{Text: text, Role: pipeline.RoleUser, Provenance: pipeline.FromUser}},
		Views:    []pipeline.View{normalize.Normalize(text)}}
	ctx := context.Background()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if withNormalize {
			in.Views[0] = normalize.Normalize(text)
		}
		if _, err := d.Detect(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetect4KB is the detector alone on a 4 KB prompt whose view the
// engine has already built.
func BenchmarkDetect4KB(b *testing.B)     { benchDetect(b, "default", false) }
func BenchmarkDetect4KBKids(b *testing.B) { benchDetect(b, "kids", false) }

// BenchmarkDetect4KBWithNormalize includes building the view, for scale.
func BenchmarkDetect4KBWithNormalize(b *testing.B) { benchDetect(b, "kids", true) }

// BenchmarkDetect4KBLexiconOnly is the default preset with classifier: false.
func BenchmarkDetect4KBLexiconOnly(b *testing.B) {
	text := prompt4KB()
	d := build(b, "classifier: false")
	in := &pipeline.Input{Direction: pipeline.Request,
		Segments: []pipeline.Segment{{Text: text, Role: pipeline.RoleUser}},
		Views:    []pipeline.View{normalize.Normalize(text)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Detect(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
