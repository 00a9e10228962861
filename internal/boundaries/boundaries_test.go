package boundaries

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/llm-firewall/llm-firewall"

// pkg is what go list says of one package of the module.
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
}

// listModule runs go list -deps over every package of the module (test
// files excluded: a test may import what its package must not).
func listModule(t *testing.T) map[string]*pkg {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the boundary check needs the go command on PATH: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := &pkg{}
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module+"/")] = p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages: not the module", len(pkgs))
	}
	return pkgs
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// TestBoundaries fails when a package crosses a line of the package table.
func TestBoundaries(t *testing.T) {
	pkgs := listModule(t)
	transport := []string{"github.com/envoyproxy/go-control-plane", "google.golang.org/grpc"}
	for rel, p := range pkgs {
		local := func(dep string) (string, bool) {
			r, ok := strings.CutPrefix(dep, module+"/")
			return r, ok
		}
		// The core, the codec, the scan step, the detectors and the guard
		// API know nothing of Envoy or gRPC.
		if under(rel, "pipeline") || under(rel, "internal/codec") || under(rel, "internal/scan") ||
			under(rel, "detectors") || under(rel, "guard") || under(rel, "cache") {
		deps:
			for _, d := range p.Deps {
				for _, tr := range transport {
					if under(d, tr) {
						t.Errorf("%s depends on %s (through its imports): only extproc, cmd and the test tools may", rel, d)
						break deps
					}
				}
			}
		}
		// guard is a transport beside extproc, not on top of it.
		if under(rel, "guard") {
			for _, d := range p.Deps {
				if r, ok := local(d); ok && under(r, "extproc") {
					t.Errorf("%s depends on %s", rel, r)
				}
			}
		}
		// The binary links no test-suite code.
		if under(rel, "cmd") {
			for _, d := range p.Deps {
				if r, ok := local(d); ok && under(r, "e2e") {
					t.Errorf("%s links %s", rel, r)
				}
			}
		}
		// pipeline knows no codec, transport or detector family: families
		// register themselves.
		if under(rel, "pipeline") {
			for _, d := range p.Deps {
				if r, ok := local(d); ok && !under(r, "pipeline") {
					t.Errorf("%s depends on %s: the core imports nothing else of the module", rel, r)
				}
			}
		}
		// A detector family imports no other family (detectors/all lists
		// them; detectors/normalize is the shared text normalizer and
		// detectors/internal holds shared features such as semantic; main
		// packages — trainers, evaluators — may use several).
		if fam, ok := family(rel); ok && fam != "all" && p.Name != "main" {
			for _, imp := range p.Imports {
				r, ok := local(imp)
				if !ok {
					continue
				}
				if other, ok := family(r); ok && other != fam && other != "normalize" && other != "internal" {
					t.Errorf("%s (family %s) imports %s (family %s)", rel, fam, r, other)
				}
			}
		}
	}
}

// family is the detector family a package belongs to.
func family(rel string) (string, bool) {
	rest, ok := strings.CutPrefix(rel, "detectors/")
	if !ok {
		return "", false
	}
	f, _, _ := strings.Cut(rest, "/")
	return f, true
}

// TestBoundariesSeeViolations keeps the checks honest: the rules must
// recognise what they are meant to forbid in go list's own terms.
func TestBoundariesSeeViolations(t *testing.T) {
	pkgs := listModule(t)
	ext, ok := pkgs["extproc"]
	if !ok {
		t.Fatal("extproc not listed")
	}
	sawGRPC := false
	for _, d := range ext.Deps {
		sawGRPC = sawGRPC || under(d, "google.golang.org/grpc")
	}
	if !sawGRPC {
		t.Error("extproc's deps do not show gRPC: the transport rule would check nothing")
	}
	if f, ok := family("detectors/pii/internal/evaluate"); !ok || f != "pii" {
		t.Errorf("family of a pii subpackage: %q %v", f, ok)
	}
	if cmd, ok := pkgs["cmd/llm-firewall"]; !ok || len(cmd.Deps) == 0 {
		t.Error("cmd/llm-firewall not listed with its deps")
	}
}
