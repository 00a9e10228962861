package normalize

import (
	"strings"
	"testing"
	"time"
)

// Repetitive inputs that would expose quadratic scanning: each must stay
// far below a second for 64 KiB.
func TestPathologicalInputs(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	for _, unit := range []string{
		"<", "<a ", "<!--", "[", "![", "[x](", "&", "&#", "&amp", "%41", "a ", "a.", "i g n o r e  ",
		"\u200b", "\U000e0041", "\ufe01", "\u0301", "і", "ѕсоре ", "\ufdfa", "aGVsbG8gd29ybGQh", "69 ", "\\x69",
		"vtaber ", "erongi ", "1gn0r3 ", "**", "#", "\xff",
	} {
		in := strings.Repeat(unit, (64<<10)/len(unit))
		start := time.Now()
		v := Normalize(in)
		checkInvariants(t, in, &v)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%q x %d: %v", unit, len(in)/len(unit), d)
		}
	}
}
