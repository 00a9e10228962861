package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Record types. A decision record has no type; the others are written by
// the log itself.
const (
	TypeDecision = ""       // one decision (the default)
	TypeOpen     = "open"   // first record a process writes; prev "" starts a new chain
	TypeRotate   = "rotate" // first record of a file after Reopen; prev is the old file's head
	TypeGap      = "gap"    // records were lost (queue full or write errors); counts them
	TypeSig      = "sig"    // an Ed25519 signature over the chain head
	TypeClose    = "close"  // the log was closed cleanly
)

// Format names the record format in the open record.
const Format = "llmfw-audit/1"

// MaxEvidence bounds the evidence entries of one record; the rest are
// counted in EvidenceOmitted.
const MaxEvidence = 32

// Record is one line of the audit log. Its canonical form is the exact line
// bytes the log wrote, without the newline: the next record's Prev is the
// hex SHA-256 of those bytes, so verification never re-encodes a record.
type Record struct {
	Seq  uint64 `json:"seq"`
	Time string `json:"time"` // RFC 3339, nanoseconds, UTC
	Type string `json:"type,omitempty"`

	DecisionID      string     `json:"decision_id,omitempty"`
	Transport       string     `json:"transport,omitempty"` // "ext_proc" or "http"
	API             string     `json:"api,omitempty"`       // codec or endpoint, when the caller knows it
	Direction       string     `json:"direction,omitempty"`
	Route           string     `json:"route,omitempty"`
	Policy          string     `json:"policy,omitempty"`
	PolicyVersion   string     `json:"policy_version,omitempty"`
	Action          string     `json:"action,omitempty"` // allow, redact, block, shadow_<would_be>
	WouldBe         string     `json:"would_be,omitempty"`
	Cause           string     `json:"cause,omitempty"`
	Status          int        `json:"status,omitempty"`
	Cached          bool       `json:"cached,omitempty"`
	Rules           []string   `json:"rules,omitempty"`
	Evidence        []Evidence `json:"evidence,omitempty"`
	EvidenceOmitted int        `json:"evidence_omitted,omitempty"`
	LatencyUS       int64      `json:"latency_us,omitempty"`

	// Open records.
	Format        string `json:"format,omitempty"`
	EvidenceKeyID string `json:"evidence_key_id,omitempty"` // tells which evidence hashes are comparable
	EvidenceScope string `json:"evidence_scope,omitempty"`  // "configured" or "process"
	// Gap records: records lost before this point.
	Dropped uint64 `json:"dropped,omitempty"` // the queue was full
	Failed  uint64 `json:"failed,omitempty"`  // a write failed
	// Signature (and open) records: the signing key's fingerprint.
	KeyID string `json:"key_id,omitempty"`

	Prev string `json:"prev"`          // hex SHA-256 of the previous line; "" only at a chain's start
	Sig  string `json:"sig,omitempty"` // base64 Ed25519 signature (sig records)
}

// Evidence ties a rule to the text it matched without the text: Hash is the
// hex HMAC-SHA256 of the matched bytes under the log's evidence key. Equal
// hashes under one key mean equal text; a hash cannot be reversed or
// brute-forced without the key.
type Evidence struct {
	Rule   string `json:"rule"`
	Entity string `json:"entity,omitempty"`
	Hash   string `json:"hash"`
}

// actionLabel is the record's action: the enforced action, or in shadow mode
// shadow_ and what enforcing would do (as in llmfw_decisions_total).
func actionLabel(v *pipeline.Verdict) string {
	if v.Shadow {
		return "shadow_" + v.WouldBe.String()
	}
	return v.Action.String()
}

// FromVerdict builds the record of one decision: rule IDs from the findings
// and, when segs is given, an evidence hash of each finding span's text.
// It never copies text into the record. A nil Log returns an empty record
// (audit off). transport is "ext_proc" or "http".
func (l *Log) FromVerdict(v *pipeline.Verdict, dir pipeline.Direction, transport, route string, segs []pipeline.Segment, latency time.Duration) Record {
	if l == nil || v == nil {
		return Record{}
	}
	r := Record{
		Time:          time.Now().UTC().Format(time.RFC3339Nano),
		DecisionID:    v.DecisionID,
		Transport:     transport,
		Direction:     dir.String(),
		Route:         route,
		Policy:        v.Policy,
		PolicyVersion: v.PolicyVersion,
		Action:        actionLabel(v),
		WouldBe:       v.WouldBe.String(),
		Cause:         string(v.Cause),
		Status:        v.Status,
		Cached:        v.Cached,
		Rules:         v.Rules(),
		LatencyUS:     latency.Microseconds(),
	}
	if len(segs) > 0 {
		r.Evidence, r.EvidenceOmitted = l.evidence.of(v.Findings, segs)
	}
	return r
}

// evidenceHasher computes evidence hashes under one key. HMAC states are
// pooled: building one costs more than hashing a short match.
type evidenceHasher struct {
	key  []byte
	pool *sync.Pool
}

func newEvidenceHasher(key []byte) evidenceHasher {
	key = bytes.Clone(key)
	return evidenceHasher{key: key, pool: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

func (e evidenceHasher) of(findings []pipeline.Finding, segs []pipeline.Segment) (out []Evidence, omitted int) {
	var mac hash.Hash
	var sum [sha256.Size]byte
	for _, f := range findings {
		for _, sp := range f.Spans {
			if sp.Segment < 0 || sp.Segment >= len(segs) {
				continue
			}
			text := segs[sp.Segment].Text
			if sp.Start < 0 || sp.End > len(text) || sp.Start >= sp.End {
				continue
			}
			if mac == nil {
				mac = e.pool.Get().(hash.Hash)
				defer e.pool.Put(mac)
			}
			mac.Reset()
			io.WriteString(mac, text[sp.Start:sp.End])
			ev := Evidence{Rule: f.Rule, Entity: f.Entity, Hash: hex.EncodeToString(mac.Sum(sum[:0]))}
			if slices.Contains(out, ev) {
				continue
			}
			if len(out) == MaxEvidence {
				omitted++
				continue
			}
			out = append(out, ev)
		}
	}
	return out, omitted
}

// keyID is a short, public name of the evidence key: equal IDs mean evidence
// hashes are comparable. It reveals nothing about the key.
func (e evidenceHasher) keyID() string {
	mac := hmac.New(sha256.New, e.key)
	mac.Write([]byte("llmfw-audit evidence key id"))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}
