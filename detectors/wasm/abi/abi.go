// Package abi is the wire format between the firewall and a WebAssembly rule
// (ABI version 1, documented in docs/wasm-rules.md). It is shared by the host
// (detectors/wasm) and by rules written in Go (detectors/wasm/guest), so it
// must stay free of host-only imports: it builds for GOOS=wasip1 too.
package abi

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Version is the ABI version this package speaks; a module's
// llmfw_abi_version export must return it.
const Version = 1

// Export names of ABI version 1.
const (
	ExportVersion   = "llmfw_abi_version" // () -> i32
	ExportAlloc     = "llmfw_alloc"       // (size i32) -> ptr i32
	ExportDetect    = "llmfw_detect"      // (ptr i32, len i32) -> i64 (ptr<<32 | len, 0 = no finding)
	ExportConfigure = "llmfw_configure"   // (ptr i32, len i32) -> i32 (0 = accepted); optional
	ExportMemory    = "memory"
)

// Direction values in a request.
const (
	DirRequest  = 1
	DirResponse = 2
)

// Kind values in a request (pipeline.SegmentKind).
const (
	KindText     = 0
	KindToolName = 1
	KindToolArgs = 2
	KindLayer    = 3 // a payload the normalizer decoded out of the segment (base64, hex, ...)
)

// Action values in a verdict. The policy still decides: ActionBlock raises
// the score to 1 and ActionAllow withdraws the finding.
const (
	ActionNone   = 0 // the score decides
	ActionAllow  = 1 // explicit all-clear: no finding
	ActionRedact = 2 // spans are what to cut out
	ActionBlock  = 3 // score 1
)

// MaxScore is a score of 1.0: scores travel as thousandths.
const MaxScore = 1000

// Limits on a verdict; a module that exceeds them is faulty.
const (
	MaxRuleLen   = 64
	MaxEntityLen = 64
	MaxSpans     = 1024
)

// RequestHeaderLen is the fixed part of an encoded request.
const RequestHeaderLen = 36

// VerdictHeaderLen is the fixed part of an encoded verdict.
const VerdictHeaderLen = 28

// Request is what one llmfw_detect call looks at: one segment's normalized
// text and what is known about it.
type Request struct {
	Direction  uint32
	Segment    uint32 // index of the segment in the message
	Segments   uint32 // number of segments in the message
	Kind       uint32
	Role       string
	Provenance string
	Route      string
	Text       string
}

// RequestLen is the encoded size of r.
func (r *Request) RequestLen() int {
	return RequestHeaderLen + len(r.Role) + len(r.Provenance) + len(r.Route) + len(r.Text)
}

// PutRequest encodes r into dst, which must be RequestLen bytes long.
//
//	0  u32 abi version      4  u32 direction   8  u32 segment index
//	12 u32 segment count    16 u32 kind        20 u32 role length R
//	24 u32 provenance len P 28 u32 route len T 32 u32 text length N
//	36 role[R] provenance[P] route[T] text[N]
func PutRequest(dst []byte, r *Request) {
	le := binary.LittleEndian
	le.PutUint32(dst[0:], Version)
	le.PutUint32(dst[4:], r.Direction)
	le.PutUint32(dst[8:], r.Segment)
	le.PutUint32(dst[12:], r.Segments)
	le.PutUint32(dst[16:], r.Kind)
	le.PutUint32(dst[20:], uint32(len(r.Role)))
	le.PutUint32(dst[24:], uint32(len(r.Provenance)))
	le.PutUint32(dst[28:], uint32(len(r.Route)))
	le.PutUint32(dst[32:], uint32(len(r.Text)))
	p := RequestHeaderLen
	p += copy(dst[p:], r.Role)
	p += copy(dst[p:], r.Provenance)
	p += copy(dst[p:], r.Route)
	copy(dst[p:], r.Text)
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed")

// DecodeRequest reads an encoded request. The strings copy b's bytes.
func DecodeRequest(b []byte) (Request, error) {
	return DecodeRequestFunc(b, func(b []byte) string { return string(b) })
}

// DecodeRequestFunc is DecodeRequest with str turning byte ranges of b into
// strings (a guest passes unsafe.String to avoid copying the text).
func DecodeRequestFunc(b []byte, str func([]byte) string) (Request, error) {
	var r Request
	if len(b) < RequestHeaderLen {
		return r, malformed("request", itoa(len(b))+" bytes, want at least "+itoa(RequestHeaderLen))
	}
	le := binary.LittleEndian
	if v := le.Uint32(b); v != Version {
		return r, malformed("request", "version "+itoa(v)+", want "+itoa(Version))
	}
	r.Direction = le.Uint32(b[4:])
	r.Segment = le.Uint32(b[8:])
	r.Segments = le.Uint32(b[12:])
	r.Kind = le.Uint32(b[16:])
	rest := b[RequestHeaderLen:]
	var lens [4]uint64
	total := uint64(0)
	for i := range lens {
		lens[i] = uint64(le.Uint32(b[20+4*i:]))
		total += lens[i]
	}
	if total != uint64(len(rest)) {
		return r, malformed("request", "lengths add up to "+itoa(total)+", body has "+itoa(len(rest))+" bytes")
	}
	take := func(n uint64) string {
		s := str(rest[:n])
		rest = rest[n:]
		return s
	}
	r.Role, r.Provenance, r.Route, r.Text = take(lens[0]), take(lens[1]), take(lens[2]), take(lens[3])
	return r, nil
}

// Span is a half-open byte range of the request's Text.
type Span struct{ Start, End uint32 }

// Verdict is what a module returns when it has something to report.
type Verdict struct {
	Score  uint32 // thousandths: 0..1000
	Action uint32
	Status uint32 // suggested HTTP status when it blocks; 0 = the policy's
	Rule   string // suffix of the rule ID: "" → "wasm.<name>", "x" → "wasm.<name>.x"
	Entity string
	Spans  []Span
}

// VerdictLen is the encoded size of v.
func (v *Verdict) VerdictLen() int {
	return VerdictHeaderLen + len(v.Rule) + len(v.Entity) + 8*len(v.Spans)
}

// AppendVerdict appends the encoding of v to dst.
//
//	0  u32 abi version  4  u32 score (thousandths)  8  u32 action
//	12 u32 status       16 u32 rule length L        20 u32 entity length E
//	24 u32 span count S 28 rule[L] entity[E] S × (u32 start, u32 end)
func AppendVerdict(dst []byte, v *Verdict) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, Version)
	dst = le.AppendUint32(dst, v.Score)
	dst = le.AppendUint32(dst, v.Action)
	dst = le.AppendUint32(dst, v.Status)
	dst = le.AppendUint32(dst, uint32(len(v.Rule)))
	dst = le.AppendUint32(dst, uint32(len(v.Entity)))
	dst = le.AppendUint32(dst, uint32(len(v.Spans)))
	dst = append(dst, v.Rule...)
	dst = append(dst, v.Entity...)
	for _, s := range v.Spans {
		dst = le.AppendUint32(dst, s.Start)
		dst = le.AppendUint32(dst, s.End)
	}
	return dst
}

// DecodeVerdict reads and validates an encoded verdict for a request whose
// text is textLen bytes long. Anything out of range is an error: the host
// treats a module that breaks the format as a failing module.
func DecodeVerdict(b []byte, textLen int) (Verdict, error) {
	var v Verdict
	if len(b) < VerdictHeaderLen {
		return v, malformed("verdict", itoa(len(b))+" bytes, want at least "+itoa(VerdictHeaderLen))
	}
	le := binary.LittleEndian
	if ver := le.Uint32(b); ver != Version {
		return v, malformed("verdict", "version "+itoa(ver)+", want "+itoa(Version))
	}
	v.Score, v.Action, v.Status = le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])
	ruleLen, entLen, spans := uint64(le.Uint32(b[16:])), uint64(le.Uint32(b[20:])), uint64(le.Uint32(b[24:]))
	switch {
	case v.Score > MaxScore:
		return v, malformed("verdict", "score "+itoa(v.Score)+", want 0.."+itoa(MaxScore)+" thousandths")
	case v.Action > ActionBlock:
		return v, malformed("verdict", "action "+itoa(v.Action)+", want 0..3")
	case v.Status != 0 && (v.Status < 400 || v.Status > 599):
		return v, malformed("verdict", "status "+itoa(v.Status)+", want 0 or 400..599")
	case ruleLen > MaxRuleLen:
		return v, malformed("verdict", "rule is "+itoa(ruleLen)+" bytes, want at most "+itoa(MaxRuleLen))
	case entLen > MaxEntityLen:
		return v, malformed("verdict", "entity is "+itoa(entLen)+" bytes, want at most "+itoa(MaxEntityLen))
	case spans > MaxSpans:
		return v, malformed("verdict", itoa(spans)+" spans, want at most "+itoa(MaxSpans))
	}
	if want := VerdictHeaderLen + ruleLen + entLen + 8*spans; uint64(len(b)) != want {
		return v, malformed("verdict", itoa(len(b))+" bytes, header says "+itoa(want))
	}
	p := uint64(VerdictHeaderLen)
	rule := b[p : p+ruleLen]
	p += ruleLen
	ent := b[p : p+entLen]
	p += entLen
	if !validRule(rule) {
		return v, malformed("verdict", "rule must be lower-case letters, digits, '_', '-' or '.' and not a reserved name")
	}
	if !validEntity(ent) {
		return v, malformed("verdict", "entity must be upper-case letters, digits or '_'")
	}
	v.Rule, v.Entity = string(rule), string(ent)
	if spans > 0 {
		v.Spans = make([]Span, spans)
	}
	for i := range v.Spans {
		s := Span{le.Uint32(b[p:]), le.Uint32(b[p+4:])}
		p += 8
		if s.Start > s.End || uint64(s.End) > uint64(textLen) {
			return v, malformed("verdict", "span "+itoa(i)+" "+"["+itoa(s.Start)+","+itoa(s.End)+")"+" outside the "+itoa(textLen)+"-byte text")
		}
		v.Spans[i] = s
	}
	return v, nil
}

// Reserved rule suffixes: the host uses them for its own findings.
const (
	SuffixFailure     = "failure"
	SuffixBreakerOpen = "breaker_open"
)

func validRule(b []byte) bool {
	s := string(b)
	if s == SuffixFailure || s == SuffixBreakerOpen {
		return false
	}
	if len(b) > 0 && (b[0] == '.' || b[len(b)-1] == '.') {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func validEntity(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Pack joins a pointer and a length into llmfw_detect's result.
func Pack(ptr, n uint32) uint64 { return uint64(ptr)<<32 | uint64(n) }

// Unpack splits llmfw_detect's result.
func Unpack(r uint64) (ptr, n uint32) { return uint32(r >> 32), uint32(r) }

// malformedError keeps the package free of fmt, which would double the size
// of every Go rule built with it.
type malformedError struct{ what, detail string }

func (e *malformedError) Error() string { return e.what + ": malformed: " + e.detail }
func (e *malformedError) Unwrap() error { return ErrMalformed }

func malformed(what, detail string) error { return &malformedError{what, detail} }

func itoa[T uint32 | uint64 | int](n T) string { return strconv.FormatUint(uint64(n), 10) }
