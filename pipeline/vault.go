package pipeline

import (
	"strconv"
	"strings"
)

// Vault holds one transaction's pseudonyms: the request's sensitive values
// go upstream as typed tokens (<EMAIL_1>) and the tokens in the answer are
// restored to the values for the client. A vault lives in the transaction's
// memory only: it is never logged, cached or shared, and is dropped with
// the transaction. It is not safe for concurrent use (a transaction's
// messages are handled one at a time).
type Vault struct {
	byValue map[string]string // entity + "\x00" + value → token
	byToken map[string]string // token → value
	counts  map[string]int    // entity → tokens issued
	bytes   int
}

// MaxVaultBytes bounds what one transaction's vault holds; past it Pseudonym
// refuses and the value is masked irreversibly instead.
const MaxVaultBytes = 1 << 20

// Len is the number of pseudonyms issued.
func (vt *Vault) Len() int { return len(vt.byToken) }

// Pseudonym returns the token for value as entity, the same token for the
// same value within the transaction. ok is false when the vault is full.
func (vt *Vault) Pseudonym(entity, value string) (token string, ok bool) {
	entity = tokenEntity(entity)
	key := entity + "\x00" + value
	if t, ok := vt.byValue[key]; ok {
		return t, true
	}
	if vt.bytes+len(key)+len(value)+2*len(entity)+16 > MaxVaultBytes {
		return "", false
	}
	if vt.byValue == nil {
		vt.byValue, vt.byToken, vt.counts = map[string]string{}, map[string]string{}, map[string]int{}
	}
	vt.counts[entity]++
	token = "<" + entity + "_" + strconv.Itoa(vt.counts[entity]) + ">"
	vt.byValue[key] = token
	vt.byToken[token] = value
	vt.bytes += len(key) + len(value) + 2*len(token)
	return token, true
}

// tokenEntity keeps entity names to [A-Z0-9_] so a token can always be
// found again in text; anything else becomes "_".
func tokenEntity(e string) string {
	if e == "" {
		return "PII"
	}
	ok := true
	for i := 0; i < len(e); i++ {
		c := e[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			ok = false
			break
		}
	}
	if ok {
		return e
	}
	b := []byte(strings.ToUpper(e))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Pseudonymize gives every pseudonym redaction its token, reading the
// values from segs. A redaction the vault cannot take (full) keeps its
// irreversible mask. It returns how many got a token.
func (vt *Vault) Pseudonymize(reds []Redaction, segs []Segment) int {
	n := 0
	for i := range reds {
		r := &reds[i]
		if !r.Pseudonym {
			continue
		}
		sp := r.Span
		if sp.Segment < 0 || sp.Segment >= len(segs) || sp.Start < 0 || sp.End > len(segs[sp.Segment].Text) || sp.Start >= sp.End {
			continue
		}
		if tok, ok := vt.Pseudonym(r.Entity, segs[sp.Segment].Text[sp.Start:sp.End]); ok {
			r.With = tok
			n++
		}
	}
	return n
}

// Restorations finds the vault's tokens in segs and returns the redactions
// that put the original values back.
func (vt *Vault) Restorations(segs []Segment) []Redaction {
	if len(vt.byToken) == 0 {
		return nil
	}
	var out []Redaction
	for si, s := range segs {
		text := s.Text
		for i := 0; i < len(text); {
			j := strings.IndexByte(text[i:], '<')
			if j < 0 {
				break
			}
			start := i + j
			end := tokenEnd(text, start)
			if end < 0 {
				i = start + 1
				continue
			}
			if v, ok := vt.byToken[text[start:end]]; ok {
				out = append(out, Redaction{Span: Span{Segment: si, Start: start, End: end}, With: v})
			}
			i = end
		}
	}
	return out
}

// tokenEnd is the end of a <ENTITY_N> token starting at text[start], or -1.
func tokenEnd(text string, start int) int {
	i := start + 1
	underscore := -1
	for ; i < len(text) && i-start < 64; i++ {
		c := text[i]
		switch {
		case c == '>':
			if underscore < 0 || underscore == i-1 {
				return -1
			}
			return i + 1
		case c == '_':
			underscore = i
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
		default:
			return -1
		}
	}
	return -1
}
