package wasm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// examplesDir holds the Go examples built for wasip1 once per test binary.
var (
	examplesDir  string
	examplesOnce sync.Once
	examplesErr  error
)

var goExamples = []string{"keyword", "competitors", "loop", "memhog"}

func TestMain(m *testing.M) {
	code := m.Run()
	if examplesDir != "" {
		os.RemoveAll(examplesDir)
	}
	os.Exit(code)
}

func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// buildExamples compiles examples/<name> with the standard toolchain as WASI
// reactors (the shape ABI version 1 needs) and sets the base directory to
// where they are.
func buildExamples(tb testing.TB) {
	tb.Helper()
	examplesOnce.Do(func() {
		examplesDir, examplesErr = os.MkdirTemp("", "llmfw-wasm-examples-")
		if examplesErr != nil {
			return
		}
		env := append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if f := os.Getenv("GOFLAGS"); strings.Contains(f, "-race") {
			env = append(env, "GOFLAGS="+strings.ReplaceAll(f, "-race", ""))
		}
		var wg sync.WaitGroup
		errs := make([]error, len(goExamples))
		for i, name := range goExamples {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(goTool(), "build", "-buildmode=c-shared", "-trimpath",
					"-o", filepath.Join(examplesDir, name+".wasm"), "./examples/"+name)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					errs[i] = fmt.Errorf("build examples/%s: %v\n%s", name, err, out)
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				examplesErr = err
				return
			}
		}
		if err := os.WriteFile(filepath.Join(examplesDir, "trap.wasm"), trapModule(), 0o644); err != nil {
			examplesErr = err
			return
		}
		examplesErr = pinExamples()
	})
	if examplesErr != nil {
		tb.Fatal(examplesErr)
	}
	SetBaseDir(examplesDir)
}

// newDetector builds the family from a policy section written in YAML.
func newDetector(tb testing.TB, section string) *Detector {
	tb.Helper()
	buildExamples(tb)
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(section), &doc); err != nil {
		tb.Fatal(err)
	}
	d, err := New(&doc)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(d.(*Detector).Close)
	return d.(*Detector)
}

func request(texts ...string) *pipeline.Input {
	in := &pipeline.Input{Direction: pipeline.Request, Route: "chat"}
	for _, t := range texts {
		in.Segments = append(in.Segments, pipeline.Segment{Text: t, Role: pipeline.RoleUser, Provenance: pipeline.FromUser})
	}
	return in
}

func detect(tb testing.TB, d *Detector, in *pipeline.Input) []pipeline.Finding {
	tb.Helper()
	fs, err := d.Detect(context.Background(), in)
	if err != nil {
		tb.Fatalf("Detect: %v", err)
	}
	return fs
}

func rules(fs []pipeline.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func failures(rule, kind string) float64 {
	return testutil.ToFloat64(metrics.failures.WithLabelValues(rule, kind))
}

func calls(rule, result string) float64 {
	return testutil.ToFloat64(metrics.calls.WithLabelValues(rule, result))
}

func newFromYAML(section string) (pipeline.Detector, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(section), &doc); err != nil {
		return nil, err
	}
	d, err := New(&doc)
	if err == nil {
		d.(*Detector).Close()
	}
	return d, err
}

// pinExamples compiles the Go examples in parallel and keeps them compiled
// for the whole test binary: compiling a Go rule takes about a second, and
// ten times that under the race detector. Compiled code is shared by every
// memory limit (one compilation cache behind all runtimes).
func pinExamples() error {
	var wg sync.WaitGroup
	errs := make([]error, len(goExamples))
	for i, name := range goExamples {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := os.ReadFile(filepath.Join(examplesDir, name+".wasm"))
			if err == nil {
				_, err = shared.acquire(b, DefaultMemoryPages)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func newFromYAMLKeep(section string) (*Detector, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(section), &doc); err != nil {
		return nil, err
	}
	d, err := New(&doc)
	if err != nil {
		return nil, err
	}
	return d.(*Detector), nil
}
