package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-firewall/llm-firewall/pipeline/audit"
)

// AuditConfig configures the tamper-evident audit log (docs/audit.md). It is
// embedded in Config, so its variables are LLMFW_AUDIT_*.
type AuditConfig struct {
	AuditFile           string        `env:"AUDIT_FILE" help:"audit log: append-only JSON Lines, one hash-chained record per decision (no prompt text); a file path, or - for standard output (a SIEM shipper); empty means off"`
	AuditSigningKeyFile string        `env:"AUDIT_SIGNING_KEY_FILE" help:"Ed25519 private key (PEM or hex; llm-firewall audit keygen) that signs the audit chain; keep its public key elsewhere for audit verify"`
	AuditSignEvery      int           `env:"AUDIT_SIGN_EVERY" envDefault:"1000" help:"with a signing key: sign the audit chain after this many records (and at LLMFW_AUDIT_SIGN_INTERVAL, rotation and shutdown); 0 means only on the interval"`
	AuditSignInterval   time.Duration `env:"AUDIT_SIGN_INTERVAL" envDefault:"1m" help:"with a signing key: sign the audit chain at least this often when records were written; 0 means only by count"`
	AuditHMACKeyFile    string        `env:"AUDIT_HMAC_KEY_FILE" help:"key (at least 16 bytes) for the audit evidence hashes (HMAC-SHA256 of matched text); without it a random key per process: evidence then only correlates within one process lifetime"`
	AuditQueue          int           `env:"AUDIT_QUEUE" envDefault:"65536" help:"audit records waiting for the writer; when full, records are dropped, counted (llmfw_audit_records_total{result=\"dropped\"}) and reported in the log by a gap record"`
}

// openAudit opens the audit log, or returns nil, nil when it is off.
func openAudit(cfg AuditConfig, reg prometheus.Registerer, log *slog.Logger) (*audit.Log, error) {
	if cfg.AuditFile == "" {
		if cfg.AuditSigningKeyFile != "" || cfg.AuditHMACKeyFile != "" {
			return nil, errors.New("LLMFW_AUDIT_SIGNING_KEY_FILE or LLMFW_AUDIT_HMAC_KEY_FILE is set but LLMFW_AUDIT_FILE is not: set the file (or - for standard output) to turn the audit log on")
		}
		return nil, nil
	}
	if cfg.AuditSignEvery < 0 || cfg.AuditSignInterval < 0 {
		return nil, errors.New("LLMFW_AUDIT_SIGN_EVERY and LLMFW_AUDIT_SIGN_INTERVAL must not be negative")
	}
	if cfg.AuditQueue <= 0 {
		return nil, errors.New("LLMFW_AUDIT_QUEUE must be positive")
	}
	ac := audit.Config{Path: cfg.AuditFile, QueueSize: cfg.AuditQueue, Logger: log}
	if cfg.AuditSigningKeyFile != "" {
		k, err := audit.LoadPrivateKey(cfg.AuditSigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("audit signing key (LLMFW_AUDIT_SIGNING_KEY_FILE): %w", err)
		}
		if cfg.AuditSignEvery == 0 && cfg.AuditSignInterval == 0 {
			return nil, errors.New("with LLMFW_AUDIT_SIGNING_KEY_FILE, LLMFW_AUDIT_SIGN_EVERY and LLMFW_AUDIT_SIGN_INTERVAL cannot both be 0")
		}
		if st, err := os.Stat(cfg.AuditSigningKeyFile); err == nil && st.Mode().Perm()&0o077 != 0 {
			log.Warn("the audit signing key file is readable by others; chmod 600 it", "path", cfg.AuditSigningKeyFile, "mode", st.Mode().Perm().String())
		}
		ac.SigningKey, ac.SignEvery, ac.SignInterval = k, cfg.AuditSignEvery, cfg.AuditSignInterval
	}
	if cfg.AuditHMACKeyFile != "" {
		b, err := os.ReadFile(cfg.AuditHMACKeyFile)
		if err != nil {
			return nil, fmt.Errorf("audit evidence key (LLMFW_AUDIT_HMAC_KEY_FILE): %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) < 16 {
			return nil, fmt.Errorf("audit evidence key %s has %d bytes; want at least 16 (e.g. head -c 32 /dev/urandom | base64)", cfg.AuditHMACKeyFile, len(b))
		}
		ac.HMACKey = b
	}
	l, err := audit.Open(ac, reg)
	if err != nil {
		return nil, fmt.Errorf("%w (LLMFW_AUDIT_FILE)", err)
	}
	attrs := []any{"path", cfg.AuditFile, "signed", ac.SigningKey != nil}
	if ac.SigningKey != nil {
		attrs = append(attrs, "key_id", audit.KeyID(ac.SigningKey.Public().(ed25519.PublicKey)))
	}
	log.Info("audit log open", attrs...)
	if ac.HMACKey == nil {
		log.Warn("no LLMFW_AUDIT_HMAC_KEY_FILE: audit evidence hashes use a random per-process key and only correlate within this process")
	}
	return l, nil
}

const auditUsage = `usage:
  llm-firewall audit verify [--pubkey FILE] [--require-signed] [--json] FILE...
      verify audit log files, in the given order, as one chain (oldest first:
      audit.log.2 audit.log.1 audit.log); - reads standard input.
      Exit 0: intact; 1: tampering found (or unsigned records with
      --require-signed), the report is on standard output; 2: usage or
      unreadable input.
  llm-firewall audit keygen --out PREFIX
      write a new Ed25519 signing key pair: PREFIX.key (private, mode 0600,
      for LLMFW_AUDIT_SIGNING_KEY_FILE) and PREFIX.pub (for audit verify)
`

// auditCmd is `llm-firewall audit ...`.
func auditCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	switch args[0] {
	case "verify":
		return auditVerify(args[1:], stdout, stderr)
	case "keygen":
		return auditKeygen(args[1:], stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, auditUsage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown audit command %q\n%s", args[0], auditUsage)
	return 2
}

// parseInterspersed parses flags before, between and after the file names.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func auditVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubFile := fs.String("pubkey", "", "Ed25519 public key (PEM or hex) to check the signature records with")
	requireSigned := fs.Bool("require-signed", false, "fail unless every record is covered by a valid signature (needs --pubkey)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "audit verify: no file given\n"+auditUsage)
		return 2
	}
	if *requireSigned && *pubFile == "" {
		fmt.Fprintln(stderr, "audit verify: --require-signed needs --pubkey")
		return 2
	}
	var pub ed25519.PublicKey
	if *pubFile != "" {
		if pub, err = audit.LoadPublicKey(*pubFile); err != nil {
			fmt.Fprintln(stderr, "audit verify:", err)
			return 2
		}
	}
	srcs := make([]audit.Source, 0, len(files))
	for _, name := range files {
		if name == "-" {
			srcs = append(srcs, audit.Source{Name: "(stdin)", R: os.Stdin})
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(stderr, "audit verify:", err)
			return 2
		}
		defer f.Close()
		srcs = append(srcs, audit.Source{Name: name, R: f})
	}
	rep, err := audit.Verify(pub, srcs...)
	if err != nil {
		fmt.Fprintln(stderr, "audit verify:", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		out := struct {
			*audit.Report
			Tampered bool `json:"tampered"`
			OK       bool `json:"ok"`
		}{rep, rep.Tampered(), rep.OK(*requireSigned)}
		if out.Problems == nil {
			out.Problems = []audit.Problem{}
		}
		enc.Encode(out)
	} else {
		rep.WriteText(stdout, *requireSigned)
	}
	if !rep.OK(*requireSigned) {
		return 1
	}
	return 0
}

func auditKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("out", "", "path prefix of the key files: PREFIX.key and PREFIX.pub")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *prefix == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "audit keygen: give --out PREFIX and nothing else\n"+auditUsage)
		return 2
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		fmt.Fprintln(stderr, "audit keygen:", err)
		return 1
	}
	privPEM, err := audit.MarshalPrivateKey(priv)
	if err != nil {
		fmt.Fprintln(stderr, "audit keygen:", err)
		return 1
	}
	pubPEM, err := audit.MarshalPublicKey(pub)
	if err != nil {
		fmt.Fprintln(stderr, "audit keygen:", err)
		return 1
	}
	// Never overwrite a key: a lost private key cannot be recovered, and a
	// replaced public key would make old logs unverifiable.
	if err := writeNewFile(*prefix+".key", privPEM, 0o600); err != nil {
		fmt.Fprintln(stderr, "audit keygen:", err)
		return 1
	}
	if err := writeNewFile(*prefix+".pub", pubPEM, 0o644); err != nil {
		os.Remove(*prefix + ".key")
		fmt.Fprintln(stderr, "audit keygen:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s.key (private: LLMFW_AUDIT_SIGNING_KEY_FILE) and %s.pub (public: audit verify --pubkey); key id %s\n", *prefix, *prefix, audit.KeyID(pub))
	return 0
}

func writeNewFile(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
