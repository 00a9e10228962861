package normalize

import (
	"bytes"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Limits on decoding. A layer decoded from the text has depth 1; payloads are
// decoded at most MaxDepth levels deep, the decoded bytes of one Normalize
// call stay within MaxDecodedFactor times the input and MaxDecodedBytes, and
// at most MaxLayers layers are reported.
const (
	MaxDepth         = 3
	MaxDecodedFactor = 4
	MaxDecodedBytes  = 256 << 10
	MaxLayers        = 32
)

// Signal kinds, in the order they are reported.
const (
	sigZeroWidth = iota
	sigBidi
	sigVariationSelector
	sigTagChars
	sigHomoglyph
	sigLetterSpacing
	sigLeetspeak
	sigZalgo
	sigBase64
	sigBase32
	sigHex
	sigURL
	sigHTMLEntity
	sigROT13
	sigReversed
	sigMarkup
	sigDiacritics
	numSignals
)

var signalNames = [numSignals]string{
	"zero_width", "bidi", "variation_selector", "tag_chars", "homoglyph",
	"letter_spacing", "leetspeak", "zalgo", "base64", "base32", "hex", "url",
	"html_entity", "rot13", "reversed", "markup", "diacritics",
}

// Layer encodings.
const (
	EncBase64             = "base64"
	EncBase32             = "base32"
	EncHex                = "hex"
	EncURL                = "url"
	EncHTML               = "html"
	EncROT13              = "rot13"
	EncReversed           = "reversed"
	EncLeetspeak          = "leetspeak"
	EncTags               = "tags"
	EncVariationSelectors = "variation_selectors"
	EncMarkup             = "markup"
	EncDiacritics         = "diacritics"
)

// state is shared by one Normalize call and all its recursive decodes.
type state struct {
	decoded int // decoded bytes still allowed
	layers  []pipeline.Layer
	signals [numSignals]int
}

// Normalize returns the normalized view of text. It never panics on any
// input (invalid UTF-8 included) and runs in time roughly linear in
// len(text).
func Normalize(text string) pipeline.View {
	st := &state{decoded: min(MaxDecodedFactor*len(text), MaxDecodedBytes)}
	v := normalize(text, 0, st, 0, 0)
	v.Layers = st.layers
	n := 0
	for _, c := range st.signals {
		if c > 0 {
			n++
		}
	}
	if n > 0 {
		v.Signals = make([]pipeline.Signal, 0, n)
		for k, c := range st.signals {
			if c > 0 {
				v.Signals = append(v.Signals, pipeline.Signal{Kind: signalNames[k], Count: c})
			}
		}
	}
	return v
}

// source is the case-preserving text the decoders scan: s with invisible
// characters removed and NFKC applied, and its map back to the original.
type source struct {
	b    []byte
	off  []int32 // len(b)+1 entries; nil means identity
	orig int     // length of the original
}

func (s *source) at(i int) int {
	if s.off == nil {
		return i
	}
	return int(s.off[i])
}

// normalize builds the view of s, found at the given depth (0 for the
// segment itself). Layers found in s get depth+1; below depth 0 their span
// is the span [outerStart, outerEnd) of the payload s was decoded from.
func normalize(s string, depth int, st *state, outerStart, outerEnd int) pipeline.View {
	src := source{orig: len(s)}
	var hidden []hiddenRun
	var in []byte
	var inOff []int32
	if isASCII(s) {
		src.b = bytesOf(s)
		in = src.b
	} else {
		src.b, src.off, hidden = clean(s, st)
		src.b, src.off = nfkc(src.b, src.off, st)
		in, inOff = fold(src.b, src.off, st)
	}
	f := scan(src.b)
	var runs []spacedRun
	if f.spaced || inOff != nil {
		runs = spacedRuns(in)
		st.signals[sigLetterSpacing] += len(runs)
	}
	text, offs := collapse(in, inOff, len(s), runs)
	v := pipeline.View{Text: text, Offsets: offs}

	d := depth + 1
	if d > MaxDepth {
		return v
	}
	span := func(start, end int) (int, int) {
		if depth > 0 {
			return outerStart, outerEnd
		}
		return start, end
	}
	for _, h := range hidden {
		a, z := span(h.start, h.end)
		st.addLayer(h.enc, d, string(h.data), a, z)
	}
	if f.longRun || f.hexSeq {
		decodeRuns(&src, d, st, span)
	}
	if f.percent >= 3 {
		decodeURL(&src, d, st, span)
	}
	if f.amp {
		decodeHTML(&src, d, st, span)
	}
	if f.markup {
		decodeMarkup(&src, d, st, span)
	}
	// A text whose letters mostly carry accents ("Ìgnörê àll prévïöùs")
	// is also read without them, as a layer: the view itself keeps the
	// accents, which are the spelling of real Vietnamese or French text.
	if !isASCII(v.Text) && markHeavy(v.Text) {
		t, n := unaccented(v.Text)
		a, z := span(0, len(s))
		if st.addLayer(EncDiacritics, d, t, a, z) {
			st.signals[sigDiacritics] += n
		}
	}
	readings(&v, d, st, span)
	return v
}

// addLayer records a decoded payload and normalizes it recursively. It
// reports whether the payload fit the limits.
func (st *state) addLayer(enc string, depth int, payload string, start, end int) bool {
	if depth > MaxDepth || len(payload) == 0 || len(payload) > st.decoded || len(st.layers) >= MaxLayers {
		return false
	}
	st.decoded -= len(payload)
	i := len(st.layers)
	st.layers = append(st.layers, pipeline.Layer{Encoding: enc, Depth: depth, Start: start, End: end})
	child := normalize(payload, depth, st, start, end)
	st.layers[i].Text = child.Text
	return true
}

// hiddenRun is a payload carried by invisible characters.
type hiddenRun struct {
	enc        string
	data       []byte
	start, end int
}

// clean drops invisible characters (counting them), collects the payloads
// carried by tag characters and variation selectors, folds parenthesized
// letters and replaces invalid UTF-8 with U+FFFD.
func clean(s string, st *state) ([]byte, []int32, []hiddenRun) {
	out := make([]byte, 0, len(s))
	off := make([]int32, 0, len(s)+1)
	var hidden []hiddenRun
	var tag, vs hiddenRun
	tagOn, vsOn, tagFlag := false, false, false
	var prev rune // last kept rune
	flushTag := func() {
		if tagOn && !tagFlag {
			if len(tag.data) > 0 {
				hidden = append(hidden, tag)
			}
		}
		tagOn, tagFlag = false, false
		tag = hiddenRun{}
	}
	flushVS := func() {
		if vsOn && len(vs.data) >= 2 {
			st.signals[sigVariationSelector] += len(vs.data)
			hidden = append(hidden, vs)
		}
		vsOn = false
		vs = hiddenRun{}
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r >= 0xE0000 && r <= 0xE007F {
			if !tagOn {
				tagOn = true
				// Subdivision flags (England, Scotland, Wales) are a
				// black flag followed by tag characters: ordinary emoji.
				tagFlag = prev == 0x1F3F4
				tag = hiddenRun{enc: EncTags, start: i}
			}
			if !tagFlag {
				st.signals[sigTagChars]++
				if r >= 0xE0020 && r <= 0xE007E {
					tag.data = append(tag.data, byte(r-0xE0000))
				}
			}
			tag.end = i + n
			i += n
			continue
		}
		if tagOn {
			flushTag()
		}
		if b, ok := vsByte(r); ok {
			if !vsOn {
				vsOn = true
				vs = hiddenRun{enc: EncVariationSelectors, start: i}
			}
			vs.data = append(vs.data, b)
			vs.end = i + n
			i += n
			continue
		}
		if vsOn {
			flushVS()
		}
		switch invisibleKind(r) {
		case invZeroWidth:
			next, _ := utf8.DecodeRuneInString(s[i+n:])
			if (isLatinish(prev) || isLatinish(next)) && !(r == 0xFEFF && i == 0) {
				st.signals[sigZeroWidth]++
			}
			i += n
			continue
		case invBidi:
			st.signals[sigBidi]++
			i += n
			continue
		case invMark:
			next, _ := utf8.DecodeRuneInString(s[i+n:])
			if !isRTL(prev) && !isRTL(next) {
				st.signals[sigBidi]++
			}
			i += n
			continue
		}
		switch {
		case r >= 0x249C && r <= 0x24B5: // parenthesized small letters
			out = append(out, byte('a'+r-0x249C))
			off = append(off, int32(i))
			st.signals[sigHomoglyph]++
		case r == utf8.RuneError && n == 1:
			out = append(out, "\uFFFD"...)
			off = append(off, int32(i), int32(i), int32(i))
		default:
			out = append(out, s[i:i+n]...)
			for k := 0; k < n; k++ {
				off = append(off, int32(i+k))
			}
		}
		prev = r
		i += n
	}
	flushTag()
	flushVS()
	off = append(off, int32(len(s)))
	return out, off, hidden
}

// vsByte decodes a variation selector as the byte it carries in the
// "emoji smuggling" scheme: VS1–VS16 are 0–15, VS17–VS256 are 16–255.
func vsByte(r rune) (byte, bool) {
	switch {
	case r >= 0xFE00 && r <= 0xFE0F:
		return byte(r - 0xFE00), true
	case r >= 0xE0100 && r <= 0xE01EF:
		return byte(r - 0xE0100 + 16), true
	}
	return 0, false
}

const (
	invNone = iota
	invZeroWidth
	invBidi
	invMark // LRM, RLM, ALM: ordinary in right-to-left text
)

func invisibleKind(r rune) int {
	switch {
	case r < 0xAD:
		return invNone
	case r == 0xAD, r == 0x034F, r == 0x180E, r >= 0x200B && r <= 0x200D,
		r >= 0x2060 && r <= 0x2064, r == 0xFEFF, r == 0x115F, r == 0x1160,
		r == 0x3164, r == 0xFFA0:
		return invZeroWidth
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return invBidi
	case r == 0x200E, r == 0x200F, r == 0x061C:
		return invMark
	}
	return invNone
}

func isLatinish(r rune) bool {
	if r < utf8.RuneSelf {
		return r > ' ' && r != 0x7F
	}
	return r < 0x0250 && unicode.IsLetter(r)
}

func isRTL(r rune) bool {
	return r >= 0x0590 && r <= 0x08FF || r >= 0xFB1D && r <= 0xFDFF || r >= 0xFE70 && r <= 0xFEFC
}

// maxExpansion bounds NFKC growth (U+FDFA alone becomes 18 characters).
const maxExpansion = 4

// nfkc applies NFKC, keeping the byte map exact wherever a segment is left
// unchanged and mapping a changed segment to its first original byte.
func nfkc(in []byte, off []int32, st *state) ([]byte, []int32) {
	if norm.NFKC.IsNormal(in) {
		return in, off
	}
	out := make([]byte, 0, len(in)+len(in)/8+8)
	outOff := make([]int32, 0, cap(out)+1)
	var it norm.Iter
	it.Init(norm.NFKC, in)
	prev := 0
	for !it.Done() {
		seg := it.Next()
		pos := it.Pos()
		if pos < prev || pos > len(in) {
			break
		}
		if len(out)+len(seg) > maxExpansion*len(in)+64 {
			// Stop expanding; keep the rest as it is.
			out = append(out, in[prev:]...)
			outOff = append(outOff, off[prev:len(in)]...)
			prev = len(in)
			break
		}
		if bytes.Equal(seg, in[prev:pos]) {
			out = append(out, seg...)
			outOff = append(outOff, off[prev:pos]...)
		} else {
			if r, _ := utf8.DecodeRune(in[prev:pos]); isStyledLetter(r) {
				st.signals[sigHomoglyph]++
			}
			out = append(out, seg...)
			for range seg {
				outOff = append(outOff, off[prev])
			}
		}
		prev = pos
	}
	if prev < len(in) {
		out = append(out, in[prev:]...)
		outOff = append(outOff, off[prev:len(in)]...)
	}
	outOff = append(outOff, off[len(in)])
	return out, outOff
}

// isStyledLetter reports letters NFKC maps to plain Latin that are used to
// dodge filters rather than to write a language: mathematical alphanumerics
// and enclosed (circled, squared) letters. Fullwidth forms are ordinary in
// CJK text and are folded without a signal.
func isStyledLetter(r rune) bool {
	return r >= 0x1D400 && r <= 0x1D7FF || r >= 0x24B6 && r <= 0x24E9 || r >= 0x1F130 && r <= 0x1F189
}

// bytesOf views s as bytes without copying; the result must not be written.
func bytesOf(s string) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// stringOf views b as a string without copying; b must not be written after.
func stringOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
