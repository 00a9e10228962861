package harm

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Category is a content category; its name is the rule suffix.
type Category uint8

// Categories, in report order. The kids-only categories come last.
const (
	Sexual Category = iota
	SelfHarm
	Violence
	Hate
	Weapons
	Drugs
	Profanity
	Crime
	Cybercrime
	Harassment
	Other
	ContactRequest
	Grooming
	PersonalInfo
	Link
	NumCategories

	catIntent  = 0xfe // internal: a request frame ("how do i", "ways to")
	catMention = 0xfd // internal: a word talked about, not used ("the word", "meaning of")
	catBenign  = 0xfc // internal: a context that makes a nearby hit harmless
)

var categoryNames = [NumCategories]string{
	"sexual", "self_harm", "violence", "hate", "weapons", "drugs", "profanity",
	"crime", "cybercrime", "harassment", "other",
	"contact_request", "grooming", "personal_info", "link",
}

func (c Category) String() string {
	if c < NumCategories {
		return categoryNames[c]
	}
	return "internal"
}

// Rule returns the category's rule ID.
func (c Category) Rule() string {
	if c >= ContactRequest {
		return "content.kids." + categoryNames[c]
	}
	return "content." + categoryNames[c]
}

// Rule flags.
const (
	// needIntent: the words are harmful as a request or a stated plan;
	// without a request frame nearby the score is scaled by noIntent.
	needIntent uint8 = 1 << iota
	// mentionable: a word that is often talked about rather than used
	// (slurs, swear words); quoted or mentioned, its score is halved.
	mentionable
	// contextual: a topic word (suicide, heroin) that is harmless in an
	// educational, medical or prevention context nearby.
	contextual
	// anywhere: for intent frames that may follow the harmful words
	// ("... without getting caught").
	anywhere
)

const noIntent = 0.6

// lexRule is one compiled lexicon pattern.
type lexRule struct {
	cat   Category
	score float64
	flags uint8
	elems []elem
}

// term is a lexicon entry as written in the tables.
type term struct {
	cat     Category
	score   float64
	flags   uint8
	pattern string
}

// subTerm is matched as a substring, for scripts written without spaces
// between words or with attached affixes (Chinese, Korean, Thai, Arabic,
// Bengali).
type subTerm struct {
	cat   Category
	score float64
	text  string
}

// lexicon is the compiled rule set; built once in init, read-only after.
type lexicon struct {
	rules      []lexRule
	exact      map[uint64][]int32
	prefix     map[uint64][]int32
	prefixLens []uint8
	filter     [1 << 16 / 64]uint64 // Bloom-style pre-check for both maps
	subs       []subTerm
}

var lex = compile(allTerms(), allSubTerms())

func compile(terms []term, subs []subTerm) *lexicon {
	l := &lexicon{exact: map[uint64][]int32{}, prefix: map[uint64][]int32{}, subs: subs}
	lens := map[uint8]bool{}
	for _, t := range terms {
		els := parseElems(t.pattern)
		if len(els) == 0 {
			panic("harm: empty lexicon pattern")
		}
		id := int32(len(l.rules))
		l.rules = append(l.rules, lexRule{cat: t.cat, score: t.score, flags: t.flags, elems: els})
		for _, h := range els[0].exact {
			l.exact[h] = appendID(l.exact[h], id)
			l.filter[(h&0xffff)/64] |= 1 << (h & 63)
		}
		for _, sq := range els[0].seqs {
			l.exact[sq[0]] = appendID(l.exact[sq[0]], id)
			l.filter[(sq[0]&0xffff)/64] |= 1 << (sq[0] & 63)
		}
		for _, p := range els[0].pre {
			l.prefix[p.h] = appendID(l.prefix[p.h], id)
			l.filter[(p.h&0xffff)/64] |= 1 << (p.h & 63)
			lens[p.n] = true
		}
	}
	for n := uint8(minPrefix); n <= maxPrefix; n++ {
		if lens[n] {
			l.prefixLens = append(l.prefixLens, n)
		}
	}
	return l
}

func appendID(ids []int32, id int32) []int32 {
	if len(ids) > 0 && ids[len(ids)-1] == id {
		return ids
	}
	return append(ids, id)
}

func (l *lexicon) maybe(h uint64) bool { return l.filter[(h&0xffff)/64]&(1<<(h&63)) != 0 }

// hit is one lexicon match in a scanned text.
type hit struct {
	cat        Category
	score      float64
	flags      uint8
	first, end int32 // token range [first, end)
	start, stp int32 // byte span in the scanned text
}

// scratch is the per-call working memory, pooled.
type scratch struct {
	toks []token
	hits []hit
}

var scratchPool = sync.Pool{New: func() any { return &scratch{toks: make([]token, 0, 1024), hits: make([]hit, 0, 64)} }}

// matchAll appends every lexicon hit in s to hits.
func (l *lexicon) matchAll(s string, toks []token, hits []hit) []hit {
	for i := range toks {
		t := &toks[i]
		if l.maybe(t.h) {
			for _, id := range l.exact[t.h] {
				hits = l.extend(hits, id, toks, i)
			}
		}
		for _, n := range l.prefixLens {
			if t.n < n {
				break
			}
			if h := t.pre[n]; l.maybe(h) {
				for _, id := range l.prefix[h] {
					if l.rules[id].elems[0].matchPrefix(n, h) && !l.rules[id].elems[0].matchExact(t.h) {
						hits = l.extend(hits, id, toks, i)
					}
				}
			}
		}
	}
	if len(l.subs) > 0 && hasWideScript(s) {
		for _, st := range l.subs {
			if k := strings.Index(s, st.text); k >= 0 {
				hits = append(hits, hit{cat: st.cat, score: st.score, first: -1, end: -1, start: int32(k), stp: int32(k + len(st.text))})
			}
		}
	}
	return hits
}

func (e *elem) matchExact(h uint64) bool {
	_, ok := slices.BinarySearch(e.exact, h)
	return ok
}

func (e *elem) matchPrefix(n uint8, h uint64) bool {
	for _, p := range e.pre {
		if p.n == n && p.h == h {
			return true
		}
	}
	return false
}

// extend tries to complete rule id whose first element starts at toks[i].
func (l *lexicon) extend(hits []hit, id int32, toks []token, i int) []hit {
	r := &l.rules[id]
	k := r.elems[0].match(toks, i)
	if k == 0 {
		return hits
	}
	pos := i + k
	for e := range r.elems[1:] {
		el := &r.elems[1+e]
		found := 0
		for j := pos; j <= pos+int(el.gap) && j < len(toks); j++ {
			if n := el.match(toks, j); n > 0 {
				found, pos = n, j+n
				break
			}
		}
		if found == 0 {
			return hits
		}
	}
	return append(hits, hit{cat: r.cat, score: r.score, flags: r.flags, first: int32(i), end: int32(pos),
		start: toks[i].start, stp: toks[pos-1].end})
}

// hasWideScript reports whether s holds letters of a script the substring
// terms cover (CJK, Hangul, Thai, Arabic, Bengali).
func hasWideScript(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0xD8 {
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= 0x0600 && r <= 0x06FF, r >= 0x0980 && r <= 0x09FF, r >= 0x0E00 && r <= 0x0E7F,
			r >= 0x3040 && r <= 0x9FFF, r >= 0xAC00 && r <= 0xD7AF:
			return true
		}
	}
	return false
}

// quoteBytes are characters that, around a word, mark it as quoted.
func quotedAt(s string, start, end int) bool {
	before, after := prevRune(s, start), nextRune(s, end)
	isQ := func(r rune) bool {
		return r == '"' || r == '\'' || r == '“' || r == '”' || r == '‘' || r == '’' || r == '«' || r == '»' || r == '`' || r == '*'
	}
	return isQ(before) && isQ(after)
}

func prevRune(s string, i int) rune {
	if i <= 0 || i > len(s) {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

func nextRune(s string, i int) rune {
	if i < 0 || i >= len(s) {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// resolve applies the context flags to the hits of one text: request
// frames, mentions and harmless contexts. It returns the hits that count
// (internal categories removed), in place.
func resolve(s string, hits []hit) []hit {
	var intents, mentions, benign []hit
	n := 0
	for _, h := range hits {
		switch h.cat {
		case catIntent:
			intents = append(intents, h)
		case catMention:
			mentions = append(mentions, h)
		case catBenign:
			benign = append(benign, h)
		}
	}
	for _, h := range hits {
		if h.cat >= NumCategories {
			continue
		}
		if h.first >= 0 {
			if h.flags&needIntent != 0 && !near(intents, h, 16, true) {
				h.score *= noIntent
			}
			if h.flags&mentionable != 0 && (near(mentions, h, 4, false) || quotedAt(s, int(h.start), int(h.stp))) {
				h.score *= 0.5
			}
			if h.flags&contextual != 0 && near(benign, h, 5, false) {
				h.score *= 0.5
			}
		}
		hits[n] = h
		n++
	}
	return hits[:n]
}

// near reports whether one of ctx lies within w tokens before h (or, for
// frames flagged anywhere or when after is false, after it).
func near(ctx []hit, h hit, w int32, requestFrame bool) bool {
	for _, c := range ctx {
		if c.first < 0 {
			continue
		}
		if c.end <= h.first+1 && h.first-c.end <= w {
			return true
		}
		if (!requestFrame || c.flags&anywhere != 0) && c.first >= h.end-1 && c.first-h.end <= w {
			return true
		}
		if !requestFrame && c.first < h.end && c.end > h.first {
			return true // overlapping context ("suicide prevention")
		}
	}
	return false
}
