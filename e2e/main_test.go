//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	code := m.Run()
	if code == 0 {
		// Every test closes what it opened (clients, emulators, fake
		// upstreams); nothing of ours may be left running in-process.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: goroutine leak:", err)
			return 1
		}
	}
	return code
}
