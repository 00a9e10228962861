package secrets

import (
	"context"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// anchorHit is a place where a rule's anchored regex is worth trying.
type anchorHit struct {
	rule, variant int32
	start         int
}

// candidate is one secret found in the current text.
type candidate struct {
	rule       int32
	start, end int // the secret, in bytes of the original text
	score      float64
	dropped    bool // a more specific rule found the same secret
}

// scratch is the per-call working memory, pooled so a clean text allocates
// nothing.
type scratch struct {
	seen  []uint64 // automaton patterns found in the text
	hits  []anchorHit
	cands []candidate
}

// maxHits bounds the anchor list per text; past it (hostile or very large
// input) every active rule falls back to one linear-time whole-text regex.
const maxHits = 8192

// capWindow is the first window an unbounded regex is tried on; gitleaks'
// bounded alternatives fit well inside it.
const capWindow = 320

// ctxEvery is how many regex runs pass between context checks.
const ctxEvery = 64

var scratchPool sync.Pool

func getScratch(rs *ruleSet) *scratch {
	sc, _ := scratchPool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if n := (len(rs.patterns) + 63) / 64; len(sc.seen) != n {
		sc.seen = make([]uint64, n)
	}
	return sc
}

func putScratch(sc *scratch) {
	if cap(sc.hits) > 4*maxHits || cap(sc.cands) > 1024 {
		return // let an outsized buffer go rather than pin it
	}
	scratchPool.Put(sc)
}

// scanText fills sc.cands with the secrets in text.
func (d *Detector) scanText(ctx context.Context, text string, sc *scratch) error {
	rs := d.rs
	clear(sc.seen)
	sc.hits = sc.hits[:0]
	sc.cands = sc.cands[:0]

	// One pass: keywords (gitleaks' prefilter) and anchors together.
	overflow := false
	a := rs.ac
	state := int32(0)
	nc := int32(a.nclass)
	for i := 0; i < len(text); i++ {
		state = a.delta[state*nc+int32(a.class[text[i]])]
		o, e := a.outStart[state], a.outStart[state+1]
		for _, p := range a.outs[o:e] {
			sc.seen[p>>6] |= 1 << (uint(p) & 63)
			pat := &rs.patterns[p]
			if len(pat.anchors) == 0 || overflow {
				continue
			}
			start := i + 1 - pat.length
			for _, ar := range pat.anchors {
				if !d.enabled.has(int(ar.rule)) || rs.rules[ar.rule].variants[ar.variant].wordBound && !wordBoundaryAt(text, start) {
					continue
				}
				if len(sc.hits) == maxHits {
					overflow = true
					break
				}
				sc.hits = append(sc.hits, anchorHit{rule: ar.rule, variant: ar.variant, start: start})
			}
		}
		if i&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}

	active := rs.alwaysOn
	for w, word := range sc.seen {
		for ; word != 0; word &= word - 1 {
			p := w*64 + bits.TrailingZeros64(word)
			if rs.patterns[p].gating {
				active.or(&rs.patterns[p].gates)
			}
		}
	}
	active.and(&d.enabled)
	if !active.any() {
		return nil
	}
	if !overflow {
		slices.SortFunc(sc.hits, func(x, y anchorHit) int {
			if x.rule != y.rule {
				return int(x.rule - y.rule)
			}
			if x.start != y.start {
				return x.start - y.start
			}
			return int(x.variant - y.variant)
		})
	}

	runs := 0
	h := 0 // next unread hit
	for ri, r := range rs.rules {
		if !active.has(ri) {
			continue
		}
		if runs++; runs%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r.variants == nil || overflow {
			for _, m := range r.full.FindAllStringSubmatchIndex(text, -1) {
				d.accept(text, ri, m, 0, sc)
			}
			continue
		}
		for h < len(sc.hits) && int(sc.hits[h].rule) < ri {
			h++
		}
		lastEnd := 0
		for ; h < len(sc.hits) && int(sc.hits[h].rule) == ri; h++ {
			start := sc.hits[h].start
			if start < lastEnd {
				continue // inside the previous match, as FindAll would skip it
			}
			if runs++; runs%ctxEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			v := &r.variants[sc.hits[h].variant]
			if v.hasGate && !v.gate.pass(text, start) {
				continue
			}
			end := len(text)
			switch {
			case v.window > 0:
				end = min(end, start+v.window)
			case v.capped:
				end = min(end, start+capWindow)
			}
			m := v.re.FindStringSubmatchIndex(text[start:end])
			if m != nil && v.capped && end < len(text) && start+m[1] >= end-1 {
				m = v.re.FindStringSubmatchIndex(text[start:])
			}
			if m == nil {
				continue
			}
			lastEnd = start + m[1]
			d.accept(text, ri, m, start, sc)
		}
	}
	d.preferSpecific(text, sc)
	return nil
}

// accept turns one regex match (offsets relative to base; shifted in place)
// into a candidate if it passes gitleaks' entropy floor and allowlists.
func (d *Detector) accept(text string, ri int, m []int, base int, sc *scratch) {
	r := d.rs.rules[ri]
	for i := range m {
		if m[i] >= 0 {
			m[i] += base
		}
	}
	// gitleaks trims newlines off the match before taking the secret.
	ms, me := m[0], m[1]
	for ms < me && text[ms] == '\n' {
		ms++
	}
	for me > ms && text[me-1] == '\n' {
		me--
	}
	s, e := ms, me
	if len(m) > 2 {
		if r.secretGroup > 0 {
			g := 2 * r.secretGroup
			if g+1 >= len(m) || m[g] < 0 {
				return
			}
			s, e = m[g], m[g+1]
		} else {
			for g := 2; g+1 < len(m); g += 2 {
				if m[g] >= 0 && m[g+1] > m[g] {
					s, e = m[g], m[g+1]
					break
				}
			}
		}
	}
	s, e = max(s, ms), min(e, me)
	if e <= s {
		return
	}
	secret := text[s:e]
	h := shannonEntropy(secret)
	if floor := d.entropy[ri]; floor != 0 && h <= floor {
		return
	}
	if r.tier != tierFormat {
		// gitleaks' match starts up to 50 identifier bytes before the keyword.
		for n := 0; ms > 0 && n < 50 && isIdentByte(text[ms-1]); n++ {
			ms--
		}
	}
	if allowed(d.rs.global, text, secret, ms, me) || allowed(r.allow, text, secret, ms, me) {
		return
	}
	sc.cands = append(sc.cands, candidate{rule: int32(ri), start: s, end: e, score: score(r, h)})
}

// allowed applies gitleaks allowlists (their regex and stop-word parts; the
// path and commit parts cannot hold for a prompt).
func allowed(lists []allowlist, text, secret string, ms, me int) bool {
	for i := range lists {
		a := &lists[i]
		target := secret
		switch a.target {
		case "match":
			target = text[ms:me]
		case "line":
			target = lineAround(text, ms, me)
		}
		regexOK := len(a.regexes) > 0 && a.regexAllowed(target)
		stopOK := a.stop.contains(secret)
		if a.and {
			if (len(a.regexes) == 0 || regexOK) && (a.stop.empty() || stopOK) {
				return true
			}
			continue
		}
		if regexOK || stopOK {
			return true
		}
	}
	return false
}

// preferSpecific drops a generic rule's secret when a specific rule found a
// secret containing it on the same line (gitleaks' filter), and exact
// duplicates across rules, keeping the higher score.
func (d *Detector) preferSpecific(text string, sc *scratch) {
	cs := sc.cands
	for i := range cs {
		gi := d.rs.rules[cs[i].rule]
		for j := range cs {
			if i == j || cs[j].dropped {
				continue
			}
			gj := d.rs.rules[cs[j].rule]
			if gi.generic && !gj.generic && sameLine(text, cs[i].start, cs[j].start) &&
				strings.Contains(text[cs[j].start:cs[j].end], text[cs[i].start:cs[i].end]) {
				cs[i].dropped = true
				break
			}
			if cs[i].start == cs[j].start && cs[i].end == cs[j].end &&
				(cs[j].score > cs[i].score || cs[j].score == cs[i].score && j < i) {
				cs[i].dropped = true
				break
			}
		}
	}
}

// score maps a rule's tier (and, for generic rules, the secret's entropy) to
// a confidence. Fixed per tier rather than fitted: see README.md.
func score(r *rule, entropy float64) float64 {
	switch {
	case r.entity == EntityPrivateKey:
		return 0.99
	case r.tier == tierFormat:
		return 0.95
	case r.tier == tierContext:
		return 0.8
	}
	// Generic: 0.55 at gitleaks' 3.5-bit floor, rising to 0.8 for values
	// as random as a 40-character base64 key.
	return min(0.8, max(0.55, 0.55+0.15*(entropy-3.5)))
}

// shannonEntropy is gitleaks' measure: rune frequencies over the byte length.
func shannonEntropy(s string) float64 {
	if s == "" {
		return 0
	}
	var ascii [utf8.RuneSelf]int32
	var other map[rune]int32
	for _, c := range s {
		if c < utf8.RuneSelf {
			ascii[c]++
			continue
		}
		if other == nil {
			other = map[rune]int32{}
		}
		other[c]++
	}
	inv := 1 / float64(len(s))
	h := 0.0
	for _, n := range ascii {
		if n > 0 {
			f := float64(n) * inv
			h -= f * math.Log2(f)
		}
	}
	for _, n := range other {
		f := float64(n) * inv
		h -= f * math.Log2(f)
	}
	return h
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func isIdentByte(c byte) bool { return isWordByte(c) || c == '.' || c == '-' }

// wordBoundaryAt is RE2's \b (ASCII word characters) at byte i of text.
func wordBoundaryAt(text string, i int) bool {
	before := i > 0 && isWordByte(text[i-1])
	after := i < len(text) && isWordByte(text[i])
	return before != after
}

func lineAround(text string, s, e int) string {
	ls := strings.LastIndexByte(text[:s], '\n') + 1
	le := strings.IndexByte(text[e:], '\n')
	if le < 0 {
		return text[ls:]
	}
	return text[ls : e+le]
}

func sameLine(text string, a, b int) bool {
	if a > b {
		a, b = b, a
	}
	return strings.IndexByte(text[a:b], '\n') < 0
}
