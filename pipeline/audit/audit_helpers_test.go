package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// testKey is a fixed signing key, so failures reproduce.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func testPub() ed25519.PublicKey { return testKey.Public().(ed25519.PublicKey) }

// syncBuffer is a bytes.Buffer safe to read while the writer runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// verdict is a decision with one finding over "secret" in segment 0.
func verdict(id string) *pipeline.Verdict {
	return &pipeline.Verdict{
		Action: pipeline.Block, WouldBe: pipeline.Block, Status: 403, Policy: "default", PolicyVersion: "v1", DecisionID: id,
		Findings: []pipeline.Finding{{Rule: "secrets.aws_access_key", Entity: "AWS_ACCESS_KEY", Score: 1, Spans: []pipeline.Span{{Segment: 0, Start: 8, End: 28}}}},
	}
}

var segs = []pipeline.Segment{{Text: "my key: AKIAIOSFODNN7EXAMPLE please", Role: pipeline.RoleUser}}

// writeLog writes n decisions to a fresh log and returns its lines.
func writeLog(t testing.TB, n int, cfg Config) [][]byte {
	t.Helper()
	var out syncBuffer
	cfg.Out = &out
	l, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		l.WriteVerdict(verdict("d"+string(rune('a'+i%26))), pipeline.Request, "ext_proc", "chat", segs, 1500)
		if i%7 == 0 {
			// Let the writer take records in several batches.
			for len(l.q) > 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return splitLines(out.Bytes())
}

func splitLines(b []byte) [][]byte {
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	for i := range lines {
		lines[i] = bytes.Clone(lines[i])
	}
	return lines
}

func joinLines(lines [][]byte) []byte {
	return append(bytes.Join(lines, []byte("\n")), '\n')
}

func parse(t testing.TB, line []byte) Record {
	t.Helper()
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return r
}

func encode(t testing.TB, r Record) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lineHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// rechain is what a forger without the key does after changing lines: it
// renumbers seq from lines[from] on and recomputes every prev.
func rechain(t testing.TB, lines [][]byte, from int) {
	t.Helper()
	for i := from; i < len(lines); i++ {
		r := parse(t, lines[i])
		if i > 0 {
			r.Seq = parse(t, lines[i-1]).Seq + 1
			r.Prev = lineHash(lines[i-1])
		}
		lines[i] = encode(t, r)
	}
}

// indexOf returns the index of the n-th (0-based) line of type typ.
func indexOf(t testing.TB, lines [][]byte, typ string, n int) int {
	t.Helper()
	for i, l := range lines {
		if parse(t, l).Type == typ {
			if n == 0 {
				return i
			}
			n--
		}
	}
	t.Fatalf("no %q record #%d", typ, n)
	return -1
}
