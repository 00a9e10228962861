package harm

import (
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The lexicon matcher works on words: a word is hashed once, after folding
// Latin accents ("tötet" = "totet") and dropping apostrophes ("don't" =
// "dont"), and a pattern is a sequence of word alternatives with optional
// gaps. Hashes make a 4 KB text cost one pass and a few table probes per
// word, with no allocation.

const (
	fnv64Offset = 14695981039346656037
	fnv64Prime  = 1099511628211
	minPrefix   = 3
	maxPrefix   = 10
)

// token is one word of the scanned text.
type token struct {
	start, end int32 // byte span in the scanned text
	n          uint8 // folded length, capped at maxPrefix+1
	h          uint64
	pre        [maxPrefix + 1]uint64 // pre[k] = hash of the first k folded bytes
}

// foldTable maps Latin-1 and Latin Extended-A letters to their base letters.
var foldTable = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th"}
	for r := rune(0xC0); r <= 0x24F; r++ {
		if _, ok := m[r]; ok {
			continue
		}
		d := norm.NFD.String(string(unicode.ToLower(r)))
		if d != "" && d[0] < utf8.RuneSelf && d[0] >= 'a' && d[0] <= 'z' {
			m[r] = d[:1]
		}
	}
	return m
}()

func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == 'ʼ' }

// tokenize appends the words of s to toks.
func tokenize(s string, toks []token) []token {
	var t token
	in := false
	add := func(b byte) {
		t.h ^= uint64(b)
		t.h *= fnv64Prime
		if t.n < maxPrefix+1 {
			t.n++
			if int(t.n) <= maxPrefix {
				t.pre[t.n] = t.h
			}
		}
	}
	flush := func(end int) {
		if in {
			t.end = int32(end)
			toks = append(toks, t)
			in = false
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z':
				if !in {
					t = token{start: int32(i), h: fnv64Offset}
					in = true
				}
				add(c | 0x20*b2u(c >= 'A' && c <= 'Z'))
			case c == '\'' && in && i+1 < len(s) && isASCIILetter(s[i+1]):
				// inside a word: skipped
			default:
				flush(i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isApostrophe(r) && in && i+size < len(s) && isASCIILetter(s[i+size]):
		case unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r):
			if !in {
				t = token{start: int32(i), h: fnv64Offset}
				in = true
			}
			if f, ok := foldTable[r]; ok {
				for k := 0; k < len(f); k++ {
					add(f[k])
				}
			} else {
				for k := 0; k < size; k++ {
					add(s[i+k])
				}
			}
		default:
			flush(i)
		}
		i += size
	}
	flush(len(s))
	return toks
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// hashWord hashes a lexicon word the way tokenize hashes text.
func hashWord(w string) (uint64, int) {
	toks := tokenize(w, nil)
	if len(toks) != 1 {
		panic("harm: lexicon word " + w + " is not one word")
	}
	return toks[0].h, int(toks[0].n)
}

// elem is one position of a pattern: a set of words and word prefixes,
// preceded by a gap of up to gap arbitrary words.
type elem struct {
	exact []uint64   // sorted
	pre   []prefix   // word prefixes
	seqs  [][]uint64 // multi-word alternatives ("be+killed")
	gap   uint8
}

type prefix struct {
	n uint8
	h uint64
}

// match returns how many tokens from toks[j] the element covers (0: none).
func (e *elem) match(toks []token, j int) int {
	t := &toks[j]
	if _, ok := slices.BinarySearch(e.exact, t.h); ok {
		return 1
	}
	for _, p := range e.pre {
		if t.n >= p.n && t.pre[p.n] == p.h {
			return 1
		}
	}
next:
	for _, sq := range e.seqs {
		if j+len(sq) > len(toks) {
			continue
		}
		for k, h := range sq {
			if toks[j+k].h != h {
				continue next
			}
		}
		return len(sq)
	}
	return 0
}

// classes are word sets a pattern names with @name.
var classes = func() map[string]string {
	m := map[string]string{}
	for _, c := range []map[string]string{enClasses, kidsClasses, intlClasses} {
		for k, v := range c {
			m[k] = v
		}
	}
	return m
}()

// parseElems compiles a pattern: words separated by spaces, "a|b" for
// alternatives, "word*" for a prefix, "@class" for a class, "~N" for a gap
// of up to N words before the next element.
func parseElems(pattern string) []elem {
	var out []elem
	gap := uint8(0)
	for _, f := range strings.Fields(pattern) {
		if f[0] == '~' {
			gap = f[1] - '0'
			continue
		}
		var e elem
		e.gap = gap
		gap = 0
		addAlt(&e, f)
		sort.Slice(e.exact, func(i, j int) bool { return e.exact[i] < e.exact[j] })
		out = append(out, e)
	}
	return out
}

func addAlt(e *elem, f string) {
	for _, alt := range strings.Split(f, "|") {
		switch {
		case alt == "":
		case alt[0] == '@':
			cl, ok := classes[alt[1:]]
			if !ok {
				panic("harm: unknown lexicon class " + alt)
			}
			addAlt(e, cl)
		case strings.Contains(alt, "+"):
			var sq []uint64
			for _, w := range strings.Split(alt, "+") {
				h, _ := hashWord(w)
				sq = append(sq, h)
			}
			e.seqs = append(e.seqs, sq)
		case strings.HasSuffix(alt, "*"):
			h, n := hashWord(alt[:len(alt)-1])
			if n < minPrefix || n > maxPrefix {
				panic("harm: prefix " + alt + " must be 3 to 10 letters")
			}
			e.pre = append(e.pre, prefix{uint8(n), h})
		default:
			toks := tokenize(alt, nil)
			switch len(toks) {
			case 0:
				panic("harm: lexicon word " + alt + " has no letters")
			case 1:
				e.exact = append(e.exact, toks[0].h)
			default: // "aide-moi" is two words in text
				sq := make([]uint64, len(toks))
				for k := range toks {
					sq[k] = toks[k].h
				}
				e.seqs = append(e.seqs, sq)
			}
		}
	}
}
