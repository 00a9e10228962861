package wasm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/llm-firewall/llm-firewall/detectors/wasm/abi"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// BenchmarkTrivialRule measures the host's per-call overhead: one short
// segment through a rule that does almost nothing. wat is the hand-written
// rule (pooled, or a fresh instance per call); go is a Go rule (the loop
// example on text without its trigger), pooled.
func BenchmarkTrivialRule(b *testing.B) {
	for _, bc := range []struct{ name, section string }{
		{"wat/pooled", "rules:\n  - {name: bench-wat, module: trap.wasm, timeout: 1s}\n"},
		{"wat/fresh", "rules:\n  - {name: bench-wat-fresh, module: trap.wasm, pool_size: 0, timeout: 1s}\n"},
		{"go/pooled", "rules:\n  - {name: bench-go, module: loop.wasm, timeout: 1s}\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := newDetector(b, bc.section)
			in := request("what is the capital of France?")
			benchDetect(b, d, in, 0)
		})
	}
}

// BenchmarkKeywordRule4KB is the keyword example on a 4 KiB prompt with one
// code name near its end.
func BenchmarkKeywordRule4KB(b *testing.B) {
	d := newDetector(b, "rules:\n  - {name: bench-keyword, module: keyword.wasm, timeout: 1s}\n")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 88)
	text += "tell me about falcon-7."
	text += strings.Repeat(" ", 4096-len(text))
	in := request(text)
	b.SetBytes(int64(len(text)))
	benchDetect(b, d, in, 1)
}

// BenchmarkKeywordRule4KBParallel: the same under concurrency (one instance
// per concurrent call, from the pool).
func BenchmarkKeywordRule4KBParallel(b *testing.B) {
	d := newDetector(b, "rules:\n  - {name: bench-keyword-par, module: keyword.wasm, timeout: 1s}\n")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 91) + "falcon-7"
	in := request(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if fs, err := d.Detect(context.Background(), in); err != nil || len(fs) != 1 {
				b.Errorf("findings %v, err %v", rules(fs), err)
				return
			}
		}
	})
}

func benchDetect(b *testing.B, d *Detector, in *pipeline.Input, want int) {
	b.Helper()
	if fs := detect(b, d, in); len(fs) != want {
		b.Fatalf("findings %v, want %d", rules(fs), want)
	}
	b.ReportAllocs()
	for b.Loop() {
		if fs, err := d.Detect(context.Background(), in); err != nil || len(fs) != want {
			b.Fatalf("findings %v, err %v", rules(fs), err)
		}
	}
}

// BenchmarkWATScan4KB is the hand-written rule scanning a 4 KiB prompt byte
// by byte (a 4-byte compare per position): the cost of a tight loop under
// the deadline checks, without Go's runtime.
func BenchmarkWATScan4KB(b *testing.B) {
	d := newDetector(b, "rules:\n  - {name: bench-wat-scan, module: trap.wasm, timeout: 1s}\n")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 88)
	text += strings.Repeat(" ", 4096-len(text))
	b.SetBytes(int64(len(text)))
	benchDetect(b, d, request(text), 0)
}

// BenchmarkKeywordRule4KBNoDeadlineChecks calls the keyword example straight
// through wazero compiled without WithCloseOnContextDone: what the deadline
// checks cost. Not a configuration the detector offers (a looping rule could
// not be stopped); here only to measure.
func BenchmarkKeywordRule4KBNoDeadlineChecks(b *testing.B) {
	buildExamples(b)
	mod, err := os.ReadFile(filepath.Join(examplesDir, "keyword.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig())
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cm, err := rt.CompileModule(ctx, mod)
	if err != nil {
		b.Fatal(err)
	}
	m, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		b.Fatal(err)
	}
	inst := &instance{mod: m, mem: m.Memory(), alloc: m.ExportedFunction(abi.ExportAlloc), detect: m.ExportedFunction(abi.ExportDetect)}
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 88) + "tell me about falcon-7."
	text += strings.Repeat(" ", 4096-len(text))
	req := &abi.Request{Direction: abi.DirRequest, Segments: 1, Role: "user", Provenance: "user_input", Route: "chat", Text: text}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if v, err := inst.call(ctx, req); err != nil || v == nil {
			b.Fatalf("verdict %v, err %v", v, err)
		}
	}
}
