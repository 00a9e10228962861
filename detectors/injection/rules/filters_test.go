package rules

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestWindowSearch checks windowSearch.holds against plain substring
// searches, with each strategy, on windows in random order that often begin
// or end at, just inside or just outside an occurrence of a string.
func TestWindowSearch(t *testing.T) {
	var sets []*windowSet
	for _, p := range pats {
		sets = append(sets, p.need, p.req)
		for _, b := range p.branches {
			sets = append(sets, b.req)
		}
	}
	sets = slices.DeleteFunc(sets, func(s *windowSet) bool { return s == nil })
	texts := referenceTexts(t)
	if len(texts) > 400 {
		texts = texts[:400]
	}
	for i := 0; i+40 <= len(texts); i += 40 { // longer than cursorReach
		texts = append(texts, strings.Join(texts[i:i+40], " "))
	}
	defer func(b int) { missBudget = b }(missBudget)
	r := rand.New(rand.NewPCG(3, 4))
	for _, budget := range []int{missBudget, -1, 1 << 30} {
		missBudget = budget
		for _, text := range texts {
			if len(text) == 0 {
				continue
			}
			f := windowSearch{text: text}
			for range 100 + len(text)/50 {
				set := sets[r.IntN(len(sets))]
				ws, we := r.IntN(len(text)), r.IntN(len(text)+1)
				// around an occurrence of one of the strings, from a random place
				w := set.strs[r.IntN(len(set.strs))].s
				from := r.IntN(len(text))
				i := strings.Index(text[from:], w)
				if i >= 0 {
					i += from
				} else {
					i = strings.Index(text, w)
				}
				if i >= 0 && r.IntN(4) > 0 {
					ws = i + r.IntN(3) - 1 - r.IntN(2)*r.IntN(300)
					we = i + len(w) + r.IntN(3) - 1 + r.IntN(2)*r.IntN(300)
				}
				ws, we = max(0, min(ws, len(text))), max(0, min(we, len(text)))
				if ws > we {
					ws, we = we, ws
				}
				want := slices.ContainsFunc(set.strs, func(w *windowString) bool { return strings.Contains(text[ws:we], w.s) })
				if got := f.holds(set, ws, we); got != want {
					t.Fatalf("missBudget %d: holds(%q) on %q = %v, want %v", budget, set.strs[0].s, text[ws:we], got, want)
				}
			}
		}
	}
}

// TestWindowSearchCursors checks occursIn's bookkeeping where it is easiest
// to get wrong: a text longer than cursorReach with few occurrences, one of
// them planted where a search stops, and windows that end just before, at or
// just after that place.
func TestWindowSearchCursors(t *testing.T) {
	defer func(b int) { missBudget = b }(missBudget)
	missBudget = -1
	var strs []*windowString
	for i, s := range []string{"ab", "aab", "abba", "ba"} {
		w := &windowString{s: s, id: int32(1<<20 + i)}
		for j := 0; j+3 <= len(s); j++ {
			w.grams = append(w.grams, gramHash(s, j))
		}
		strs = append(strs, w)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 3000 {
		b := []byte(strings.Repeat("a", 3*cursorReach))
		for range r.IntN(3) {
			b[r.IntN(len(b))] = 'b'
		}
		from := r.IntN(cursorReach / 2)
		b[from+cursorReach+r.IntN(9)-4] = 'b' // where the first search stops
		text := string(b)
		f := windowSearch{text: text}
		set := &windowSet{id: maxMemoSets, strs: strs[r.IntN(len(strs)):]}
		ws, we := from, from+r.IntN(300)
		for q := range 6 {
			if q > 0 {
				ws = from + r.IntN(cursorReach)
				we = from + cursorReach + r.IntN(9) - 4
				if r.IntN(3) == 0 {
					ws, we = r.IntN(len(text)), ws+r.IntN(cursorReach)
				}
				ws, we = min(ws, len(text)), min(max(we, ws), len(text))
			}
			want := slices.ContainsFunc(set.strs, func(w *windowString) bool { return strings.Contains(text[ws:we], w.s) })
			if got := f.holds(set, ws, we); got != want {
				t.Fatalf("round %d: holds(%q) on text[%d:%d] = %v, want %v", round, set.strs[0].s, ws, we, got, want)
			}
		}
	}
}
