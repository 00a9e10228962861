package rules

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Match is one rule firing on a text. Start and End are byte offsets into the
// text given to Find.
type Match struct {
	Rule   string
	Family string
	Start  int
	End    int
	Score  float64
}

// Info describes one rule for documentation and scan output.
type Info struct {
	ID          string
	Family      string
	Description string
	Score       float64
	Languages   []string
}

// Families, in documentation order.
var Families = []string{
	"override", "persona", "extraction", "refusal_suppression", "prefix_injection",
	"payload_splitting", "role_tag", "indirect", "encoded", "framing", "data",
}

// rule is one entry of the catalogue: a rule ID and the patterns (usually one
// per language) that make it fire.
type rule struct {
	name  string // ID suffix after the family
	fam   string
	score float64
	desc  string
	pats  []pattern
}

// pattern is one regular expression with the anchors that must occur in the
// text before it is worth running. Every match of re must start at an anchor
// (a word starting with one of words, or one of the substrings lits), so the
// engine only tries re anchored at anchor positions; a free pattern need only
// contain an anchor and is searched in a small window around it (kept for
// CJK patterns whose rare words come last).
type pattern struct {
	lang  string
	words []string // word prefixes (Latin, Cyrillic); two-byte anchors match whole words
	lits  []string // substrings (CJK, punctuation, emoji)
	// need: word prefixes of which at least one must occur somewhere in the
	// text; a second cheap filter for patterns whose anchors are common words.
	need []string
	// span: the longest match in bytes (default defaultSpan); the regexp is
	// run on this many bytes from the anchor.
	span int
	re   string
	// lineStart: the match must begin at an anchor that starts a line (or the
	// text, or follows sentence punctuation).
	lineStart bool
	free      bool
}

type compiled struct {
	src       string // the pattern as written (for tests)
	rule      int
	re        *regexp.Regexp  // \A-anchored unless free
	lits      []*windowString // substring anchors
	lineStart bool
	free      bool
	need      *windowSet // need words, nil for none
	span      int
	// req: literals one of which every match contains (see requiredLits),
	// nil when none is known
	req *windowSet
	// branches: the top-level alternatives of an anchored pattern, tried in
	// order instead of re (see branch)
	branches []branch
	// head: a necessary prefix of re (anchored patterns), or nil
	head    *regexp.Regexp
	headLen int
}

// anchor is a word prefix of pattern pat; a need word of pattern p is stored
// with pat = -(p+1).
type anchor struct {
	prefix string
	pat    int32
}

// maxPatterns bounds the catalogue so that need flags fit a fixed bitset.
const maxPatterns = 512

// Patterns are bounded (no unbounded gaps): a match never extends further
// than its span (defaultSpan unless set) from its start, and a free
// pattern's match lies within freeWindow bytes of its anchor.
const (
	defaultSpan = 256
	freeWindow  = 160
)

// familySpan is the default span of families whose patterns are short
// phrases: a regexp attempt costs in proportion to its window, and these
// families anchor on common words.
var familySpan = map[string]int{FramingFamily: 128, DataFamily: 128}

var (
	ruleIDs   []string
	ruleFams  []string
	ruleScore []float64
	pats      []compiled
	// The patterns are indexed twice: the data family apart from the rest,
	// so a user turn pays nothing for the rules that only count in tool
	// results and documents.
	mainIndex, dataIndex index
)

// index is the anchors of a set of patterns: their words and the patterns
// with substring anchors.
type index struct {
	words   wordTable
	litPats []int32
}

// DataFamily is the family of rules that count only in data the model
// reads (tool results, documents); FindData finds them. FramingFamily is
// the family of weak cues that say how a request is dressed.
const (
	DataFamily    = "data"
	FramingFamily = "framing"
)

func init() {
	if err := build(catalog); err != nil {
		panic(err)
	}
}

func build(cat []rule) error {
	var anchors, dataAnchors []anchor
	windowStrings, nWindowSets = map[string]*windowString{}, 0
	seen := map[string]bool{}
	for ri, r := range cat {
		id := "injection." + r.fam + "." + r.name
		if seen[id] {
			return fmt.Errorf("duplicate rule ID %q", id)
		}
		seen[id] = true
		if !slices.Contains(Families, r.fam) {
			return fmt.Errorf("rule %q: unknown family %q", id, r.fam)
		}
		if r.score <= 0 || r.score > 1 {
			return fmt.Errorf("rule %q: score %v outside (0,1]", id, r.score)
		}
		ruleIDs = append(ruleIDs, id)
		ruleFams = append(ruleFams, r.fam)
		ruleScore = append(ruleScore, r.score)
		for _, p := range r.pats {
			src := p.re
			if !p.free {
				src = `\A(?:` + src + `)`
			}
			re, err := regexp.Compile(src)
			if err != nil {
				return fmt.Errorf("rule %q (%s): %w", id, p.lang, err)
			}
			if len(p.words) == 0 && len(p.lits) == 0 {
				return fmt.Errorf("rule %q (%s): pattern without anchors", id, p.lang)
			}
			pi := int32(len(pats))
			anch, idx := &anchors, &mainIndex
			if r.fam == DataFamily {
				anch, idx = &dataAnchors, &dataIndex
			}
			pats = append(pats, compiled{src: p.re, rule: ri, re: re, lits: internWindowStrings(p.lits), lineStart: p.lineStart, free: p.free,
				need: newWindowSet(p.need), span: cmp.Or(p.span, familySpan[r.fam], defaultSpan), req: newWindowSet(requiredLits(src))})
			if !p.free {
				bs, err := splitBranches(p.re)
				if err != nil {
					return fmt.Errorf("rule %q (%s): %w", id, p.lang, err)
				}
				pats[pi].branches = bs
				if bs == nil {
					pats[pi].head, pats[pi].headLen = compileHead(src)
				}
			}
			if len(pats) > maxPatterns {
				return fmt.Errorf("more than %d patterns", maxPatterns)
			}
			for _, w := range p.need {
				if len(w) < 2 || w != strings.ToLower(w) {
					return fmt.Errorf("rule %q (%s): need word %q must be lower-case and at least 2 bytes", id, p.lang, w)
				}
				*anch = append(*anch, anchor{prefix: w, pat: -pi - 1})
			}
			for _, w := range p.words {
				if len(w) < 2 || w != strings.ToLower(w) {
					return fmt.Errorf("rule %q (%s): anchor %q must be lower-case and at least 2 bytes", id, p.lang, w)
				}
				*anch = append(*anch, anchor{prefix: w, pat: pi})
			}
			if len(p.lits) > 0 {
				idx.litPats = append(idx.litPats, pi)
			}
		}
	}
	mainIndex.words, dataIndex.words = newWordTable(anchors), newWordTable(dataAnchors)
	return nil
}

// hit is an anchor occurrence: pattern pat may match around byte pos; for a
// word anchor pat is -1 and the word text[pos:end] is looked up again.
type hit struct{ pat, pos, end int32 }

// Find returns the rules that fire on text (normalized: lower-case, NFKC),
// at most one match per rule, sorted by Start; the data family's rules are
// FindData's.
func Find(text string) []Match { return find(text, &mainIndex, nil) }

// FindData returns the data family's rules that fire on text, as Find does.
func FindData(text string) []Match { return find(text, &dataIndex, nil) }

// FindEvery returns every match of the given families' rules in text (not
// only each rule's first), sorted by Start; the data family is not among
// them. A long text can hold a cue that matters far from the first one.
func FindEvery(text string, families ...string) []Match {
	return find(text, &mainIndex, func(fam string) bool { return slices.Contains(families, fam) })
}

// find reports each rule's first match, or, when every is set, every match
// of the rules of the families every selects (and nothing else).
func find(text string, idx *index, every func(family string) bool) []Match {
	words, litPats := &idx.words, idx.litPats
	var need needSet
	var hitBuf [256]hit
	hits, hasHigh := scanWords(text, words, hitBuf[:0], &need)
	search := windowSearch{text: text}
	// Most substring anchors begin with a byte the text lacks (<, [, #, a
	// CJK lead byte): one byte search answers for all literals that share
	// it. Of the others, those with a three-byte sequence the text lacks are
	// not searched for either: searching text for a literal that begins with
	// a common letter is slow.
	var lacks, known [256]bool
	for _, pi := range litPats {
		p := &pats[pi]
		for _, ls := range p.lits {
			l := ls.s
			if l[0] >= utf8.RuneSelf && !hasHigh {
				continue
			}
			c := l[0]
			if !known[c] {
				known[c], lacks[c] = true, strings.IndexByte(text, c) < 0
			}
			if lacks[c] || !search.mayOccur(ls) {
				continue
			}
			off := 0
			for n := 0; n < 4; n++ {
				i := strings.Index(text[off:], l)
				if i < 0 {
					break
				}
				hits = append(hits, hit{pi, int32(off + i), 0})
				off += i + len(l)
			}
		}
	}
	if len(hits) == 0 {
		return nil
	}
	var out []Match
	var doneBuf [64]bool
	done := doneBuf[:0]
	if len(ruleIDs) <= len(doneBuf) {
		done = doneBuf[:len(ruleIDs)]
	} else {
		done = make([]bool, len(ruleIDs))
	}
	try := func(pi int32, pos int) {
		p := &pats[pi]
		if done[p.rule] || p.need != nil && !need.has(pi) || every != nil && !every(ruleFams[p.rule]) {
			return
		}
		if s, e, ok := matchAt(p, text, pos, &search); ok {
			done[p.rule] = every == nil
			out = append(out, Match{Rule: ruleIDs[p.rule], Family: ruleFams[p.rule], Start: s, End: e, Score: ruleScore[p.rule]})
		}
	}
	for _, h := range hits {
		if h.pat >= 0 {
			try(h.pat, int(h.pos))
			continue
		}
		w := text[h.pos:h.end]
		last := int32(-1)
		for _, a := range words.lookup(wordKey(w)).anchors {
			if a.pat >= 0 && a.pat != last && matchesWord(w, a.prefix) {
				last = a.pat
				try(a.pat, int(h.pos))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// matchAt tries pattern p at an anchor found at byte pos.
func matchAt(p *compiled, text string, pos int, search *windowSearch) (int, int, bool) {
	if p.lineStart && !startsLine(text, pos) {
		return 0, 0, false
	}
	ws, we := p.window(text, pos)
	if p.need != nil && !search.holds(p.need, ws, we) {
		return 0, 0, false
	}
	if p.branches != nil {
		// branches often share a head: remember the last one's result
		var lastHead *regexp.Regexp
		lastOK := false
		for i := range p.branches {
			b := &p.branches[i]
			if b.req != nil && !search.holds(b.req, ws, we) {
				continue
			}
			if b.head != nil {
				if b.head != lastHead {
					lastHead, lastOK = b.head, headMatches(b.head, b.headLen, text, ws, we)
				}
				if !lastOK {
					continue
				}
			}
			if loc := b.re.FindStringIndex(text[ws:we]); loc != nil {
				return ws + loc[0], ws + loc[1], true
			}
		}
		return 0, 0, false
	}
	if p.req != nil && !search.holds(p.req, ws, we) {
		return 0, 0, false
	}
	if p.head != nil && !headMatches(p.head, p.headLen, text, ws, we) {
		return 0, 0, false
	}
	if loc := p.re.FindStringIndex(text[ws:we]); loc != nil {
		return ws + loc[0], ws + loc[1], true
	}
	return 0, 0, false
}

// window is the part of text pattern p's regexp runs on for an anchor at
// pos: span bytes from it (freeWindow bytes either side for a free pattern),
// widened to whole characters.
func (p *compiled) window(text string, pos int) (ws, we int) {
	ws, we = pos, pos+p.span
	if p.free {
		ws, we = pos-freeWindow, pos+freeWindow
	}
	ws, we = max(0, ws), min(len(text), we)
	for ws > 0 && !utf8.RuneStart(text[ws]) {
		ws--
	}
	for we < len(text) && !utf8.RuneStart(text[we]) {
		we++
	}
	return ws, we
}

// startsLine reports whether the word at pos begins a line, the text, or a
// sentence, allowing markup (#, *, >, -, quotes, brackets) and spaces before it.
func startsLine(text string, pos int) bool {
	i := pos - 1
	for ; i >= 0 && pos-i <= 8; i-- {
		switch text[i] {
		case ' ', '\t', '#', '*', '>', '-', '[', '(', '"', '\'', '`', '_':
			continue
		case '\n', '\r', '.', '!', '?', ':', ';', '|', '}':
			return true
		}
		return false
	}
	return i < 0
}

// scanWords splits text into words (runs of ASCII letters and digits and of
// two-byte UTF-8 letters: Latin with accents, Cyrillic, Greek) and collects
// anchor hits. It also reports whether text holds 3- or 4-byte UTF-8
// sequences (CJK, emoji), so that such substring anchors can be skipped.
func scanWords(text string, words *wordTable, hits []hit, need *needSet) ([]hit, bool) {
	hasHigh := false
	n := len(text)
	i := 0
	for i < n {
		// skip separators
		for i < n {
			c := text[i]
			if c < utf8.RuneSelf {
				if isWordByte(c) {
					break
				}
				i++
				continue
			}
			if c >= 0xC0 && c < 0xE0 && i+1 < n {
				break // a two-byte letter (a lone lead byte at the end is not)
			}
			if c >= 0xE0 {
				hasHigh = true
			}
			i++
		}
		start := i
		for i < n {
			c := text[i]
			if c < utf8.RuneSelf {
				if !isWordByte(c) {
					break
				}
				i++
				continue
			}
			if c >= 0xC0 && c < 0xE0 && i+1 < n {
				i += 2
				continue
			}
			break
		}
		if i-start < 2 {
			continue
		}
		w := text[start:i]
		anchored := false
		ps := words.lookup(wordKey(w)).prefixes
		for j := range ps {
			p := &ps[j]
			if !p.matches(w) {
				continue
			}
			for _, pi := range p.need {
				need.set(pi)
			}
			anchored = anchored || p.anchored
		}
		if anchored {
			hits = append(hits, hit{-1, int32(start), int32(i)})
		}
	}
	return hits, hasHigh
}

// needSet records which patterns had one of their need words in the text.
type needSet [maxPatterns / 64]uint64

func (n *needSet) set(p int32)      { n[p>>6] |= 1 << (p & 63) }
func (n *needSet) has(p int32) bool { return n[p>>6]&(1<<(p&63)) != 0 }

var wordBytes = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	return t
}()

func isWordByte(c byte) bool { return wordBytes[c] }

// All lists every rule, in catalogue order.
func All() []Info {
	out := make([]Info, 0, len(catalog))
	for _, r := range catalog {
		var langs []string
		for _, p := range r.pats {
			if !slices.Contains(langs, p.lang) {
				langs = append(langs, p.lang)
			}
		}
		slices.SortFunc(langs, func(a, b string) int { return langOrder(a) - langOrder(b) })
		out = append(out, Info{ID: "injection." + r.fam + "." + r.name, Family: r.fam, Description: r.desc, Score: r.score, Languages: langs})
	}
	return out
}

// Languages in documentation order; "any" marks language-neutral patterns
// (markup, tags, emoji).
var Languages = []string{"any", "en", "de", "fr", "es", "pt", "it", "zh", "ja", "ru", "nl", "pl", "tr", "id", "vi", "ar", "hi", "ko"}

func langOrder(l string) int {
	if i := slices.Index(Languages, l); i >= 0 {
		return i
	}
	return len(Languages)
}
