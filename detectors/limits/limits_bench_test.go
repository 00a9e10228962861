package limits

import (
	"context"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// typicalInput is a 16 KiB chat request: a system prompt, a few turns and a
// pasted document, about 4k estimated tokens.
func typicalInput() *pipeline.Input {
	para := "The quick brown fox jumps over the lazy dog, and then reviews the quarterly report. "
	doc := strings.Repeat(para, 16*1024/len(para))
	return &pipeline.Input{
		Direction: pipeline.Request,
		Meta:      pipeline.Meta{API: "openai.chat", Model: "gpt-x", Messages: 4, RequestedTokens: 1024, BodyBytes: 17000},
		Segments: []pipeline.Segment{
			{Text: "You are a careful assistant.", Role: pipeline.RoleSystem, Provenance: pipeline.FromSystem},
			{Text: "Summarise this:", Role: pipeline.RoleUser, Provenance: pipeline.FromUser},
			{Text: doc, Role: pipeline.RoleUser, Provenance: pipeline.FromDocument},
			{Text: "Keep it short.", Role: pipeline.RoleUser, Provenance: pipeline.FromUser},
		},
	}
}

func benchDetect(b *testing.B, d pipeline.Detector, in *pipeline.Input, wantFindings int) {
	ctx := context.Background()
	b.SetBytes(int64(in.Meta.BodyBytes))
	b.ReportAllocs()
	for b.Loop() {
		f, err := d.Detect(ctx, in)
		if err != nil || len(f) != wantFindings {
			b.Fatalf("Detect = %v, %v", f, err)
		}
	}
}

// BenchmarkDetect16KB is the common case: default limits, nothing trips, and
// byte lengths alone settle the token estimate.
func BenchmarkDetect16KB(b *testing.B) {
	d, _ := New(nil)
	benchDetect(b, d, typicalInput(), 0)
}

// BenchmarkDetect16KBWordCount sets the token limit close enough that words
// must be counted (the slow path), still without tripping.
func BenchmarkDetect16KBWordCount(b *testing.B) {
	in := typicalInput()
	d, _ := New(parseNode(b, "max_estimated_tokens: 5000\n"))
	benchDetect(b, d, in, 0)
}

// BenchmarkEstimatedTokensPipeline is the reference the detector avoids
// calling: pipeline.Input.EstimatedTokens on the same input.
func BenchmarkEstimatedTokensPipeline(b *testing.B) {
	in := typicalInput()
	b.SetBytes(int64(in.Meta.BodyBytes))
	b.ReportAllocs()
	for b.Loop() {
		_ = in.EstimatedTokens()
	}
}

// BenchmarkDetectTrips measures the allocating path: every request limit trips.
func BenchmarkDetectTrips(b *testing.B) {
	d, _ := New(parseNode(b, "{max_messages: 1, max_estimated_tokens: 1, max_requested_tokens: 1, max_body_bytes: 1}"))
	benchDetect(b, d, typicalInput(), 4)
}
