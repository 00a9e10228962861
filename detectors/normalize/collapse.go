package normalize

import (
	"unicode"
	"unicode/utf8"
)

// collapse lower-cases ASCII, turns every whitespace run into one space and
// joins the letter-spaced words in runs ("i g n o r e" → "ignore"). off maps
// in to the original (nil: identity); origLen is the original's length.
func collapse(in []byte, off []int32, origLen int, runs []spacedRun) (string, []int32) {
	out := make([]byte, len(in))
	outOff := make([]int32, len(in)+1)
	j := 0
	if off == nil && len(runs) == 0 {
		// Fast path: ASCII text, nothing to join.
		space := false
		i := 0
		for ; i < len(in); i++ {
			c := in[i]
			if c >= utf8.RuneSelf {
				break
			}
			if asciiSpace[c] {
				if space {
					continue
				}
				space = true
				out[j] = ' '
			} else {
				space = false
				out[j] = lower[c]
			}
			outOff[j] = int32(i)
			j++
		}
		if i == len(in) {
			outOff[j] = int32(origLen)
			return stringOf(out[:j]), outOff[:j+1]
		}
		j = 0
	}
	at := func(i int) int32 {
		if off == nil {
			return int32(i)
		}
		return off[i]
	}
	ri := 0
	for i := 0; i < len(in); {
		for ri < len(runs) && runs[ri].end <= i {
			ri++
		}
		inRun := ri < len(runs) && runs[ri].start <= i
		c := in[i]
		if c < utf8.RuneSelf {
			if asciiSpace[c] {
				if !inRun {
					out[j] = ' '
					outOff[j] = at(i)
					j++
				}
				i = skipSpace(in, i)
				continue
			}
			if inRun && spacingSep[c] {
				i++
				continue
			}
			out[j] = lower[c]
			outOff[j] = at(i)
			j++
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		if unicode.IsSpace(r) {
			if !inRun {
				out[j] = ' '
				outOff[j] = at(i)
				j++
			}
			i = skipSpace(in, i)
			continue
		}
		copy(out[j:], in[i:i+n])
		for k := i; k < i+n; k++ {
			outOff[j] = at(k)
			j++
		}
		i += n
	}
	outOff[j] = int32(origLen)
	return stringOf(out[:j]), outOff[:j+1]
}

var lower = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		t[c] = byte(c)
		if c >= 'A' && c <= 'Z' {
			t[c] += 'a' - 'A'
		}
	}
	return t
}()

var asciiSpace = [utf8.RuneSelf]bool{' ': true, '\t': true, '\n': true, '\r': true, '\v': true, '\f': true}

// spacingSep are the characters that may separate spaced-out letters.
var spacingSep = [utf8.RuneSelf]bool{
	' ': true, '\t': true, '.': true, '-': true, '_': true, '*': true, '/': true,
	'|': true, '+': true, '~': true, ',': true,
}

// skipSpace returns the index after the whitespace run starting at i.
func skipSpace(in []byte, i int) int {
	for i < len(in) {
		c := in[i]
		if c < utf8.RuneSelf {
			if !asciiSpace[c] {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		if !unicode.IsSpace(r) {
			return i
		}
		i += n
	}
	return i
}

// leetDigit are the digits that stand for letters in leetspeak.
var leetDigit = [utf8.RuneSelf]bool{'0': true, '1': true, '3': true, '4': true, '5': true, '7': true}

// alnumAt reports whether a letter, digit or mark starts at i, and its size.
func alnumAt(in []byte, i int) (bool, int) {
	c := in[i]
	if c < utf8.RuneSelf {
		return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z', 1
	}
	r, n := utf8.DecodeRune(in[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r) || isMark(r), n
}

// unitAt reports whether a single spaced-out unit (a letter of an
// alphabetic script, or a leet digit) stands alone at i.
func unitAt(in []byte, i int) (ok, letter bool, size int) {
	if i >= len(in) {
		return false, false, 0
	}
	c := in[i]
	if c < utf8.RuneSelf {
		letter = c|0x20 >= 'a' && c|0x20 <= 'z'
		if !letter && !leetDigit[c] {
			return false, false, 1
		}
		size = 1
	} else {
		r, n := utf8.DecodeRune(in[i:])
		size = n
		// Ideographic scripts write words without spaces.
		if r >= 0x2E80 || !unicode.IsLetter(r) {
			return false, false, n
		}
		letter = true
	}
	if j := i + size; j < len(in) {
		if a, _ := alnumAt(in, j); a {
			return false, letter, size
		}
	}
	return true, letter, size
}

type spacedRun struct {
	start, end     int
	units, letters int
	ok             bool
}

// spacedRuns finds letter-spaced words: at least four single letters
// separated by the same one to three separator characters. Shorter runs
// (two or three letters, "a l l") join when only whitespace separates them
// from a qualifying run. The returned runs span first to last letter.
func spacedRuns(in []byte) []spacedRun {
	var runs []spacedRun
	for i := 0; i < len(in); {
		a, n := alnumAt(in, i)
		if !a {
			i += n
			continue
		}
		ok, letter, size := unitAt(in, i)
		if !ok {
			// Skip the rest of this word.
			for i < len(in) {
				if a, n := alnumAt(in, i); a {
					i += n
					continue
				}
				break
			}
			continue
		}
		run := spacedRun{start: i, end: i + size, units: 1}
		if letter {
			run.letters = 1
		}
		var sep byte
		width := 0
		for j := run.end; j < len(in); {
			c := in[j]
			if c >= utf8.RuneSelf || !spacingSep[c] {
				break
			}
			w := 1
			for j+w < len(in) && in[j+w] == c && w < 4 {
				w++
			}
			if w > 3 || width != 0 && (c != sep || w != width) {
				break
			}
			ok, letter, size := unitAt(in, j+w)
			if !ok {
				break
			}
			sep, width = c, w
			run.end = j + w + size
			run.units++
			if letter {
				run.letters++
			}
			j = run.end
		}
		if run.units >= 2 {
			run.ok = run.units >= 4 && run.letters*2 > run.units
			runs = append(runs, run)
		}
		i = run.end
	}
	if len(runs) == 0 {
		return nil
	}
	for k := 1; k < len(runs); k++ {
		if runs[k-1].ok && !runs[k].ok && onlySpace(in[runs[k-1].end:runs[k].start]) && runs[k].letters > 0 {
			runs[k].ok = true
		}
	}
	for k := len(runs) - 2; k >= 0; k-- {
		if runs[k+1].ok && !runs[k].ok && onlySpace(in[runs[k].end:runs[k+1].start]) && runs[k].letters > 0 {
			runs[k].ok = true
		}
	}
	kept := runs[:0]
	for _, r := range runs {
		if r.ok {
			kept = append(kept, r)
		}
	}
	return kept
}

func onlySpace(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	return skipSpace(b, 0) == len(b)
}
