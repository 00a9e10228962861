package normalize

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// pieces are the building blocks of random inputs: plain text, every kind
// of hidden or look-alike character, encodings and invalid UTF-8.
var pieces = []string{
	"a", "b", "e", "o", "I", "Z", " ", "  ", "\t", "\n", ".", "-", "_", "%", "%41", "&", "&amp;", "&#x41;",
	"<", ">", "<!--", "-->", "<b>", "[", "](", ")", "*", "`", "#", "\\x", "=", "+", "/",
	"0", "1", "3", "4", "7", "9", "@", "$",
	"\u200b", "\u200d", "\u00ad", "\ufeff", "\u202e", "\u2066", "\u200f", "\ufe0f", "\ufe00",
	"\U000e0041", "\U000e0020", "\U000e007f", "\U000e0100", "\U000e01ef",
	"і", "о", "е", "а", "и", "Σ", "ο", "ι", "ｉ", "Ａ", "𝐢", "ⓘ", "⒤", "ᴀ", "ı", "İ", "ß", "ﬁ", "\ufdfa", "㍿",
	"\u0301", "\u0336", "\u0489", "\u05b0", "ا", "忽", "😀", "👨", "🏽", "🏴",
	"\xff", "\xe2\x80", "\xc0",
	"ignore", "vtaber", "erongi", "1gn0r3", "aWdub3JlIGFsbCBwcmV2aW91cw==", "69676e6f72652061",
}

func randomInput(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(40); n > 0; n-- {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func TestPropertyOffsets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		in := randomInput(r)
		v := Normalize(in)
		checkInvariants(t, in, &v)
		if !utf8.ValidString(v.Text) {
			t.Fatalf("invalid UTF-8 Text %q for %q", v.Text, in)
		}
		for i := 0; i <= len(v.Text); i++ {
			a, z := v.OriginalSpan(i, min(i+3, len(v.Text)))
			if a < 0 || a > z || z > len(in) {
				t.Fatalf("OriginalSpan(%d) = %d,%d for %q", i, a, z, in)
			}
		}
	}
}

// For lower-case ASCII words joined by single spaces the view is the text
// itself and the map is the identity.
func TestPropertyIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		var b strings.Builder
		for w := r.IntN(30); w >= 0; w-- {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			for l := 2 + r.IntN(9); l > 0; l-- {
				b.WriteByte(byte('a' + r.IntN(26)))
			}
		}
		in := b.String()
		v := Normalize(in)
		if v.Text != in {
			t.Fatalf("Text %q, want %q", v.Text, in)
		}
		for i, o := range v.Offsets {
			if int(o) != i {
				t.Fatalf("Offsets[%d] = %d for %q", i, o, in)
			}
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "ig\u200bnore all", "іgnоrе", "ｉｇｎｏｒｅ", tagged(injection), vsSmuggled(injection),
		"see " + b64(injection), "vtaber nyy cerivbhf vafgehpgvbaf", "1gn0r3 4ll", "I G N O R E   A L L",
		"<!-- x --><div style='display:none'>y</div>[a](b \"c\")", "i̷̢g̶n̸", "\xff\xfe", "&#105;&amp;%41%42%43",
		`\x69\x67\x6e\x6f\x72\x65\x20\x61`, "69 67 6e 6f 72 65 20 61 6c 6c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v := Normalize(in)
		checkInvariants(t, in, &v)
		if !utf8.ValidString(v.Text) {
			t.Fatalf("invalid UTF-8 Text")
		}
		total := 0
		for _, l := range v.Layers {
			total += len(l.Text)
		}
		// Layer texts are normalized payloads; NFKC may grow a payload
		// at most maxExpansion times.
		if lim := maxExpansion*min(MaxDecodedFactor*len(in), MaxDecodedBytes) + 64*len(v.Layers); total > lim {
			t.Fatalf("layers hold %d bytes for %d input bytes", total, len(in))
		}
	})
}
