//go:build e2e

package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildRule compiles a Go example rule as a WASI reactor into dir/rules.
func buildRule(t *testing.T, dir, name string) {
	t.Helper()
	out := filepath.Join(dir, "rules", name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./detectors/wasm/examples/"+name)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd) // the e2e package sits at the repository root
}

// Scenario: operators' own rules as WASM modules, loaded from paths relative
// to the policy file. A keyword rule blocks its code name; a rule stuck in an
// infinite loop is cut at its timeout and fails closed (503) for the
// messages it guards, while the server keeps serving everything else.
func TestWASMRules(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		dir := t.TempDir()
		buildRule(t, dir, "keyword")
		buildRule(t, dir, "loop")
		policy := `
version: e2e-wasm-1
default: main
policies:
  main:
    detectors:
      limits: {}
      wasm:
        action: block
        rules:
          - {name: codes, module: rules/keyword.wasm}
          - name: stuck
            module: rules/loop.wasm
            timeout: 20ms
            breaker: off
`
		path := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
			t.Fatal(err)
		}
		s := newStack(t, fk, map[string]string{"LLMFW_POLICY_FILE": path, "LLMFW_BUDGET": "2s"})

		c := s.openai()
		if _, err := c.Chat.Completions.New(testCtx(t), chatParams("Status of Project Bluebird?")); err == nil {
			t.Fatal("the keyword rule did not block")
		} else if e := openAIStatus(t, err); e.StatusCode != http.StatusForbidden || !strings.Contains(e.Message, "wasm.codes") {
			t.Fatalf("status %d message %q", e.StatusCode, e.Message)
		}

		start := time.Now()
		_, err := c.Chat.Completions.New(testCtx(t), chatParams("please spin forever"))
		if err == nil {
			t.Fatal("a request the looping rule could not check was let through")
		}
		if e := openAIStatus(t, err); e.StatusCode != http.StatusServiceUnavailable || !strings.Contains(e.Message, "wasm.stuck.failure") {
			t.Fatalf("status %d message %q", e.StatusCode, e.Message)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("the loop was not cut: %v", d)
		}
		for i := 0; i < 5; i++ {
			resp, err := c.Chat.Completions.New(testCtx(t), chatParams("an ordinary question"))
			if err != nil {
				t.Fatalf("the server stopped serving after the loop: %v", err)
			}
			if !strings.HasPrefix(resp.Choices[0].Message.Content, "echo: ") {
				t.Fatalf("answer %q", resp.Choices[0].Message.Content)
			}
		}
	})
}
