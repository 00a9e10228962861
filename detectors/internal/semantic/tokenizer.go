package semantic

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

//go:embed vocab.txt
var vocabTxt string

// maxWordRunes is BERT's limit: a longer word is one unknown token.
const maxWordRunes = 100

// Tokenizer is BERT's uncased tokenizer (basic tokenization, then greedy
// longest-match WordPiece) over the encoder's vocabulary. Safe for
// concurrent use.
type Tokenizer struct {
	ids  map[string]int32 // word-initial pieces
	cont map[string]int32 // continuation pieces, without their "##"
	unk  int32
	size int
}

var (
	defaultOnce sync.Once
	defaultTok  *Tokenizer
)

// Default returns the tokenizer of the embedded vocabulary.
func Default() *Tokenizer {
	defaultOnce.Do(func() { defaultTok = newTokenizer(vocabTxt) })
	return defaultTok
}

func newTokenizer(vocab string) *Tokenizer {
	t := &Tokenizer{ids: map[string]int32{}, cont: map[string]int32{}, unk: -1}
	for i, line := range strings.Split(strings.TrimSuffix(vocab, "\n"), "\n") {
		switch {
		case line == "[UNK]":
			t.unk = int32(i)
		case strings.HasPrefix(line, "##") && len(line) > 2:
			t.cont[line[2:]] = int32(i)
		default:
			t.ids[line] = int32(i)
		}
		t.size = i + 1
	}
	if t.unk < 0 {
		panic("semantic: vocabulary has no [UNK]")
	}
	return t
}

// Size is the number of vocabulary entries (token IDs are below it).
func (t *Tokenizer) Size() int { return t.size }

// Unknown is the ID of [UNK].
func (t *Tokenizer) Unknown() int32 { return t.unk }

// scratch buffers for accent stripping, reused across calls.
var wordPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Counts describes a tokenized text: Words is the number of words (and
// punctuation marks), Whole those that are one vocabulary entry as they
// stand. Whole/Words is a cheap measure of how much of the text is in the
// encoder's (English) vocabulary.
type Counts struct{ Words, Whole int }

// Append appends the token IDs of text to dst and returns it. Text is
// lower-cased and stripped of accents as BERT's uncased tokenizer does;
// normalized views (already lower case) take the fast path. Stops after
// limit IDs when limit > 0.
func (t *Tokenizer) Append(dst []int32, text string, limit int) []int32 {
	dst, _ = t.AppendCounted(dst, text, limit)
	return dst
}

// AppendCounted is Append that also counts words.
func (t *Tokenizer) AppendCounted(dst []int32, text string, limit int) ([]int32, Counts) {
	var cnt Counts
	bp := wordPool.Get().(*[]byte)
	buf := *bp
	start := -1 // start of the current word
	ascii := true
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := text[start:end]
		if !ascii {
			buf = foldWord(buf[:0], w)
			w = string(buf) // rare path: non-ASCII words
		}
		dst = t.word(dst, w, &cnt)
		start, ascii = -1, true
	}
	for i := 0; i < len(text); {
		if limit > 0 && len(dst) >= limit {
			break
		}
		c := text[i]
		if c < utf8.RuneSelf {
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				flush(i)
			case c < 0x20 || c == 0x7f:
				// Removed, not a break (BERT's clean_text): "a\x00b" is "ab".
				ascii = false
			case isASCIIPunct(c):
				flush(i)
				dst = t.word(dst, text[i:i+1], &cnt)
			default:
				if start < 0 {
					start = i
				}
				if 'A' <= c && c <= 'Z' {
					ascii = false // folded on the slow path
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsSpace(r):
			flush(i)
		case r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			ascii = false // removed inside a word (foldWord), nothing outside one
		case unicode.Is(unicode.Mn, r) && start < 0:
			flush(i)
		case unicode.IsPunct(r) || isCJK(r):
			flush(i)
			dst = t.word(dst, foldRune(text[i:i+n]), &cnt)
		default:
			if start < 0 {
				start = i
			}
			ascii = false
		}
		i += n
	}
	flush(len(text))
	if limit > 0 && len(dst) > limit {
		dst = dst[:limit]
	}
	*bp = buf
	wordPool.Put(bp)
	return dst, cnt
}

// word appends the WordPiece IDs of one word (greedy longest match; a word
// with an unmatchable remainder is one [UNK], as in BERT).
func (t *Tokenizer) word(dst []int32, w string, cnt *Counts) []int32 {
	if w == "" {
		return dst
	}
	cnt.Words++
	if utf8.RuneCountInString(w) > maxWordRunes {
		return append(dst, t.unk)
	}
	if id, ok := t.ids[w]; ok {
		cnt.Whole++
		return append(dst, id)
	}
	mark := len(dst)
	for s := 0; s < len(w); {
		table := t.ids
		if s > 0 {
			table = t.cont
		}
		e := len(w)
		var id int32 = -1
		for e > s {
			if v, ok := table[w[s:e]]; ok {
				id = v
				break
			}
			// Step back one whole character.
			_, n := utf8.DecodeLastRuneInString(w[s:e])
			e -= n
		}
		if id < 0 {
			return append(dst[:mark], t.unk)
		}
		dst = append(dst, id)
		s = e
	}
	return dst
}

// foldWord lower-cases w and strips its combining marks (NFD, then marks
// dropped), as BERT's uncased tokenizer does.
func foldWord(dst []byte, w string) []byte {
	var it norm.Iter
	it.InitString(norm.NFD, w)
	for !it.Done() {
		seg := it.Next()
		for len(seg) > 0 {
			r, n := utf8.DecodeRune(seg)
			seg = seg[n:]
			if unicode.Is(unicode.Mn, r) || r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				continue
			}
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
	}
	return dst
}

func foldRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if l := unicode.ToLower(r); l != r {
		return string(l)
	}
	return s
}

// isASCIIPunct is BERT's punctuation test for ASCII: every non-alphanumeric
// printable character.
func isASCIIPunct(c byte) bool {
	return c >= 33 && c <= 47 || c >= 58 && c <= 64 || c >= 91 && c <= 96 || c >= 123 && c <= 126
}

// isCJK: the CJK ideograph blocks BERT splits into one token per character.
func isCJK(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F || r >= 0x2B740 && r <= 0x2B81F || r >= 0x2B820 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF || r >= 0x2F800 && r <= 0x2FA1F
}
