package rules

import (
	"slices"
	"strings"
)

// Window filters: before matchAt runs a pattern's regexp on the window around
// an anchor, it checks that the window holds one of the pattern's need words
// and one of its required literals, as substrings anywhere in the window.
// Searching every window for every string is slow when many windows miss:
// most of the strings occur nowhere in a given text, and a search for an
// absent string reads the whole window (slowly, when its first byte is a
// common letter). So once searches have missed more than missBudget times
// the text's length, windowSearch records the text's three-byte sequences,
// skips the strings that have one the text lacks (they cannot be in any
// window), and finds each remaining string's occurrences once, moving
// forward through the text as the windows do. Ordinary text, whose searches
// rarely miss, never pays for this. Every answer is the substring search's.
// (Find also uses the three-byte sequences to skip substring anchors.)

// missBudget: bytes of windows searched in vain, per byte of text, before
// windowSearch changes strategy. A variable so that tests can force either
// strategy (-1: from the first search; a large value: not on misses).
var missBudget = 1

// windowString is a need word, required literal or substring anchor,
// interned per catalogue.
type windowString struct {
	s     string
	id    int32    // index among the interned strings
	grams []uint32 // hashes of its three-byte sequences
}

// windowSet is the need words or the required literals of a pattern or a
// branch.
type windowSet struct {
	id   int32 // index among the catalogue's sets
	strs []*windowString
}

// windowStrings interns the window strings of the catalogue being built;
// nWindowSets counts its sets.
var (
	windowStrings map[string]*windowString
	nWindowSets   int32
)

// newWindowSet returns the set of strs, nil for none.
func newWindowSet(strs []string) *windowSet {
	if len(strs) == 0 {
		return nil
	}
	nWindowSets++
	return &windowSet{id: nWindowSets - 1, strs: internWindowStrings(strs)}
}

// strings returns the set's strings (nil for a nil set).
func (set *windowSet) strings() []string {
	if set == nil {
		return nil
	}
	out := make([]string, len(set.strs))
	for i, w := range set.strs {
		out[i] = w.s
	}
	return out
}

func internWindowStrings(strs []string) []*windowString {
	var out []*windowString
	for _, s := range strs {
		w := windowStrings[s]
		if w == nil {
			w = &windowString{s: s, id: int32(len(windowStrings))}
			for i := 0; i+3 <= len(s); i++ {
				if h := gramHash(s, i); !slices.Contains(w.grams, h) {
					w.grams = append(w.grams, h)
				}
			}
			windowStrings[s] = w
		}
		out = append(out, w)
	}
	return out
}

const gramBits = 15

// gramHash hashes the three bytes at s[i:].
func gramHash(s string, i int) uint32 {
	return gramHashOf(uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16)
}

func gramHashOf(g uint32) uint32 { return g * 0x9E3779B1 >> (32 - gramBits) }

// windowSearch searches the windows of one text (see Window filters).
type windowSearch struct {
	text   string
	missed int // bytes of windows searched in vain
	built  bool
	// grams: the (hashed) three-byte sequences of text, once built. A
	// string with a sequence not in it does not occur in text; hash
	// collisions only let an absent string through to the search.
	grams [1 << gramBits / 64]uint64
	// lacks: the sets none of whose strings occur in text (by grams), as
	// far as known; sets from the maxMemoSets-th on are not recorded.
	lacks   [maxMemoSets / 64]uint64
	cursors [16]cursor
	nCursor int
}

const maxMemoSets = 2048

// cursor is what is known of where a string occurs in the text: if next >= 0,
// the first occurrence from from on starts at next; otherwise none starts in
// [from, to).
type cursor struct{ id, from, to, next int32 }

// cursorReach: how far past a window occursIn looks for the next occurrence,
// so that the windows after it need no search.
const cursorReach = 2048

// holds reports whether text[ws:we] holds one of the strings of set.
func (f *windowSearch) holds(set *windowSet, ws, we int) bool {
	if !f.built && f.missed > missBudget*len(f.text) {
		f.buildGrams()
	}
	if !f.built {
		for _, w := range set.strs {
			if strings.Contains(f.text[ws:we], w.s) {
				return true
			}
			f.missed += we - ws
		}
		return false
	}
	memo := set.id < maxMemoSets
	if memo && f.lacks[set.id>>6]&(1<<(set.id&63)) != 0 {
		return false
	}
	lacks := true
	for _, w := range set.strs {
		if f.mayHold(w) {
			lacks = false
			if f.occursIn(w, ws, we) {
				return true
			}
		}
	}
	if lacks && memo {
		f.lacks[set.id>>6] |= 1 << (set.id & 63)
	}
	return false
}

func (f *windowSearch) buildGrams() {
	f.built = true
	t := f.text
	if len(t) < 3 {
		return
	}
	g := uint32(t[0])<<8 | uint32(t[1])<<16
	for i := 2; i < len(t); i++ {
		g = g>>8 | uint32(t[i])<<16 // the three bytes ending at i
		h := gramHashOf(g)
		f.grams[h>>6] |= 1 << (h & 63)
	}
}

// mayOccur reports whether w may occur in the text (see mayHold), recording
// the text's three-byte sequences if that is not done yet.
func (f *windowSearch) mayOccur(w *windowString) bool {
	if !f.built {
		f.buildGrams()
	}
	return f.mayHold(w)
}

// mayHold reports whether w may occur in the text: whether the text has all
// its three-byte sequences.
func (f *windowSearch) mayHold(w *windowString) bool {
	for _, h := range w.grams {
		if f.grams[h>>6]&(1<<(h&63)) == 0 {
			return false
		}
	}
	return true
}

// occursIn reports whether w occurs in text[ws:we]. All occurrences of w are
// as long, so the first one at ws or later is the one that may fit.
func (f *windowSearch) occursIn(w *windowString, ws, we int) bool {
	var c *cursor
	for i := range f.nCursor {
		if f.cursors[i].id == w.id {
			c = &f.cursors[i]
			break
		}
	}
	if c == nil {
		if f.nCursor == len(f.cursors) {
			return strings.Contains(f.text[ws:we], w.s)
		}
		c = &f.cursors[f.nCursor]
		f.nCursor++
		*c = cursor{id: w.id, from: 1<<31 - 1} // nothing known yet
	}
	if int(c.from) <= ws {
		if c.next >= 0 && ws <= int(c.next) {
			return int(c.next)+len(w.s) <= we
		}
		if c.next < 0 && we-len(w.s) < int(c.to) {
			return false
		}
	}
	end := min(len(f.text), max(we, ws+cursorReach))
	c.from, c.next = int32(ws), -1
	if i := strings.Index(f.text[ws:end], w.s); i >= 0 {
		c.next = int32(ws + i)
		return ws+i+len(w.s) <= we
	}
	c.to = int32(end - len(w.s) + 1)
	return false
}
