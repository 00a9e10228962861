package audit

import (
	"io"
	"testing"
	"time"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// BenchmarkWrite is the end-to-end cost of one decision record: building it
// on the caller (two evidence HMACs), queueing, encoding, chaining, a
// signature every 1000 records, and writing, up to Close.
func BenchmarkWrite(b *testing.B) {
	l, err := Open(Config{Out: io.Discard, SigningKey: testKey, SignEvery: 1000, QueueSize: b.N + 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	v := verdict("0190d6f4-6c3e-7a51-9b1d-2f3c4d5e6f70")
	v.Findings = append(v.Findings, pipeline.Finding{Rule: "pii.email", Entity: "EMAIL", Spans: []pipeline.Span{{Segment: 0, Start: 0, End: 6}}})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l.WriteVerdict(v, pipeline.Request, "ext_proc", "chat", segs, 1200*time.Microsecond)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWriteCaller is what the data path pays: building the record and
// handing it to the queue (the writer runs on its own goroutine).
func BenchmarkWriteCaller(b *testing.B) {
	l, err := Open(Config{Out: io.Discard, SigningKey: testKey, QueueSize: 1 << 20}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	v := verdict("0190d6f4-6c3e-7a51-9b1d-2f3c4d5e6f70")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.WriteVerdict(v, pipeline.Request, "ext_proc", "chat", segs, time.Millisecond)
		}
	})
}

// BenchmarkFromVerdict is the record's build on the caller: rule IDs and
// one evidence HMAC.
func BenchmarkFromVerdict(b *testing.B) {
	l := &Log{evidence: newEvidenceHasher(make([]byte, 32))}
	v := verdict("0190d6f4-6c3e-7a51-9b1d-2f3c4d5e6f70")
	b.ReportAllocs()
	for range b.N {
		_ = l.FromVerdict(v, pipeline.Request, "ext_proc", "chat", segs, time.Millisecond)
	}
}
