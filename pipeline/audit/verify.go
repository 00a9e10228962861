package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Problem kinds. Tampering kinds fail verification; the others are warnings.
const (
	KindInvalid     = "invalid_record"  // tampering: not a record (not JSON, no seq, bad time, cut line)
	KindEdited      = "edited"          // tampering: prev does not hash the record before it
	KindSeqGap      = "seq_gap"         // tampering: records missing (removed)
	KindSeqOrder    = "seq_order"       // tampering: reordered, duplicated or inserted records
	KindBadSig      = "bad_signature"   // tampering: a signature that does not verify (forged or edited)
	KindUnsigned    = "unsigned_tail"   // warning (tampering with RequireSigned): records after the last valid signature
	KindAnchor      = "external_anchor" // warning: the first record continues a chain from an earlier file
	KindRestart     = "chain_restart"   // warning: a new chain starts (process restart after a cut line, or stdout logs)
	KindGap         = "gap"             // warning: the writer lost records (queue full, write errors)
	KindOpenEnd     = "open_end"        // warning: no close record at the end
	KindUncheckedSg = "signatures_unchecked"
)

// maxLine bounds one record line when verifying.
const maxLine = 1 << 20

// Problem is one finding of Verify, located by file, line and seq.
type Problem struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line"`
	Seq    uint64 `json:"seq,omitempty"`
	Kind   string `json:"kind"`
	Tamper bool   `json:"tamper"`
	Detail string `json:"detail"`
}

func (p Problem) String() string {
	sev := "warning"
	if p.Tamper {
		sev = "TAMPERING"
	}
	loc := fmt.Sprintf("line %d", p.Line)
	if p.File != "" {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Seq != 0 {
		loc += fmt.Sprintf(" seq %d", p.Seq)
	}
	return fmt.Sprintf("%s: %s: %s: %s", loc, sev, p.Kind, p.Detail)
}

// Report is the result of Verify.
type Report struct {
	Files      int `json:"files"`
	Records    int `json:"records"`
	Decisions  int `json:"decisions"`
	Chains     int `json:"chains"`
	Signatures int `json:"signatures_verified"`
	// SignaturesChecked says a public key was given.
	SignaturesChecked bool `json:"signatures_checked"`
	// Unsigned counts records after the last valid signature (only when
	// signatures were checked).
	Unsigned int       `json:"unsigned"`
	Dropped  uint64    `json:"dropped"`
	Failed   uint64    `json:"failed"`
	Problems []Problem `json:"problems"`
}

// Tampered says whether any problem is tampering.
func (r *Report) Tampered() bool {
	for _, p := range r.Problems {
		if p.Tamper {
			return true
		}
	}
	return false
}

// OK says whether the log verified: no tampering, and with requireSigned
// every record covered by a valid signature.
func (r *Report) OK(requireSigned bool) bool {
	if r.Tampered() {
		return false
	}
	return !requireSigned || (r.SignaturesChecked && r.Unsigned == 0 && r.Records > 0)
}

// WriteText prints the problems, one a line, and a summary.
func (r *Report) WriteText(w io.Writer, requireSigned bool) {
	for _, p := range r.Problems {
		fmt.Fprintln(w, p.String())
	}
	sigs := fmt.Sprintf("%d signatures verified, %d records unsigned", r.Signatures, r.Unsigned)
	if !r.SignaturesChecked {
		sigs = "signatures not checked (no public key)"
	}
	fmt.Fprintf(w, "%d records (%d decisions) in %d files, %d chains; %s; %d dropped, %d lost to write errors\n",
		r.Records, r.Decisions, r.Files, r.Chains, sigs, r.Dropped, r.Failed)
	switch {
	case r.Tampered():
		fmt.Fprintln(w, "result: TAMPERED")
	case !r.OK(requireSigned):
		fmt.Fprintln(w, "result: NOT SIGNED (--require-signed)")
	default:
		fmt.Fprintln(w, "result: OK")
	}
}

// Source is one input to Verify: a name for the report and its records.
type Source struct {
	Name string
	R    io.Reader
}

// VerifyFiles verifies files in the given order as one chain.
func VerifyFiles(pub ed25519.PublicKey, paths ...string) (*Report, error) {
	srcs := make([]Source, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		srcs = append(srcs, Source{Name: p, R: f})
	}
	return Verify(pub, srcs...)
}

// Verify reads the sources in order as one chain and reports every record
// that was edited, removed, inserted or reordered, every signature that
// does not verify under pub (nil: signatures are not checked), and the
// records after the last valid signature. The error is for unreadable
// input only; findings are in the report.
func Verify(pub ed25519.PublicKey, srcs ...Source) (*Report, error) {
	v := verifier{pub: pub, rep: &Report{SignaturesChecked: pub != nil}}
	if pub != nil {
		v.keyID = KeyID(pub)
	}
	for _, s := range srcs {
		v.rep.Files++
		if err := v.source(s); err != nil {
			return v.rep, fmt.Errorf("read %s: %w", s.Name, err)
		}
	}
	v.end()
	return v.rep, nil
}

type verifier struct {
	pub   ed25519.PublicKey
	keyID string
	rep   *Report

	file     string
	line     int
	started  bool   // a record was read
	resync   bool   // the line before was unreadable: take the next record as an anchor
	head     string // hash of the last record
	seq      uint64
	headFile string // where the last record was, for messages
	headLine int
	lastTyp  string
	prevTyp  string

	unsignedFrom    string // where the first record after the last valid signature is
	unsignedFromSeq uint64
	unsignedLine    int
	unsigned        int
	sigsSeen        int
}

func (v *verifier) problem(seq uint64, kind string, tamper bool, format string, args ...any) {
	v.rep.Problems = append(v.rep.Problems, Problem{File: v.file, Line: v.line, Seq: seq, Kind: kind, Tamper: tamper, Detail: fmt.Sprintf(format, args...)})
}

func (v *verifier) source(s Source) error {
	v.file, v.line = s.Name, 0
	br := bufio.NewReaderSize(s.R, 64<<10)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) <= maxLine {
				long = append(long, chunk...)
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) > 0 {
			v.line++
			cut := line[len(line)-1] != '\n'
			line = bytes.TrimSuffix(line, []byte("\n"))
			v.record(line, cut)
		}
		if err != nil {
			return nil
		}
	}
}

func (v *verifier) record(line []byte, cut bool) {
	if len(bytes.TrimSpace(line)) == 0 {
		return // the writer ends a cut line with a newline after a failed write
	}
	var r chainFields
	switch {
	case len(line) > maxLine:
		v.problem(0, KindInvalid, true, "line longer than %d bytes", maxLine)
		v.resync = true
		return
	case json.Unmarshal(line, &r) != nil:
		detail := "not a JSON record"
		if cut {
			detail = "not a JSON record (the file ends inside it: cut line)"
		}
		v.problem(0, KindInvalid, true, "%s", detail)
		v.resync = true
		return
	case r.Seq == 0:
		v.problem(0, KindInvalid, true, "record has no seq")
		v.resync = true
		return
	}
	if _, err := time.Parse(time.RFC3339Nano, r.Time); err != nil {
		v.problem(r.Seq, KindInvalid, true, "time %q is not RFC 3339", r.Time)
	}
	sum := sha256.Sum256(line)
	h := hex.EncodeToString(sum[:])
	v.rep.Records++
	if r.Type == TypeDecision {
		v.rep.Decisions++
	}

	switch {
	case !v.started:
		v.rep.Chains++
		if r.Prev != "" {
			v.problem(r.Seq, KindAnchor, false, "the first record continues a chain whose head is %s (a rotated file's successor, or its beginning was removed); verify it after the files before it", short(r.Prev))
		}
	case v.resync:
		// The line before was already reported; start over from here.
		if r.Prev == "" {
			v.rep.Chains++
		}
	case r.Prev == "" && r.Type == TypeOpen:
		v.rep.Chains++
		v.problem(r.Seq, KindRestart, false, "a new chain starts after %s (a process restart that could not continue the chain, or a log on stdout)", v.headAt())
		v.closeSigned()
	default:
		switch {
		case r.Seq > v.seq+1:
			v.problem(r.Seq, KindSeqGap, true, "seq jumps from %d to %d: %d records removed after %s", v.seq, r.Seq, r.Seq-v.seq-1, v.headAt())
		case r.Seq <= v.seq:
			v.problem(r.Seq, KindSeqOrder, true, "seq %d after %d: records reordered, duplicated or inserted", r.Seq, v.seq)
		case r.Prev != v.head:
			v.problem(r.Seq, KindEdited, true, "prev does not match the record before (%s): that record was edited, or a record was inserted", v.headAt())
		}
	}
	v.started, v.resync = true, false

	switch r.Type {
	case TypeSig:
		v.sigsSeen++
		if v.pub != nil {
			if err := v.checkSig(&r); err != "" {
				v.problem(r.Seq, KindBadSig, true, "%s", err)
			} else {
				v.rep.Signatures++
				v.unsigned = 0
			}
		}
	case TypeGap:
		v.rep.Dropped += r.Dropped
		v.rep.Failed += r.Failed
		v.problem(r.Seq, KindGap, false, "the writer lost records here: %d dropped (queue full), %d failed writes", r.Dropped, r.Failed)
	}
	if r.Type != TypeSig {
		if v.unsigned == 0 {
			v.unsignedFrom, v.unsignedLine, v.unsignedFromSeq = v.file, v.line, r.Seq
		}
		v.unsigned++
	}
	v.head, v.seq = h, r.Seq
	v.headFile, v.headLine = v.file, v.line
	v.prevTyp, v.lastTyp = v.lastTyp, r.Type
}

// chainFields are the fields verification reads; decoding only them is
// several times faster than a whole Record.
type chainFields struct {
	Seq     uint64 `json:"seq"`
	Time    string `json:"time"`
	Type    string `json:"type"`
	Dropped uint64 `json:"dropped"`
	Failed  uint64 `json:"failed"`
	KeyID   string `json:"key_id"`
	Prev    string `json:"prev"`
	Sig     string `json:"sig"`
}

func (v *verifier) checkSig(r *chainFields) string {
	if r.KeyID != "" && r.KeyID != v.keyID {
		return fmt.Sprintf("signed with key %s, not the given key %s", r.KeyID, v.keyID)
	}
	sig, err := base64.StdEncoding.DecodeString(r.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "the signature is not a base64 Ed25519 signature"
	}
	if !ed25519.Verify(v.pub, sigMessage(r.Seq, r.Time, r.Prev), sig) {
		return "the signature does not verify: the signature record or the chain head it signs was changed"
	}
	return ""
}

// closeSigned reports the unsigned records of a chain that ended.
func (v *verifier) closeSigned() {
	if v.pub == nil || v.unsigned == 0 {
		return
	}
	v.rep.Unsigned += v.unsigned
	v.rep.Problems = append(v.rep.Problems, Problem{File: v.unsignedFrom, Line: v.unsignedLine, Seq: v.unsignedFromSeq, Kind: KindUnsigned,
		Detail: fmt.Sprintf("%d records from here on are not covered by a valid signature (the writer is running or crashed, or the tail was changed or cut)", v.unsigned)})
	v.unsigned = 0
}

func (v *verifier) end() {
	if !v.started {
		return
	}
	v.closeSigned()
	if v.pub == nil && v.sigsSeen > 0 {
		v.rep.Problems = append(v.rep.Problems, Problem{File: v.file, Line: v.line, Kind: KindUncheckedSg,
			Detail: fmt.Sprintf("%d signature records not checked: give the public key (--pubkey)", v.sigsSeen)})
	}
	if v.lastTyp != TypeClose && !(v.lastTyp == TypeSig && v.prevTyp == TypeClose) {
		v.rep.Problems = append(v.rep.Problems, Problem{File: v.file, Line: v.line, Seq: v.seq, Kind: KindOpenEnd,
			Detail: "the log does not end with a close record: it is still written or was rotated, the process crashed, or the tail was cut"})
	}
}

// headAt says where the last record was.
func (v *verifier) headAt() string {
	if v.headFile != "" {
		return fmt.Sprintf("%s:%d, seq %d", v.headFile, v.headLine, v.seq)
	}
	return fmt.Sprintf("line %d, seq %d", v.headLine, v.seq)
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
