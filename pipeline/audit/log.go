package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Defaults applied by Open.
const (
	DefaultQueueSize    = 65536
	DefaultSignEvery    = 1000
	DefaultSignInterval = time.Minute
	// maxBatch bounds how many queued records the writer takes before it
	// flushes, signs on time and answers Reopen.
	maxBatch = 4096
	// maxResumeLine is how much of an existing file's tail Open reads to
	// continue its chain.
	maxResumeLine = 1 << 20
)

// ErrClosed is returned by Reopen after Close.
var ErrClosed = errors.New("audit log is closed")

// Config configures a Log.
type Config struct {
	// Path is the file records are appended to ("-" for standard output).
	Path string
	// Out, when set, receives the records instead of Path (tests, embedding);
	// Reopen is then a no-op.
	Out io.Writer
	// SigningKey, when set, signs the chain head every SignEvery records,
	// every SignInterval, at Reopen and at Close. Without either interval
	// DefaultSignEvery and DefaultSignInterval apply.
	SigningKey   ed25519.PrivateKey
	SignEvery    int
	SignInterval time.Duration
	// HMACKey keys the evidence hashes (at least 16 bytes). Without it a
	// random key is drawn per process: evidence hashes then only correlate
	// within one process lifetime.
	HMACKey []byte
	// QueueSize bounds the records waiting for the writer (DefaultQueueSize
	// when 0); when it is full, records are dropped, counted, and reported
	// by a gap record.
	QueueSize int
	Logger    *slog.Logger
}

// Log is an append-only, hash-chained audit log. Write never blocks: it
// hands the record to one writer goroutine through a bounded queue. All
// methods are safe for concurrent use; a nil *Log is an audit log that is
// off (Write and WriteVerdict do nothing).
type Log struct {
	cfg      Config
	evidence evidenceHasher
	keyID    string
	log      *slog.Logger
	m        metrics

	mu      sync.RWMutex // Write holds it shared; Close exclusively, so no Write sends on a closed queue
	closed  bool
	q       chan *Record
	reopenc chan chan error
	done    chan struct{}
	dropped atomic.Uint64 // dropped since the last gap record

	// Owned by the writer goroutine (and by Open before it starts).
	file     *os.File // nil when writing to stdout or Config.Out
	out      io.Writer
	bw       *bufio.Writer
	buf      bytes.Buffer
	enc      *json.Encoder
	seq      uint64
	head     string
	sinceSig int
	pending  int    // records in bw not yet flushed
	failed   uint64 // records lost to write errors since the last gap record
	// pendingGap: the gap records among the pending ones and the losses
	// they count; if they are lost too, their counts go to the next one.
	pendingGap gapCounts
	durable    struct {
		seq  uint64
		head string
	}
	broken     bool // the last flush failed: a partial line may end the file
	lastErrLog time.Time
	closeErr   error
}

type metrics struct {
	written, dropped, failed prometheus.Counter
	writeErrors, signatures  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, depth func() float64) (metrics, error) {
	records := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmfw_audit_records_total",
		Help: "Audit records by result: written (flushed to the log), dropped (the queue was full; a gap record counts them), failed (lost to a write error).",
	}, []string{"result"})
	writeErrors := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llmfw_audit_write_errors_total",
		Help: "Failed writes or flushes of the audit log.",
	})
	signatures := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llmfw_audit_signatures_total",
		Help: "Signature records written to the audit log.",
	})
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "llmfw_audit_queue_records",
		Help: "Audit records waiting for the writer.",
	}, depth)
	if reg != nil {
		for _, c := range []prometheus.Collector{records, writeErrors, signatures, queue} {
			if err := reg.Register(c); err != nil {
				return metrics{}, fmt.Errorf("audit metrics: %w", err)
			}
		}
	}
	return metrics{
		written: records.WithLabelValues("written"), dropped: records.WithLabelValues("dropped"),
		failed: records.WithLabelValues("failed"), writeErrors: writeErrors, signatures: signatures,
	}, nil
}

// Open opens (or creates) the log, writes its open record and starts the
// writer. An existing file's chain is continued from its last record.
func Open(cfg Config, reg prometheus.Registerer) (*Log, error) {
	if cfg.Out == nil && cfg.Path == "" {
		return nil, errors.New("audit log: no path")
	}
	if cfg.QueueSize < 0 || cfg.SignEvery < 0 || cfg.SignInterval < 0 {
		return nil, errors.New("audit log: queue size and signing intervals must not be negative")
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.SigningKey != nil && len(cfg.SigningKey) != ed25519.PrivateKeySize {
		return nil, errors.New("audit log: the signing key is not an Ed25519 private key")
	}
	if cfg.SigningKey != nil && cfg.SignEvery == 0 && cfg.SignInterval == 0 {
		cfg.SignEvery, cfg.SignInterval = DefaultSignEvery, DefaultSignInterval
	}
	scope := "configured"
	if cfg.HMACKey == nil {
		cfg.HMACKey = make([]byte, 32)
		rand.Read(cfg.HMACKey)
		scope = "process"
	} else if len(cfg.HMACKey) < 16 {
		return nil, errors.New("audit log: the evidence HMAC key must have at least 16 bytes")
	}
	l := &Log{
		cfg:      cfg,
		evidence: newEvidenceHasher(cfg.HMACKey),
		log:      cfg.Logger,
		q:        make(chan *Record, cfg.QueueSize),
		reopenc:  make(chan chan error),
		done:     make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if cfg.SigningKey != nil {
		l.keyID = KeyID(cfg.SigningKey.Public().(ed25519.PublicKey))
	}
	var err error
	if l.m, err = newMetrics(reg, func() float64 { return float64(len(l.q)) }); err != nil {
		return nil, err
	}
	switch {
	case cfg.Out != nil:
		l.out = cfg.Out
	case cfg.Path == "-":
		l.out = os.Stdout
	default:
		f, err := openFile(cfg.Path)
		if err != nil {
			return nil, err
		}
		if l.seq, l.head, l.broken, err = resume(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit log %s: %w", cfg.Path, err)
		}
		l.file, l.out = f, f
	}
	l.durable.seq, l.durable.head = l.seq, l.head
	l.bw = bufio.NewWriterSize(l.out, 64<<10)
	l.enc = json.NewEncoder(&l.buf)
	l.enc.SetEscapeHTML(false)
	l.emit(&Record{Type: TypeOpen, Format: Format, EvidenceKeyID: l.evidence.keyID(), EvidenceScope: scope, KeyID: l.keyID})
	if err := l.flush(); err != nil {
		if l.file != nil {
			l.file.Close()
		}
		return nil, fmt.Errorf("audit log: first write: %w", err)
	}
	go l.run()
	return l, nil
}

func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return f, nil
}

// resume finds where an existing file's chain ends: the seq and hash of its
// last line. A file whose last line is cut or unreadable (a crash during a
// write) gets a new chain (seq and head zero) after a newline.
func resume(f *os.File) (seq uint64, head string, broken bool, err error) {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return 0, "", false, err
	}
	rf, err := os.Open(f.Name())
	if err != nil {
		return 0, "", false, err
	}
	defer rf.Close()
	n := min(st.Size(), maxResumeLine+1)
	tail := make([]byte, n)
	if _, err := rf.ReadAt(tail, st.Size()-n); err != nil {
		return 0, "", false, err
	}
	if tail[len(tail)-1] != '\n' {
		return 0, "", true, nil
	}
	line := tail[:len(tail)-1]
	i := bytes.LastIndexByte(line, '\n')
	if i < 0 && int64(len(tail)) < st.Size() {
		return 0, "", false, nil // a last line longer than we read: start a new chain
	}
	line = line[i+1:]
	var r Record
	if json.Unmarshal(line, &r) != nil || r.Seq == 0 {
		return 0, "", false, nil
	}
	sum := sha256.Sum256(line)
	return r.Seq, hex.EncodeToString(sum[:]), false, nil
}

// Write queues one decision record. It never blocks: when the queue is full
// the record is dropped and counted, and the writer reports the count in a
// gap record. Seq, Prev and Sig are set by the writer; Time when empty.
func (l *Log) Write(r Record) {
	if l == nil {
		return
	}
	p := new(Record)
	*p = r
	p.Type, p.Sig, p.Dropped, p.Failed = TypeDecision, "", 0, 0
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.m.dropped.Inc()
		return
	}
	select {
	case l.q <- p:
	default:
		l.dropped.Add(1)
		l.m.dropped.Inc()
	}
}

// WriteVerdict builds the decision's record (FromVerdict) and writes it; it
// does nothing on a nil Log.
func (l *Log) WriteVerdict(v *pipeline.Verdict, dir pipeline.Direction, transport, route string, segs []pipeline.Segment, latency time.Duration) {
	if l == nil {
		return
	}
	l.Write(l.FromVerdict(v, dir, transport, route, segs, latency))
}

// Reopen signs and closes the current file and opens Path again, for log
// rotation (rename the file, then Reopen, e.g. on SIGHUP). The new file
// starts with a rotate record whose prev is the old file's chain head, so
// the files verify in order as one chain. With stdout or Config.Out it does
// nothing. On error the old file stays in use.
func (l *Log) Reopen() error {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	reply := make(chan error, 1)
	l.reopenc <- reply
	return <-reply
}

// Close writes what is queued, a close record and a last signature, and
// closes the file.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.q)
	}
	l.mu.Unlock()
	<-l.done
	return l.closeErr
}

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.cfg.SigningKey != nil && l.cfg.SignInterval > 0 {
		t := time.NewTicker(l.cfg.SignInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case r, ok := <-l.q:
			if !ok {
				l.closeErr = l.finish()
				return
			}
			l.append(r)
			// Group commit: take what else is queued, then flush once.
		batch:
			for range maxBatch {
				select {
				case r, ok := <-l.q:
					if !ok {
						break batch // finish on the next turn
					}
					l.append(r)
				default:
					break batch
				}
			}
			l.flush()
		case <-tick:
			if l.sinceSig > 0 {
				l.sign()
				l.flush()
			}
		case reply := <-l.reopenc:
			reply <- l.rotate()
		}
	}
}

// append writes one decision record, after a gap record for any loss since
// the last one, and signs when SignEvery records are unsigned.
func (l *Log) append(r *Record) {
	l.noteGap()
	l.emit(r)
	if l.cfg.SigningKey != nil && l.cfg.SignEvery > 0 && l.sinceSig >= l.cfg.SignEvery {
		l.sign()
	}
}

// gapCounts are the gap records among the pending ones and the losses
// they count.
type gapCounts struct {
	n               int
	dropped, failed uint64
}

// noteGap writes a gap record when records were dropped or lost.
func (l *Log) noteGap() {
	d := l.dropped.Swap(0)
	if d == 0 && l.failed == 0 {
		return
	}
	l.emit(&Record{Type: TypeGap, Dropped: d, Failed: l.failed})
	l.pendingGap.n++
	l.pendingGap.dropped += d
	l.pendingGap.failed += l.failed
	l.failed = 0
}

func (l *Log) sign() {
	r := &Record{Type: TypeSig, KeyID: l.keyID}
	l.emit(r)
	l.m.signatures.Inc()
}

// emit chains, encodes and buffers one record. The bytes written, without
// the newline, are what the next record's prev hashes.
func (l *Log) emit(r *Record) {
	l.seq++
	r.Seq = l.seq
	if r.Time == "" || r.Type != TypeDecision {
		r.Time = time.Now().UTC().Format(time.RFC3339Nano)
	}
	r.Prev = l.head
	if r.Type == TypeSig {
		r.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(l.cfg.SigningKey, sigMessage(r.Seq, r.Time, r.Prev)))
		l.sinceSig = 0
	} else {
		l.sinceSig++
	}
	l.buf.Reset()
	_ = l.enc.Encode(r) // a Record always encodes
	b := l.buf.Bytes()
	sum := sha256.Sum256(b[:len(b)-1])
	l.head = hex.EncodeToString(sum[:])
	if l.broken {
		// The last write may have left a cut line: end it, so this record
		// starts a line of its own.
		l.bw.WriteByte('\n')
		l.broken = false
	}
	l.bw.Write(b)
	l.pending++
}

// flush writes the buffered records. On failure they are lost: the chain
// goes back to the last record known written, and the next gap record
// counts the loss.
func (l *Log) flush() error {
	if l.pending == 0 && l.bw.Buffered() == 0 {
		return nil
	}
	err := l.bw.Flush()
	if err == nil {
		l.m.written.Add(float64(l.pending))
		l.pending = 0
		l.pendingGap = gapCounts{}
		l.durable.seq, l.durable.head = l.seq, l.head
		return nil
	}
	l.m.writeErrors.Inc()
	// A lost gap record is not a lost decision: its counts carry over to
	// the next gap record instead.
	lost := l.pending - l.pendingGap.n
	l.m.failed.Add(float64(lost))
	l.failed += uint64(lost) + l.pendingGap.failed
	l.dropped.Add(l.pendingGap.dropped)
	l.pendingGap = gapCounts{}
	l.pending = 0
	l.seq, l.head = l.durable.seq, l.durable.head
	l.bw.Reset(l.out)
	l.broken = true
	if now := time.Now(); now.Sub(l.lastErrLog) > time.Minute {
		l.lastErrLog = now
		l.log.Error("audit log write failed; records lost (a gap record will count them)", "path", l.cfg.Path, "err", err)
	}
	return err
}

// rotate is Reopen on the writer goroutine.
func (l *Log) rotate() error {
	if l.file == nil {
		return nil
	}
	f, err := openFile(l.cfg.Path)
	if err != nil {
		l.log.Error("audit log reopen failed; still writing to the old file", "path", l.cfg.Path, "err", err)
		return err
	}
	l.noteGap()
	if l.cfg.SigningKey != nil && l.sinceSig > 0 {
		l.sign()
	}
	ferr := l.flush()
	if err := l.file.Close(); err != nil && ferr == nil {
		ferr = err
	}
	l.file, l.out = f, f
	l.bw.Reset(f)
	l.broken = false
	l.emit(&Record{Type: TypeRotate})
	if err := l.flush(); err != nil {
		return err
	}
	return ferr
}

// finish ends the log at Close.
func (l *Log) finish() error {
	l.noteGap()
	l.emit(&Record{Type: TypeClose})
	if l.cfg.SigningKey != nil {
		l.sign()
	}
	err := l.flush()
	if l.file != nil {
		if cerr := l.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
