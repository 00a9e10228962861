package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caarlos0/env/v11"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

func TestAuditConfigFromEnv(t *testing.T) {
	var c AuditConfig
	if err := env.ParseWithOptions(&c, env.Options{Prefix: envPrefix, Environment: map[string]string{"LLMFW_AUDIT_FILE": "-"}}); err != nil {
		t.Fatal(err)
	}
	if c.AuditFile != "-" || c.AuditSignEvery != 1000 || c.AuditSignInterval.String() != "1m0s" || c.AuditQueue != 65536 || c.AuditSigningKeyFile != "" {
		t.Fatalf("%+v", c)
	}
}

func runAudit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := auditCmd(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestAuditKeygenWriteVerify: keygen, a signed log written through
// openAudit, verify it, tamper with it, verify again.
func TestAuditKeygenWriteVerify(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "audit")
	if code, out, errs := runAudit(t, "keygen", "--out", prefix); code != 0 || !strings.Contains(out, "key id") {
		t.Fatalf("keygen: %d %s %s", code, out, errs)
	}
	if st, err := os.Stat(prefix + ".key"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", st.Mode(), err)
	}
	if code, _, _ := runAudit(t, "keygen", "--out", prefix); code != 1 {
		t.Fatal("keygen overwrote a key")
	}
	hmacFile := filepath.Join(dir, "hmac.key")
	os.WriteFile(hmacFile, []byte("c2VjcmV0LWtleS1mb3ItZXZpZGVuY2UtaGFzaGVz\n"), 0o600)
	logFile := filepath.Join(dir, "audit.log")
	l, err := openAudit(AuditConfig{AuditFile: logFile, AuditSigningKeyFile: prefix + ".key", AuditHMACKeyFile: hmacFile,
		AuditSignEvery: 3, AuditQueue: 100}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil || l == nil {
		t.Fatal(err)
	}
	segs := []pipeline.Segment{{Text: "call me at +1 415 555 0100"}}
	for i := range 7 {
		v := &pipeline.Verdict{Action: pipeline.Redact, WouldBe: pipeline.Redact, DecisionID: string(rune('a' + i)),
			Findings: []pipeline.Finding{{Rule: "pii.phone", Entity: "PHONE_NUMBER", Spans: []pipeline.Span{{Start: 11, End: 26}}}}}
		l.WriteVerdict(v, pipeline.Request, "ext_proc", "chat", segs, 0)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(logFile)
	// The number in any spelling; hashes and signatures are hex/base64,
	// so only a digit run as long as the number's could be a leak.
	if bytes.Contains(raw, []byte("415 555")) || bytes.Contains(raw, []byte("4155550100")) || bytes.Contains(raw, []byte("555 0100")) {
		t.Fatalf("the phone number is in the log:\n%s", raw)
	}

	if code, out, errs := runAudit(t, "verify", "--pubkey", prefix+".pub", "--require-signed", logFile); code != 0 || !strings.Contains(out, "result: OK") {
		t.Fatalf("verify: %d\n%s%s", code, out, errs)
	}
	// Flags after the file name work too; without a key the chain is checked.
	if code, out, _ := runAudit(t, "verify", logFile, "--json"); code != 0 || !json.Valid([]byte(out)) || !strings.Contains(out, `"signatures_unchecked"`) {
		t.Fatalf("verify --json: %d\n%s", code, out)
	}

	lines := bytes.Split(raw, []byte("\n"))
	lines[4] = bytes.Replace(lines[4], []byte(`"redact"`), []byte(`"allow"`), 1)
	os.WriteFile(logFile, bytes.Join(lines, []byte("\n")), 0o600)
	code, out, _ := runAudit(t, "verify", "--pubkey", prefix+".pub", logFile)
	if code != 1 || !strings.Contains(out, "TAMPERED") || !strings.Contains(out, "audit.log:6 seq 6") {
		t.Fatalf("tampered verify: %d\n%s", code, out)
	}

	// A cut tail: a warning, and a failure under --require-signed.
	os.WriteFile(logFile, bytes.Join(bytes.Split(raw, []byte("\n"))[:6], []byte("\n")), 0o600)
	if code, out, _ := runAudit(t, "verify", "--pubkey", prefix+".pub", logFile); code != 0 || !strings.Contains(out, "unsigned_tail") {
		t.Fatalf("cut tail: %d\n%s", code, out)
	}
	if code, out, _ := runAudit(t, "verify", "--pubkey", prefix+".pub", "--require-signed", logFile); code != 1 || !strings.Contains(out, "NOT SIGNED") {
		t.Fatalf("cut tail, require signed: %d\n%s", code, out)
	}
}

func TestAuditUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		nil,
		{"bogus"},
		{"verify"},
		{"verify", "--require-signed", "x.log"},
		{"verify", "--pubkey", filepath.Join(dir, "missing.pub"), "x.log"},
		{"verify", filepath.Join(dir, "missing.log")},
		{"verify", "--nope", "x.log"},
		{"keygen"},
		{"keygen", "--out", filepath.Join(dir, "k"), "extra"},
	} {
		if code, _, _ := runAudit(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := runAudit(t, "help"); code != 0 || !strings.Contains(out, "audit verify") {
		t.Error("help")
	}
}

func TestOpenAuditConfig(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	if l, err := openAudit(AuditConfig{}, nil, log); l != nil || err != nil {
		t.Fatalf("off: %v %v", l, err)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	for _, c := range []AuditConfig{
		{AuditSigningKeyFile: bad},
		{AuditFile: filepath.Join(dir, "a.log"), AuditQueue: 0},
		{AuditFile: filepath.Join(dir, "a.log"), AuditQueue: 1, AuditSignEvery: -1},
		{AuditFile: filepath.Join(dir, "a.log"), AuditQueue: 1, AuditSigningKeyFile: bad},
		{AuditFile: filepath.Join(dir, "a.log"), AuditQueue: 1, AuditHMACKeyFile: short},
		{AuditFile: filepath.Join(dir, "no", "a.log"), AuditQueue: 1},
	} {
		if l, err := openAudit(c, nil, log); err == nil {
			l.Close()
			t.Errorf("%+v accepted", c)
		}
	}
	l, err := openAudit(AuditConfig{AuditFile: filepath.Join(dir, "ok.log"), AuditQueue: 1}, prometheus.NewRegistry(), log)
	if err != nil || l == nil {
		t.Fatal(err)
	}
	l.Close()
}
