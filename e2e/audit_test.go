//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Scenario: the binary writes a signed, hash-chained audit log of every
// decision (ext_proc and the guard API) without any prompt text; `audit
// verify` accepts it as written and rejects it once a record is edited.
func TestAuditLogVerifies(t *testing.T) {
	eachFront(t, func(t *testing.T, fk frontKind) {
		dir := t.TempDir()
		key := filepath.Join(dir, "audit")
		if out, err := exec.Command(binPath, "audit", "keygen", "--out", key).CombinedOutput(); err != nil {
			t.Fatalf("keygen: %v\n%s", err, out)
		}
		logPath := filepath.Join(dir, "audit.jsonl")
		s := newStack(t, fk, map[string]string{
			"LLMFW_AUDIT_FILE": logPath, "LLMFW_AUDIT_SIGNING_KEY_FILE": key + ".key", "LLMFW_AUDIT_SIGN_EVERY": "2",
			"LLMFW_SHUTDOWN_GRACE": "2s",
		})
		const marker = "zebra-quartz-9921"
		c := s.openai()
		_, _ = c.Chat.Completions.New(testCtx(t), chatParams(injectionPrompt+" "+marker))
		for i := 0; i < 3; i++ {
			if _, err := c.Chat.Completions.New(testCtx(t), chatParams("hello "+marker)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.fw.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte("Ignore all previous")) {
			t.Fatal("the audit log contains prompt text")
		}
		if n := bytes.Count(b, []byte(`"decision_id"`)); n != 7 {
			t.Fatalf("%d decision records, want one per decision (7: a blocked request, three allowed requests and their answers):\n%s", n, b)
		}
		verify := func() (int, string) {
			out, err := exec.Command(binPath, "audit", "verify", "--pubkey", key+".pub", "--require-signed", logPath).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode(), string(out)
			}
			if err != nil {
				t.Fatal(err)
			}
			return 0, string(out)
		}
		if code, out := verify(); code != 0 {
			t.Fatalf("verify of the log as written: exit %d\n%s", code, out)
		}
		edited := strings.Replace(string(b), `"action":"block"`, `"action":"allow"`, 1)
		if edited == string(b) {
			t.Fatalf("no block record to edit:\n%s", b)
		}
		if err := os.WriteFile(logPath, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out := verify(); code != 1 {
			t.Fatalf("verify of an edited log: exit %d, want 1\n%s", code, out)
		}
	})
}
