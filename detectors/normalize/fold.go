package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// toLatin maps letters of other scripts that look like a Latin letter to
// that letter (after the idea of Unicode's confusables.txt, restricted to
// single letters). It is applied only inside words that are otherwise Latin,
// or to words made only of look-alikes amid Latin text, so Russian and Greek
// text stays as it is.
var toLatin = map[rune]byte{
	// Cyrillic, upper and lower case.
	'А': 'a', 'а': 'a', 'В': 'b', 'в': 'b', 'Е': 'e', 'е': 'e', 'Ё': 'e', 'ё': 'e',
	'К': 'k', 'к': 'k', 'М': 'm', 'м': 'm', 'Н': 'h', 'н': 'h', 'О': 'o', 'о': 'o',
	'Р': 'p', 'р': 'p', 'С': 'c', 'с': 'c', 'Т': 't', 'т': 't', 'У': 'y', 'у': 'y',
	'Х': 'x', 'х': 'x', 'Ѕ': 's', 'ѕ': 's', 'І': 'i', 'і': 'i', 'Ї': 'i', 'ї': 'i',
	'Ј': 'j', 'ј': 'j', 'Һ': 'h', 'һ': 'h', 'Ԁ': 'd', 'ԁ': 'd', 'Ԛ': 'q', 'ԛ': 'q',
	'Ԝ': 'w', 'ԝ': 'w', 'Ӏ': 'l', 'ӏ': 'l', 'Ү': 'y', 'ү': 'y', 'Ь': 'b', 'Ɡ': 'g',
	'Ԍ': 'g', 'ԍ': 'g', 'Ꙅ': 's', 'ꙅ': 's', 'Ѵ': 'v', 'ѵ': 'v',
	// Greek.
	'Α': 'a', 'α': 'a', 'Β': 'b', 'β': 'b', 'Ε': 'e', 'ε': 'e', 'Ζ': 'z', 'Η': 'h',
	'Ι': 'i', 'ι': 'i', 'Κ': 'k', 'κ': 'k', 'Μ': 'm', 'Ν': 'n', 'ν': 'v', 'Ο': 'o',
	'ο': 'o', 'Ρ': 'p', 'ρ': 'p', 'Τ': 't', 'τ': 't', 'Υ': 'y', 'υ': 'u', 'Χ': 'x',
	'χ': 'x', 'γ': 'y', 'η': 'n', 'ω': 'w', 'ϲ': 'c', 'Ϲ': 'c', 'ϳ': 'j', 'Ϳ': 'j',
	'ά': 'a', 'έ': 'e', 'ί': 'i', 'ό': 'o', 'ύ': 'u', 'ϊ': 'i', 'ϋ': 'u',
	// Armenian.
	'օ': 'o', 'Օ': 'o', 'ս': 'u', 'Ս': 'u', 'հ': 'h', 'ց': 'g', 'ո': 'n',
	'զ': 'q', 'ա': 'w',
	// Cherokee capitals that copy Latin ones.
	'Ꭺ': 'a', 'Ᏼ': 'b', 'Ꮯ': 'c', 'Ꭼ': 'e', 'Ꮐ': 'g', 'Ꮋ': 'h', 'Ꭻ': 'j', 'Ꮶ': 'k',
	'Ꮮ': 'l', 'Ꮇ': 'm', 'Ꮲ': 'p', 'Ꮪ': 's', 'Ꭲ': 't', 'Ꮩ': 'v', 'Ꮃ': 'w', 'Ꮓ': 'z',
}

// latinLook maps Latin-script letters that imitate a basic Latin letter
// (small capitals, IPA letters, dotless i) to it. They are folded wherever
// they occur; all but dotless i (ordinary in Turkish) count as homoglyphs.
var latinLook = map[rune]byte{
	'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ꜰ': 'f', 'ɢ': 'g', 'ʜ': 'h',
	'ɪ': 'i', 'ᴊ': 'j', 'ᴋ': 'k', 'ʟ': 'l', 'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o', 'ᴘ': 'p',
	'ǫ': 'q', 'ʀ': 'r', 'ꜱ': 's', 'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ʏ': 'y',
	'ᴢ': 'z', 'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i', 'ɒ': 'a', 'ɐ': 'a', 'ȷ': 'j', 'ı': 'i',
	'ℓ': 'l', 'ꞵ': 'b', 'ɯ': 'w', 'ʋ': 'u', 'ɾ': 'r', 'ꭓ': 'x', 'ꮪ': 's',
}

// toCyrillic maps Latin letters to their Cyrillic look-alikes, used inside
// words that are otherwise Cyrillic ("игнoрируй" with a Latin o).
var toCyrillic = map[rune]rune{
	'a': 'а', 'c': 'с', 'e': 'е', 'o': 'о', 'p': 'р', 'x': 'х', 'y': 'у', 'k': 'к',
	'i': 'і', 'b': 'в', 'h': 'н', 'm': 'м', 't': 'т',
}

func isLatin(r rune) bool {
	if r < utf8.RuneSelf {
		return r|0x20 >= 'a' && r|0x20 <= 'z'
	}
	return unicode.Is(unicode.Latin, r)
}

func isMark(r rune) bool {
	return r >= 0x0300 && unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}

// genericMark reports combining marks from the general-purpose diacritic
// blocks that zalgo text stacks; script-specific marks (Hebrew points,
// Devanagari vowel signs) are never dropped.
func genericMark(r rune) bool {
	return r >= 0x0300 && r <= 0x036F || r >= 0x0483 && r <= 0x0489 ||
		r >= 0x1AB0 && r <= 0x1AFF || r >= 0x1DC0 && r <= 0x1DFF ||
		r >= 0x20D0 && r <= 0x20FF || r >= 0xFE20 && r <= 0xFE2F
}

// zalgoBase reports bases whose leftover generic marks are dropped: after
// NFKC composed every real accent of Latin, Greek and Cyrillic text.
func zalgoBase(r rune) bool {
	return (r < 0x0530 || r >= 0x1E00 && r <= 0x1FFF) && unicode.IsLetter(r)
}

const (
	clsNone = iota
	clsLatin
	clsOther
	clsAmbiguous // made only of look-alikes: decided by its neighbours
)

const (
	modeKeep = iota
	modeLatin
	modeCyrillic
)

type word struct {
	start, end int
	cls, mode  uint8
}

// fold lower-cases in, folds confusables word by word and drops stacked
// combining marks. The result maps to the original through off.
func fold(in []byte, off []int32, st *state) ([]byte, []int32) {
	words := classify(in)
	out := make([]byte, 0, len(in))
	outOff := make([]int32, 0, len(in)+1)
	var base rune
	lastStart := 0 // where the output of the current base letter begins
	marks, maxMarks, dropped := 0, 0, 0
	w := 0
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(in); {
		c := in[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c >= 'a' && c <= 'z' {
				for w < len(words) && words[w].end <= i {
					w++
				}
				if w < len(words) && words[w].start <= i && words[w].mode == modeCyrillic {
					if cr, ok := toCyrillic[rune(c)]; ok {
						st.signals[sigHomoglyph]++
						lastStart = len(out)
						out = utf8.AppendRune(out, cr)
						outOff = append(outOff, off[i], off[i])
						base, marks = cr, 0
						i++
						continue
					}
				}
			}
			lastStart = len(out)
			out = append(out, c)
			outOff = append(outOff, off[i])
			base, marks = rune(c), 0
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		for w < len(words) && words[w].end <= i {
			w++
		}
		mode := uint8(modeKeep)
		if w < len(words) && words[w].start <= i {
			mode = words[w].mode
		}
		if isMark(r) {
			if genericMark(r) && zalgoBase(base) {
				if marks == 0 {
					// NFKC already composed the first mark into the base
					// (i + U+0301 → í); in a stack of marks that accent is
					// zalgo too, so the base goes back to its plain letter.
					out, outOff = unaccentLast(out, outOff, lastStart)
				}
				marks++
				maxMarks = max(maxMarks, marks)
				dropped++
				i += n
				continue
			}
		} else {
			base, marks = r, 0
		}
		var m []byte
		if b, ok := latinLook[r]; ok {
			buf[0] = b
			m = buf[:1]
			if r != 'ı' {
				st.signals[sigHomoglyph]++
			}
		} else if b, ok := toLatin[r]; ok && mode == modeLatin {
			buf[0] = b
			m = buf[:1]
			st.signals[sigHomoglyph]++
		} else {
			lr := unicode.ToLower(r)
			if mode == modeCyrillic {
				if cr, ok := toCyrillic[lr]; ok {
					lr = cr
					st.signals[sigHomoglyph]++
				}
			}
			m = utf8.AppendRune(buf[:0], lr)
		}
		lastStart = len(out)
		out = append(out, m...)
		if len(m) == n {
			outOff = append(outOff, off[i:i+n]...)
		} else {
			for range m {
				outOff = append(outOff, off[i])
			}
		}
		i += n
	}
	if maxMarks > 2 || dropped >= 3 {
		st.signals[sigZalgo] += dropped
	}
	outOff = append(outOff, off[len(in)])
	return out, outOff
}

// unaccentLast replaces the letter written at out[start:] by its base letter
// when it is a precomposed Latin letter with diacritics.
func unaccentLast(out []byte, off []int32, start int) ([]byte, []int32) {
	if start >= len(out) {
		return out, off
	}
	r, n := utf8.DecodeRune(out[start:])
	if r < utf8.RuneSelf || start+n != len(out) {
		return out, off
	}
	d := norm.NFD.String(string(r))
	b, _ := utf8.DecodeRuneInString(d)
	if b >= utf8.RuneSelf || b == r || !unicode.IsLetter(b) {
		return out, off
	}
	first := off[start]
	out = append(out[:start], byte(b))
	off = append(off[:start], first)
	return out, off
}

// asciiBase is the basic Latin letter of an accented Latin letter (é → e,
// Ì → I), or 0.
func asciiBase(r rune) byte {
	if r < utf8.RuneSelf || int(r) >= len(accentBase) {
		return 0
	}
	return accentBase[r]
}

// accentBase[r] is the basic Latin letter of the accented Latin letter r
// (Latin-1 Supplement to Latin Extended Additional), from its canonical
// decomposition; 0 for anything else.
var accentBase = func() (t [0x1F00]byte) {
	for r := rune(0xC0); r < 0x1F00; r++ {
		if !unicode.Is(unicode.Latin, r) {
			continue
		}
		b, _ := utf8.DecodeRuneInString(norm.NFD.String(string(r)))
		if b != r && b < utf8.RuneSelf && b|0x20 >= 'a' && b|0x20 <= 'z' {
			t[r] = byte(b)
		}
	}
	return t
}()

// markHeavy reports a text in which at least a third of the Latin letters
// (and at least 8) carry accents: accent marks used as obfuscation (an
// accent on every vowel is about 40 % of English letters), not as
// spelling. French, German, Spanish or Czech prose accents a few to 15
// letters in a hundred and gets no such reading; a Vietnamese or Yoruba
// text may, which only adds a reading to match.
func markHeavy(in string) bool {
	letters, marked := 0, 0
	for i := 0; i < len(in); {
		c := in[i]
		if c < utf8.RuneSelf {
			if c|0x20 >= 'a' && c|0x20 <= 'z' {
				letters++
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(in[i:])
		i += n
		if unicode.Is(unicode.Latin, r) {
			letters++
			if asciiBase(r) != 0 {
				marked++
			}
		}
	}
	return marked >= 8 && 3*marked >= letters
}

// unaccented is t with every accented Latin letter replaced by its basic
// letter, and the count replaced.
func unaccented(t string) (string, int) {
	var b strings.Builder
	b.Grow(len(t))
	n := 0
	for _, r := range t {
		if a := asciiBase(r); a != 0 {
			b.WriteByte(a | 0x20)
			n++
			continue
		}
		b.WriteRune(r)
	}
	return b.String(), n
}

// classify finds the words of in (runs of letters and marks) and decides
// for each whether its look-alike letters are folded to Latin, its Latin
// letters to Cyrillic, or nothing changes.
func classify(in []byte) []word {
	var words []word
	hasOther := false
	for i := 0; i < len(in); {
		r, n := utf8.DecodeRune(in[i:])
		if !unicode.IsLetter(r) {
			i += n
			continue
		}
		start := i
		nLatin, nConf, nOther, nCyr := 0, 0, 0, 0
		cyrFoldable := true
		for i < len(in) {
			r, n = utf8.DecodeRune(in[i:])
			if isMark(r) {
				i += n
				continue
			}
			if !unicode.IsLetter(r) {
				break
			}
			i += n
			isCyr := r >= 0x0400 && r <= 0x052F
			if isCyr {
				nCyr++
			}
			switch {
			case isLatin(r):
				nLatin++
				if _, ok := toCyrillic[unicode.ToLower(r)]; !ok {
					cyrFoldable = false
				}
			case toLatin[r] != 0:
				nConf++
			default:
				nOther++
			}
		}
		w := word{start: start, end: i}
		switch {
		case nConf > 0 && nLatin > 0 && nLatin >= 2*nOther:
			w.cls, w.mode = clsLatin, modeLatin
		case nCyr > 0 && nLatin > 0 && nOther > 0 && nLatin < nCyr && cyrFoldable:
			w.cls, w.mode = clsOther, modeCyrillic
		case nConf > 0 && nLatin == 0 && nOther == 0:
			w.cls = clsAmbiguous
		case nLatin > nOther+nConf:
			w.cls = clsLatin
		case nOther+nConf > 0:
			w.cls = clsOther
		}
		if w.cls == clsOther {
			hasOther = true
		}
		words = append(words, w)
	}
	// A word of look-alikes only is folded when its nearest decided
	// neighbours are Latin and none is of another script.
	for k := range words {
		if words[k].cls != clsAmbiguous {
			continue
		}
		left, right := neighbour(words, k, -1), neighbour(words, k, 1)
		fold := false
		switch {
		case left == clsOther || right == clsOther:
		case left == clsLatin || right == clsLatin:
			fold = true
		default:
			fold = !hasOther
		}
		if fold {
			words[k].mode = modeLatin
		}
	}
	return words
}

func neighbour(words []word, k, dir int) uint8 {
	for j, steps := k+dir, 0; j >= 0 && j < len(words) && steps < 4; j, steps = j+dir, steps+1 {
		if c := words[j].cls; c != clsAmbiguous && c != clsNone {
			return c
		}
	}
	return clsNone
}
