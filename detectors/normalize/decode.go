package normalize

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"html"
	"unicode"
	"unicode/utf8"
)

// spanFunc maps a span of the original text of this level to the span a
// layer reports (the outer payload's span below depth 0).
type spanFunc func(start, end int) (int, int)

// Character classes for the run scanner.
const (
	cB64Std = 1 << iota // A–Z a–z 0–9 + /
	cB64URL             // A–Z a–z 0–9 - _
	cHex                // 0–9 a–f A–F
	cB32Up              // A–Z 2–7
	cB32Low             // a–z 2–7
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
		if alnum || b == '+' || b == '/' {
			t[c] |= cB64Std
		}
		if alnum || b == '-' || b == '_' {
			t[c] |= cB64URL
		}
		if b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
			t[c] |= cHex
		}
		if b >= 'A' && b <= 'Z' || b >= '2' && b <= '7' {
			t[c] |= cB32Up
		}
		if b >= 'a' && b <= 'z' || b >= '2' && b <= '7' {
			t[c] |= cB32Low
		}
	}
	return t
}()

// minRun is the shortest base64/base32/hex run worth decoding.
const minRun = 16

// decodeRuns finds runs of base64, base32 and hex characters (hex also as
// space- or \x-separated byte pairs) and reports those that decode to text.
func decodeRuns(src *source, depth int, st *state, span spanFunc) {
	b := src.b
	for i := 0; i < len(b); {
		if class[b[i]] == 0 {
			if b[i] == '\\' && i+1 < len(b) && b[i+1]|0x20 == 'x' {
				if end := decodeEscapedHex(src, i, depth, st, span); end > i {
					i = end
					continue
				}
			}
			i++
			continue
		}
		start := i
		all := uint8(0xFF)
		for i < len(b) && class[b[i]] != 0 {
			all &= class[b[i]]
			i++
		}
		end := i
		for i < len(b) && b[i] == '=' {
			i++
		}
		if end-start == 2 && all&cHex != 0 && i < len(b) && b[i] == ' ' {
			if e := decodeSpacedHex(src, start, depth, st, span); e > start {
				i = e
				continue
			}
		}
		if end-start < minRun {
			continue
		}
		tryRun(src, start, end, i, all, depth, st, span)
	}
}

// tryRun decodes b[start:end] (padding up to padEnd) as hex, base32 or
// base64, whichever gives text first.
func tryRun(src *source, start, end, padEnd int, all uint8, depth int, st *state, span spanFunc) {
	run := src.b[start:end]
	a, z := span(src.at(start), src.at(padEnd))
	if all&cHex != 0 && len(run)%2 == 0 {
		out := make([]byte, len(run)/2)
		if _, err := hex.Decode(out, run); err == nil && textLike(out) {
			if st.addLayer(EncHex, depth, string(out), a, z) {
				st.signals[sigHex]++
			}
			return
		}
	}
	if all&(cB32Up|cB32Low) != 0 && padEnd-start <= 8*(len(run)/8+1) {
		if out, ok := decodeBase32(run); ok && textLike(out) {
			if st.addLayer(EncBase32, depth, string(out), a, z) {
				st.signals[sigBase32]++
			}
			return
		}
	}
	var enc *base64.Encoding
	switch {
	case all&cB64Std != 0:
		enc = base64.RawStdEncoding
	case all&cB64URL != 0:
		enc = base64.RawURLEncoding
	default:
		return
	}
	if len(run)%4 == 1 {
		run = run[:len(run)-1]
	}
	out := make([]byte, enc.DecodedLen(len(run)))
	n, err := enc.Decode(out, run)
	if err != nil {
		// Raw encodings reject non-zero trailing bits; retry without the last group.
		run = run[:len(run)/4*4]
		n, err = enc.Decode(out, run)
		if err != nil {
			return
		}
	}
	if textLike(out[:n]) {
		if st.addLayer(EncBase64, depth, string(out[:n]), a, z) {
			st.signals[sigBase64]++
		}
	}
}

func decodeBase32(run []byte) ([]byte, bool) {
	up := make([]byte, len(run), len(run)+8)
	for i, c := range run {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	for len(up)%8 != 0 {
		up = append(up, '=')
	}
	out := make([]byte, base32.StdEncoding.DecodedLen(len(up)))
	n, err := base32.StdEncoding.Decode(out, up)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// decodeSpacedHex decodes byte pairs separated by single spaces
// ("69 67 6e ..."), at least minRun/2 of them, starting at i.
func decodeSpacedHex(src *source, i, depth int, st *state, span spanFunc) int {
	b := src.b
	var out []byte
	j := i
	for j+1 < len(b) && class[b[j]]&cHex != 0 && class[b[j+1]]&cHex != 0 {
		if j+2 < len(b) && class[b[j+2]] != 0 {
			break
		}
		out = append(out, unhex(b[j])<<4|unhex(b[j+1]))
		j += 2
		if j+2 < len(b) && b[j] == ' ' && class[b[j+1]]&cHex != 0 {
			j++
			continue
		}
		break
	}
	if len(out) < minRun/2 || !textLike(out) {
		return i
	}
	a, z := span(src.at(i), src.at(j))
	if st.addLayer(EncHex, depth, string(out), a, z) {
		st.signals[sigHex]++
	}
	return j
}

// decodeEscapedHex decodes "\x69\x67..." sequences starting at i.
func decodeEscapedHex(src *source, i, depth int, st *state, span spanFunc) int {
	b := src.b
	var out []byte
	j := i
	for j+3 < len(b) && b[j] == '\\' && b[j+1]|0x20 == 'x' && class[b[j+2]]&cHex != 0 && class[b[j+3]]&cHex != 0 {
		out = append(out, unhex(b[j+2])<<4|unhex(b[j+3]))
		j += 4
	}
	if len(out) < minRun/2 || !textLike(out) {
		return i
	}
	a, z := span(src.at(i), src.at(j))
	if st.addLayer(EncHex, depth, string(out), a, z) {
		st.signals[sigHex]++
	}
	return j
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// textLike accepts decoded bytes that read as text: valid UTF-8, nearly all
// printable, at least half letters, digits and spaces. Random bytes (a git
// SHA or UUID decoded as base64) fail it.
func textLike(b []byte) bool {
	if len(b) < 4 || !utf8.Valid(b) {
		return false
	}
	runes, bad, good := 0, 0, 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			runes++
			switch {
			case c == ' ' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z':
				good++
			case c == '\n' || c == '\r' || c == '\t' || c >= 0x20 && c < 0x7F:
			default:
				bad++
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		runes++
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			good++
		case unicode.IsPrint(r) || invisibleKind(r) != invNone || r >= 0xE0000 && r <= 0xE01EF || r >= 0xFE00 && r <= 0xFE0F:
		default:
			bad++
		}
		i += n
	}
	return bad*20 <= runes && good*2 >= runes
}

// decodeURL decodes percent-encoding when the text holds at least three
// escapes; the layer covers the whitespace-delimited words holding them.
func decodeURL(src *source, depth int, st *state, span spanFunc) {
	b := src.b
	count, first, last := 0, -1, -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' && class[b[i+1]]&cHex != 0 && class[b[i+2]]&cHex != 0 {
			count++
			if first < 0 {
				first = i
			}
			last = i + 3
			i += 2
		}
	}
	if count < 3 {
		return
	}
	for first > 0 && !isSpaceByte(b[first-1]) {
		first--
	}
	for last < len(b) && !isSpaceByte(b[last]) {
		last++
	}
	region := b[first:last]
	out := make([]byte, 0, len(region))
	for i := 0; i < len(region); i++ {
		c := region[i]
		switch {
		case c == '%' && i+2 < len(region) && class[region[i+1]]&cHex != 0 && class[region[i+2]]&cHex != 0:
			out = append(out, unhex(region[i+1])<<4|unhex(region[i+2]))
			i += 2
		case c == '+':
			out = append(out, ' ')
		default:
			out = append(out, c)
		}
	}
	if !textLike(out) {
		return
	}
	a, z := span(src.at(first), src.at(last))
	if st.addLayer(EncURL, depth, string(out), a, z) {
		st.signals[sigURL] += count
	}
}

// decodeHTML decodes HTML character references when there is a numeric one
// or at least two named ones; the layer covers first to last reference.
func decodeHTML(src *source, depth int, st *state, span spanFunc) {
	b := src.b
	count, numeric, first, last := 0, 0, -1, -1
	for i := 0; i < len(b); i++ {
		if b[i] != '&' {
			continue
		}
		end, num := entityAt(b, i)
		if end < 0 {
			continue
		}
		count++
		if num {
			numeric++
		}
		if first < 0 {
			first = i
		}
		last = end
		i = end - 1
	}
	if numeric == 0 && count < 2 {
		return
	}
	out := html.UnescapeString(string(b[first:last]))
	a, z := span(src.at(first), src.at(last))
	if st.addLayer(EncHTML, depth, out, a, z) {
		st.signals[sigHTMLEntity] += count
	}
}

// entityAt returns the end of the character reference at b[i] ('&'), or -1.
func entityAt(b []byte, i int) (int, bool) {
	j := i + 1
	if j < len(b) && b[j] == '#' {
		j++
		digits := 0
		if j < len(b) && b[j]|0x20 == 'x' {
			j++
			for j < len(b) && class[b[j]]&cHex != 0 && digits < 8 {
				j++
				digits++
			}
		} else {
			for j < len(b) && b[j] >= '0' && b[j] <= '9' && digits < 8 {
				j++
				digits++
			}
		}
		if digits == 0 || j >= len(b) || b[j] != ';' {
			return -1, false
		}
		return j + 1, true
	}
	n := 0
	for j < len(b) && (b[j]|0x20 >= 'a' && b[j]|0x20 <= 'z' || n > 0 && b[j] >= '0' && b[j] <= '9') && n < 32 {
		j++
		n++
	}
	if n < 2 || j >= len(b) || b[j] != ';' {
		return -1, false
	}
	name := string(b[i : j+1])
	if html.UnescapeString(name) == name {
		return -1, false
	}
	return j + 1, false
}

func isSpaceByte(c byte) bool { return c < utf8.RuneSelf && asciiSpace[c] }
