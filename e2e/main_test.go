//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// binPath is the llm-firewall binary built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "llmfw-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The test runs in <module>/e2e; the module root is one level up.
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: module root:", err)
		return 1
	}
	binPath = filepath.Join(dir, "llm-firewall")
	build := exec.Command("go", "build", "-o", binPath, "./cmd/llm-firewall")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/llm-firewall failed: %v\n%s", err, out)
		return 1
	}
	// Name the real Envoy every scenario runs through, in every run's output.
	if p := os.Getenv("LLMFW_ENVOY"); p != "" {
		out, err := exec.Command(p, "--version").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: LLMFW_ENVOY=%s --version: %v\n%s", p, err, out)
			return 1
		}
		fmt.Println("e2e: real Envoy:", strings.TrimSpace(string(out)))
	}
	code := m.Run()
	if code == 0 {
		// Every test closes what it opened (clients, emulators, fake
		// upstreams); nothing of ours may be left running in-process.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: goroutine leak:", err)
			return 1
		}
		// Nor any process: every firewall, Envoy and LiteLLM a test
		// started has been stopped and reaped.
		if kids := childProcesses(); len(kids) > 0 {
			fmt.Fprintln(os.Stderr, "e2e: child processes left running:", strings.Join(kids, "; "))
			return 1
		}
	}
	return code
}

// childProcesses lists this process's children that are still alive
// (Linux /proc), as "pid cmdline".
func childProcesses() []string {
	self := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 || f[1] != self {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, e.Name()+" "+strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " "))
	}
	return out
}
