package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

func verifyBytes(t *testing.T, b []byte) *Report {
	t.Helper()
	rep, err := Verify(testPub(), Source{Name: "log", R: bytes.NewReader(b)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRecordFields(t *testing.T) {
	lines := writeLog(t, 1, Config{SigningKey: testKey, HMACKey: []byte("0123456789abcdef0123456789abcdef")})
	open, d := parse(t, lines[0]), parse(t, lines[1])
	if open.Type != TypeOpen || open.Seq != 1 || open.Prev != "" || open.Format != Format || open.EvidenceScope != "configured" || open.KeyID != KeyID(testPub()) {
		t.Errorf("open record %s", lines[0])
	}
	if d.Seq != 2 || d.Prev != lineHash(lines[0]) || d.DecisionID != "da" || d.Transport != "ext_proc" || d.Direction != "request" ||
		d.Route != "chat" || d.Policy != "default" || d.PolicyVersion != "v1" || d.Action != "block" || d.WouldBe != "block" ||
		d.Status != 403 || !slices.Equal(d.Rules, []string{"secrets.aws_access_key"}) || d.LatencyUS != 1 || len(d.Evidence) != 1 {
		t.Errorf("decision record %s", lines[1])
	}
	if _, err := time.Parse(time.RFC3339Nano, d.Time); err != nil || !strings.HasSuffix(d.Time, "Z") {
		t.Errorf("time %q", d.Time)
	}
	mac := hmac.New(sha256.New, []byte("0123456789abcdef0123456789abcdef"))
	mac.Write([]byte("AKIAIOSFODNN7EXAMPLE"))
	if want := hex.EncodeToString(mac.Sum(nil)); d.Evidence[0] != (Evidence{Rule: "secrets.aws_access_key", Entity: "AWS_ACCESS_KEY", Hash: want}) {
		t.Errorf("evidence %+v, want hash %s", d.Evidence[0], want)
	}
	last := parse(t, lines[len(lines)-1])
	if last.Type != TypeSig || parse(t, lines[len(lines)-2]).Type != TypeClose {
		t.Errorf("the log does not end with close and sig: %s", lines[len(lines)-2:])
	}
}

func TestShadowAction(t *testing.T) {
	l := &Log{}
	r := l.FromVerdict(&pipeline.Verdict{Action: pipeline.Allow, WouldBe: pipeline.Block, Shadow: true}, pipeline.Response, "http", "", nil, 0)
	if r.Action != "shadow_block" || r.WouldBe != "block" || r.Direction != "response" {
		t.Fatalf("%+v", r)
	}
}

// TestNoPromptText: a verdict over text with a secret and an email leaves
// neither in the log, in any record.
func TestNoPromptText(t *testing.T) {
	var out syncBuffer
	l, err := Open(Config{Out: &out, SigningKey: testKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := "mail alice.secret@example.com the password is hunter2-TOPSECRET-42"
	segs := []pipeline.Segment{{Text: "ignore", Field: "messages[0].content"}, {Text: text, Field: "messages[1].content"}}
	v := &pipeline.Verdict{Action: pipeline.Redact, WouldBe: pipeline.Redact, Reason: "redacted", DecisionID: "x",
		Findings: []pipeline.Finding{
			{Rule: "pii.email", Entity: "EMAIL", Spans: []pipeline.Span{{Segment: 1, Start: 5, End: 29}}},
			{Rule: "secrets.password", Spans: []pipeline.Span{{Segment: 1, Start: 46, End: 66}, {Segment: 1, Start: 0, End: len(text)}}},
			{Rule: "bad.spans", Spans: []pipeline.Span{{Segment: 5, Start: 0, End: 3}, {Segment: 1, Start: 60, End: 999}, {Segment: 1, Start: -1, End: 2}, {Segment: 1, Start: 4, End: 2}}},
		},
		Redactions: []pipeline.Redaction{{Span: pipeline.Span{Segment: 1, Start: 5, End: 29}, With: "<EMAIL>"}},
	}
	l.WriteVerdict(v, pipeline.Request, "http", "r", segs, time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.Bytes()
	for _, s := range []string{"alice", "example.com", "hunter2", "TOPSECRET", "password is", "ignore", "messages["} {
		if bytes.Contains(bytes.ToLower(got), bytes.ToLower([]byte(s))) {
			t.Errorf("the log holds %q:\n%s", s, got)
		}
	}
	d := parse(t, splitLines(got)[1])
	if len(d.Evidence) != 3 {
		t.Errorf("evidence %+v", d.Evidence)
	}
}

func TestEvidenceKeys(t *testing.T) {
	hashOf := func(cfg Config) (string, string) {
		lines := writeLog(t, 1, cfg)
		return parse(t, lines[1]).Evidence[0].Hash, parse(t, lines[0]).EvidenceKeyID
	}
	key := bytes.Repeat([]byte{1}, 32)
	a, ida := hashOf(Config{HMACKey: key})
	b, idb := hashOf(Config{HMACKey: key})
	if a != b || ida != idb {
		t.Error("a configured key gives different hashes")
	}
	c, idc := hashOf(Config{})
	d, idd := hashOf(Config{})
	if c == d || idc == idd || c == a {
		t.Error("per-process keys give equal hashes")
	}
	if _, err := Open(Config{Out: &bytes.Buffer{}, HMACKey: []byte("short")}, nil); err == nil {
		t.Error("a short HMAC key was accepted")
	}
}

func TestEvidenceCap(t *testing.T) {
	text := strings.Repeat("x", 100)
	f := pipeline.Finding{Rule: "r"}
	for i := range 50 {
		f.Spans = append(f.Spans, pipeline.Span{Start: i, End: i + 2 + i%40})
	}
	l := &Log{evidence: newEvidenceHasher([]byte("k"))}
	r := l.FromVerdict(&pipeline.Verdict{Findings: []pipeline.Finding{f}}, pipeline.Request, "http", "", []pipeline.Segment{{Text: text}}, 0)
	if len(r.Evidence) != MaxEvidence || r.EvidenceOmitted != 40-MaxEvidence {
		t.Fatalf("%d evidence, %d omitted", len(r.Evidence), r.EvidenceOmitted)
	}
}

func TestConcurrentWrites(t *testing.T) {
	var out syncBuffer
	reg := prometheus.NewPedanticRegistry()
	l, err := Open(Config{Out: &out, SigningKey: testKey, SignEvery: 100, SignInterval: time.Millisecond}, reg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				l.WriteVerdict(verdict("g"), pipeline.Request, "ext_proc", "r", segs, time.Duration(g*i))
				if i == 250 && g == 0 {
					if err := l.Reopen(); err != nil { // a no-op on Out, but races with writes
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Write(Record{}) // after Close: dropped, no panic
	if err := l.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close: %v", err)
	}
	rep := verifyBytes(t, out.Bytes())
	if !rep.OK(true) || len(rep.Problems) != 0 || rep.Decisions != 4000 {
		var b strings.Builder
		rep.WriteText(&b, true)
		t.Fatalf("%s", b.String())
	}
	if got := testutil.ToFloat64(l.m.written); got != float64(rep.Records) {
		t.Errorf("written %v, records %d", got, rep.Records)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", err, problems)
	}
}

// gateWriter blocks writes while closed, to fill the queue.
type gateWriter struct {
	syncBuffer
	open    chan struct{}
	entered chan struct{}
	blocked atomic.Bool
}

func (g *gateWriter) Write(p []byte) (int, error) {
	if g.blocked.Load() {
		g.entered <- struct{}{}
		<-g.open
	}
	return g.syncBuffer.Write(p)
}

func TestQueueFullGap(t *testing.T) {
	g := &gateWriter{open: make(chan struct{}), entered: make(chan struct{}, 1)}
	l, err := Open(Config{Out: g, QueueSize: 2, SigningKey: testKey}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	g.blocked.Store(true)
	l.WriteVerdict(verdict("1"), pipeline.Request, "http", "", nil, 0)
	<-g.entered // the writer holds record 1 and waits on the gate
	g.blocked.Store(false)
	for range 12 { // two fit the queue, ten are dropped
		l.WriteVerdict(verdict("n"), pipeline.Request, "http", "", nil, 0)
	}
	if got := testutil.ToFloat64(l.m.dropped); got != 10 {
		t.Errorf("dropped metric %v", got)
	}
	close(g.open)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyBytes(t, g.Bytes())
	if rep.Tampered() || rep.Dropped != 10 || rep.Decisions != 3 || !slices.Equal(kinds(rep), []string{KindGap}) {
		var b strings.Builder
		rep.WriteText(&b, false)
		t.Fatalf("%s\n%s", b.String(), g.Bytes())
	}
}

// failWriter fails while fail is set, writing nothing.
type failWriter struct {
	syncBuffer
	fail atomic.Bool
}

func (f *failWriter) Write(p []byte) (int, error) {
	if f.fail.Load() {
		return 0, errors.New("disk full")
	}
	return f.syncBuffer.Write(p)
}

func TestWriteErrorsGap(t *testing.T) {
	w := &failWriter{}
	l, err := Open(Config{Out: w, SigningKey: testKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.fail.Store(true)
	for range 3 {
		l.WriteVerdict(verdict("lost"), pipeline.Request, "http", "", nil, 0)
		for len(l.q) > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(l.m.failed) < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	w.fail.Store(false)
	l.WriteVerdict(verdict("kept"), pipeline.Request, "http", "", nil, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyBytes(t, w.Bytes())
	if rep.Tampered() || rep.Failed != 3 || rep.Decisions != 1 || testutil.ToFloat64(l.m.writeErrors) < 1 {
		var b strings.Builder
		rep.WriteText(&b, false)
		t.Fatalf("%s\n%s", b.String(), w.Bytes())
	}
}

func TestSignInterval(t *testing.T) {
	var out syncBuffer
	l, err := Open(Config{Out: &out, SigningKey: testKey, SignInterval: 5 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.WriteVerdict(verdict("1"), pipeline.Request, "http", "", nil, 0)
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains(out.Bytes(), []byte(`"type":"sig"`)) {
		if time.Now().After(deadline) {
			t.Fatalf("no signature record:\n%s", out.Bytes())
		}
		time.Sleep(time.Millisecond)
	}
	rep := verifyBytes(t, out.Bytes())
	if !slices.Equal(kinds(rep), []string{KindOpenEnd}) || rep.Unsigned != 0 || rep.Signatures != 1 {
		t.Fatalf("%+v", rep)
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(Config{Path: path, SigningKey: testKey, SignEvery: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(n int) {
		for range n {
			l.WriteVerdict(verdict("r"), pipeline.Request, "http", "", segs, 0)
		}
	}
	write(5)
	rotated := []string{path + ".2", path + ".1"}
	for _, name := range rotated {
		// logrotate's create mode: rename, then signal.
		time.Sleep(5 * time.Millisecond)
		if err := os.Rename(path, name); err != nil {
			t.Fatal(err)
		}
		if err := l.Reopen(); err != nil {
			t.Fatal(err)
		}
		write(3)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	all := []string{path + ".2", path + ".1", path}
	rep, err := VerifyFiles(testPub(), all...)
	if err != nil || !rep.OK(true) || len(rep.Problems) != 0 || rep.Decisions != 11 || rep.Files != 3 {
		var b strings.Builder
		rep.WriteText(&b, true)
		t.Fatalf("%v\n%s", err, b.String())
	}
	// A rotated file alone: signed, an anchor at its start, an open end.
	rep, _ = VerifyFiles(testPub(), path+".1")
	if !slices.Equal(kinds(rep), []string{KindAnchor, KindOpenEnd}) || !rep.OK(true) {
		t.Fatalf("%v", rep.Problems)
	}
	first, _ := os.ReadFile(path + ".1")
	if parse(t, splitLines(first)[0]).Type != TypeRotate {
		t.Error("a rotated file does not start with a rotate record")
	}
	// Out of order: the link between the files breaks.
	rep, _ = VerifyFiles(testPub(), path+".1", path+".2", path)
	if !rep.Tampered() {
		t.Fatal("files out of order verified")
	}
	// A file missing from the sequence.
	rep, _ = VerifyFiles(testPub(), path+".2", path)
	if !slices.Contains(kinds(rep), KindSeqGap) {
		t.Fatalf("missing file not found: %v", rep.Problems)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v %v", st.Mode(), err)
	}
}

// TestResume: a restarted process continues the file's chain.
func TestResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for range 3 {
		l, err := Open(Config{Path: path, SigningKey: testKey}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.WriteVerdict(verdict("x"), pipeline.Request, "http", "", nil, 0)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := VerifyFiles(testPub(), path)
	if err != nil || len(rep.Problems) != 0 || rep.Chains != 1 || rep.Decisions != 3 {
		t.Fatalf("%v %+v", err, rep)
	}
	// A crash left a cut line: it is reported, and a new chain follows.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":99,"time":"20`)
	f.Close()
	l, err := Open(Config{Path: path, SigningKey: testKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.WriteVerdict(verdict("y"), pipeline.Request, "http", "", nil, 0)
	l.Close()
	rep, _ = VerifyFiles(testPub(), path)
	if !slices.Equal(kinds(rep), []string{KindInvalid}) || rep.Decisions != 4 {
		var b strings.Builder
		rep.WriteText(&b, true)
		t.Fatalf("%s", b.String())
	}
}

func TestNilLog(t *testing.T) {
	var l *Log
	l.Write(Record{})
	l.WriteVerdict(verdict("x"), pipeline.Request, "http", "", segs, 0)
	if l.Reopen() != nil || l.Close() != nil {
		t.Fatal("nil log")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, cfg := range []Config{
		{},
		{Path: filepath.Join(dir, "missing", "audit.log")},
		{Path: dir + "/a", QueueSize: -1},
		{Path: dir + "/b", SigningKey: []byte("short")},
	} {
		if l, err := Open(cfg, nil); err == nil {
			l.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}
