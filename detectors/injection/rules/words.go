package rules

import "strings"

// The word index: anchors and need words by key (see wordKey), looked up for
// every word of every text.

// wordEntry holds the anchors and need words of one key: in catalogue order
// for Find, which tries the patterns in that order, and grouped by prefix for
// scanWords, which only asks which prefixes a word has.
type wordEntry struct {
	anchors  []anchor
	prefixes []wordPrefix
}

// wordPrefix is one distinct prefix of a wordEntry.
type wordPrefix struct {
	prefix   string
	need     []int32 // patterns that have it as a need word
	anchored bool    // some pattern has it as an anchor
}

// matches reports whether word w, whose key is the prefix's, has the prefix:
// the key holds its first three bytes (all of a two-byte one).
func (p *wordPrefix) matches(w string) bool {
	return len(p.prefix) <= 3 || strings.HasPrefix(w, p.prefix)
}

// wordTable maps keys to entries by open addressing. No word's key is 0 (a
// word begins with a letter or digit, and a two-byte key has its top byte
// set), so 0 marks an empty slot.
type wordTable struct {
	keys    []uint32
	entries []wordEntry
}

// newWordTable indexes anchors (and need words, with pat = -(pattern+1)) by
// key, keeping their order.
func newWordTable(anchors []anchor) wordTable {
	byKey := map[uint32]*wordEntry{}
	for _, a := range anchors {
		k := wordKey(a.prefix)
		e := byKey[k]
		if e == nil {
			e = &wordEntry{}
			byKey[k] = e
		}
		e.anchors = append(e.anchors, a)
		i := 0
		for i < len(e.prefixes) && e.prefixes[i].prefix != a.prefix {
			i++
		}
		if i == len(e.prefixes) {
			e.prefixes = append(e.prefixes, wordPrefix{prefix: a.prefix})
		}
		if a.pat < 0 {
			e.prefixes[i].need = append(e.prefixes[i].need, -a.pat-1)
		} else {
			e.prefixes[i].anchored = true
		}
	}
	n := 64
	for n < 4*len(byKey) { // at most a quarter full: misses end at the first or second slot
		n *= 2
	}
	t := wordTable{keys: make([]uint32, n), entries: make([]wordEntry, n)}
	for k, e := range byKey {
		i := t.slot(k)
		t.keys[i], t.entries[i] = k, *e
	}
	return t
}

// slot is where key k is, or where it would go.
func (t *wordTable) slot(k uint32) uint32 {
	m := uint32(len(t.keys) - 1)
	i := (k * 0x9E3779B1) >> 16 & m
	for t.keys[i] != k && t.keys[i] != 0 {
		i = (i + 1) & m
	}
	return i
}

// lookup returns the entry of key k, empty if none.
func (t *wordTable) lookup(k uint32) *wordEntry {
	return &t.entries[t.slot(k)]
}

// wordKey indexes a word or anchor of at least two bytes by its first three
// bytes; two-byte anchors match whole two-byte words only and get a key of
// their own.
func wordKey(w string) uint32 {
	if len(w) == 2 {
		return 1<<24 | uint32(w[0])<<8 | uint32(w[1])
	}
	return uint32(w[0])<<16 | uint32(w[1])<<8 | uint32(w[2])
}

// matchesWord reports whether word w is matched by anchor prefix a (whole
// word for two-byte anchors, which share no key with longer words).
func matchesWord(w, a string) bool { return strings.HasPrefix(w, a) }
