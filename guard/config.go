package guard

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/llm-firewall/llm-firewall/pipeline/audit"
)

// Config is what the handler needs besides the engine and the policies.
type Config struct {
	// Tokens are the accepted bearer tokens (see LoadTokens). An empty set
	// refuses every request unless AllowUnauthenticated is set.
	Tokens Tokens
	// AllowUnauthenticated serves requests without a token. It must be
	// chosen explicitly (for a listener reachable only by a sidecar); an
	// empty token set alone never means "open".
	AllowUnauthenticated bool
	// MaxBodyBytes bounds a request body; a larger one is answered 413
	// without being read further. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int
	// Budget bounds the detection work of one request; past it the verdict
	// fails closed. 0 means DefaultBudget.
	Budget time.Duration
	// Audit receives one record per decision (nil: no audit log).
	Audit *audit.Log
}

// Defaults for a zero Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultBudget       = 150 * time.Millisecond
)

// Validate says what is wrong with c, in the words of its settings.
func (c Config) Validate() error {
	if c.Tokens.Len() == 0 && !c.AllowUnauthenticated {
		return errors.New("guard API: no bearer token configured; give tokens (a token file or a list) or allow unauthenticated access explicitly")
	}
	if c.MaxBodyBytes < 0 {
		return errors.New("guard API: max body bytes must not be negative")
	}
	if c.Budget < 0 {
		return errors.New("guard API: budget must not be negative")
	}
	return nil
}

// Tokens is a set of bearer tokens. Only their SHA-256 digests are kept,
// so every comparison is over 32 bytes whatever the token's length, and a
// memory dump does not show the tokens.
type Tokens struct {
	digests [][32]byte
}

// Len is the number of tokens.
func (t Tokens) Len() int { return len(t.digests) }

// NewTokens builds a set from tokens; empty strings are ignored.
func NewTokens(tokens ...string) Tokens {
	var t Tokens
	for _, s := range tokens {
		if s = strings.TrimSpace(s); s != "" {
			t.digests = append(t.digests, sha256.Sum256([]byte(s)))
		}
	}
	return t
}

// Match reports whether presented is one of the tokens. It compares
// against every token in constant time and never stops early, so neither
// the position of a match nor a shared prefix shows in the timing.
func (t Tokens) Match(presented string) bool {
	if presented == "" {
		return false
	}
	d := sha256.Sum256([]byte(presented))
	found := 0
	for i := range t.digests {
		found |= subtle.ConstantTimeCompare(d[:], t.digests[i][:])
	}
	return found == 1
}

// LoadTokens reads the accepted tokens from a file (one token per line;
// blank lines and lines starting with # are ignored) and from list, a
// comma-separated list as an environment variable carries it. Either may
// be empty; the result is their union.
func LoadTokens(file, list string) (Tokens, error) {
	var all []string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return Tokens{}, fmt.Errorf("guard API: read token file %q: %w", file, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.ContainsAny(line, " \t") {
				return Tokens{}, fmt.Errorf("guard API: token file %q: a token must not contain whitespace (one token per line)", file)
			}
			all = append(all, line)
		}
		if err := sc.Err(); err != nil {
			return Tokens{}, fmt.Errorf("guard API: read token file %q: %w", file, err)
		}
		if len(all) == 0 {
			return Tokens{}, fmt.Errorf("guard API: token file %q holds no token", file)
		}
	}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			all = append(all, s)
		}
	}
	return NewTokens(all...), nil
}
