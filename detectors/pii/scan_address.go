package pii

// Street addresses are found best-effort, from the shapes most addresses
// share: a house number before capitalized words ending in a street type
// ("221B Baker Street", "2450 Crown St"), a street type before words and a
// number ("Via delle Coste 41", "Rue de Rivoli 12"), a compound street name
// and a number ("Strickstrasse 61", "Koskikatu 25"), and box addresses
// ("P.O. Box 242", "PSC 7951, Box 9972"). There is no checksum: scores stay
// at or below 0.7.

// streetTypes follow the street name (matched lower-cased, without a dot).
var streetTypes = setOf(
	"street", "st", "avenue", "ave", "av", "road", "rd", "lane", "ln", "drive", "dr", "boulevard",
	"blvd", "court", "ct", "place", "pl", "terrace", "ter", "crescent", "cres", "close", "square",
	"sq", "highway", "hwy", "parkway", "pkwy", "circle", "cir", "trail", "trl", "way", "row", "mews",
	"gardens", "grove", "hill", "hills", "park", "walk", "view", "point", "ridge", "heights", "green",
	"path", "pike", "alley", "plaza", "loop", "crossing", "rise", "wharf", "parade", "esplanade",
	"glen", "vale", "streets", "roads", "lanes", "drives", "courts", "ways", "squares", "circles",
	"estate", "estates", "gate", "gates", "junction", "mall", "manor", "meadows", "mill", "mills",
	"motorway", "freeway", "expressway", "road,", "corner", "harbor", "harbour", "island", "lake",
	"landing", "orchard", "pass", "port", "ramp", "ranch", "shore", "shores", "spring", "springs",
	"station", "summit", "track", "tunnel", "turnpike", "valley", "village", "villages", "ville",
	"vista", "wells",
)

// streetPrefixes come before the street name.
var streetPrefixes = setOf(
	"rue", "via", "viale", "calle", "avenida", "avda", "avenue", "piazza", "piazzale", "corso",
	"largo", "vicolo", "plaza", "paseo", "camino", "carrera", "rua", "praça", "travessa", "estrada",
	"ul", "ulica", "aleja", "strada", "place", "boulevard", "bd", "chemin", "allée", "impasse",
	"quai", "route", "ronda", "carretera", "passeig", "avinguda", "carrer", "rambla", "leoforos",
	"odos", "plateia", "οδός", "λεωφόρος", "πλατεία", "utca", "út",
)

// streetSuffixes end compound street names ("Hauptstraße", "Breivangvegen").
var streetSuffixes = []string{
	"straße", "strasse", "weg", "gasse", "allee", "platz", "damm", "ufer",
	"straat", "laan", "gracht", "plein", "kade", "singel", "dreef", "vej", "gade", "vegen",
	"veien", "gata", "gatan", "vägen", "gränd", "katu", "kuja", "polku", "utca",
	"gatvė", "iela", "tänav", "cesta", "ulica", "gata", "vegur", "stræde",
}

// particles may stay lower-case inside a street name.
var particles = setOf("de", "del", "della", "delle", "dello", "degli", "dei", "di", "da", "do", "dos",
	"das", "du", "des", "la", "le", "les", "los", "las", "el", "van", "von", "der", "den", "y", "e")

// unitWords introduce the unit part of an address.
var unitWords = setOf("apt", "apartment", "suite", "ste", "unit", "flat", "floor", "fl", "room", "#")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// readWord reads the letters (and non-ASCII bytes) of a word at t[i:]; it
// returns the word's end and its lower-cased form, kept in buf (words
// longer than buf are cut, which no lexicon entry is).
func readWord(t string, i int, buf *[24]byte) (int, []byte) {
	j := i
	for j < len(t) && (isAlpha(t[j]) || t[j] >= 0x80 || t[j] == '\'' && j > i) {
		if j-i < len(buf) {
			buf[j-i] = lower1(t[j])
		}
		j++
	}
	return j, buf[:min(j-i, len(buf))]
}

// skipSpaces skips blanks on one line.
func skipSpaces(t string, i int) int {
	for i < len(t) && (t[i] == ' ' || t[i] == '\t') {
		i++
	}
	return i
}

// houseNumber reads "12", "221B" or "12-14" and returns its end, or 0.
func houseNumber(t string, i int) int {
	j := i
	for j < len(t) && isDigit(t[j]) && j-i < 6 {
		j++
	}
	if j == i || j < len(t) && isDigit(t[j]) {
		return 0
	}
	if j < len(t) && isAlpha(t[j]) && (j+1 == len(t) || !isAlnum(t[j+1])) {
		j++
	}
	if j < len(t) && isAlpha(t[j]) {
		return 0
	}
	return j
}

// streetTail matches the words after a house number: up to four
// capitalized words (or numbers) ending in a street type. It returns the
// end of the street type, or 0.
func streetTail(t string, i int) int {
	var buf [24]byte
	j := skipSpaces(t, i)
	if j == i {
		return 0
	}
	for words := 0; words < 5 && j < len(t); words++ {
		if isDigit(t[j]) {
			e := houseNumber(t, j)
			if e == 0 {
				return 0
			}
			j = skipSpaces(t, e)
			continue
		}
		if !isUpper(t[j]) && t[j] < 0x80 {
			return 0
		}
		e, w := readWord(t, j, &buf)
		if e == j {
			return 0
		}
		if words == 0 && streetPrefixes[string(w)] && !ambiguousPrefix[string(w)] {
			// French and Belgian order: "12 Rue de Rivoli".
			return namedStreet(t, e)
		}
		if words > 0 && streetTypes[string(w)] {
			if e < len(t) && t[e] == '.' {
				e++
			}
			return e
		}
		if e < len(t) && t[e] == '.' {
			e++ // "St. John Street"
		}
		j = skipSpaces(t, e)
	}
	return 0
}

// ambiguousPrefix are street prefixes that also follow numbers in prose
// ("3 via email", "2 place settings", "5 route options").
var ambiguousPrefix = setOf("via", "place", "route", "ul", "bd", "largo", "corso", "plaza", "út")

// namedStreet reads the name after a street prefix: particles and
// capitalized words on the same line, at least one capitalized. It returns
// the end of the last capitalized word, or 0.
func namedStreet(t string, i int) int {
	var buf [24]byte
	end := 0
	j := i
	for words := 0; words < 5; words++ {
		k := skipSpaces(t, j)
		if k == j || k >= len(t) {
			break
		}
		e, w := readWord(t, k, &buf)
		if e == k {
			break
		}
		switch {
		case isUpper(t[k]) || t[k] >= 0x80:
			end = e
		case !particles[string(w)]:
			return end
		}
		j = e
	}
	return end
}

// unitTail extends an address over ", Apt. 409" or " Suite 056".
func unitTail(t string, i int) int {
	var buf [24]byte
	j := i
	if j < len(t) && t[j] == ',' {
		j++
	}
	j = skipSpaces(t, j)
	var e int
	if j < len(t) && t[j] == '#' {
		e = j + 1
	} else {
		var w []byte
		e, w = readWord(t, j, &buf)
		if e == j || !unitWords[string(w)] {
			return i
		}
	}
	if e < len(t) && t[e] == '.' {
		e++
	}
	e = skipSpaces(t, e)
	if n := houseNumber(t, e); n > 0 {
		return n
	}
	return i
}

// scanAddresses walks word starts and tries each address shape.
func (s *scanner) scanAddresses() {
	t := s.text
	var buf [24]byte
	for i := 0; i < len(t); {
		c := t[i]
		if i > 0 && (isWordByte(t[i-1]) || t[i-1] == '.') || !(isAlnum(c) || c >= 0x80) {
			i++
			continue
		}
		if isDigit(c) {
			// "221B Baker Street, Apt. 4"
			if hn := houseNumber(t, i); hn > 0 {
				if end := streetTail(t, hn); end > 0 {
					end = unitTail(t, end)
					s.add(i, end, Address, 0.7)
					i = end
					continue
				}
			}
			for i < len(t) && isAlnum(t[i]) {
				i++
			}
			continue
		}
		// Cheap tests first: most words are lower-case and followed by
		// another word, and cannot start an address.
		e := i
		for e < len(t) && (isAlpha(t[e]) || t[e] >= 0x80 || t[e] == '\'' && e > i) {
			e++
		}
		if e == i {
			i++
			continue
		}
		next := skipSpaces(t, e+boolInt(e < len(t) && t[e] == '.'))
		numberNext := next < len(t) && isDigit(t[next])
		if !numberNext && !isUpper(c) && c < 0x80 && c != 'p' {
			i = e
			continue
		}
		_, w := readWord(t, i, &buf)
		switch {
		case numberNext && compoundStreet(w) && e-i > 4 && next > e:
			if hn := houseNumber(t, next); hn > 0 {
				end := unitTail(t, hn)
				s.add(i, end, Address, 0.65)
				i = end
				continue
			}
		case (isUpper(c) || c >= 0x80) && streetPrefixes[string(w)]:
			if end := s.prefixedStreet(e); end > 0 {
				s.add(i, end, Address, 0.65)
				i = end
				continue
			}
		case numberNext && isUpper(c) && (string(w) == "apt" || string(w) == "apartment" || string(w) == "suite" || string(w) == "ste"):
			// A unit on its own ("Apt. 656") is an address fragment.
			if end := unitTail(t, i); end > i {
				s.add(i, end, Address, 0.5)
				i = end
				continue
			}
		case string(w) == "p" || string(w) == "po" || string(w) == "psc":
			if end := boxAddress(t, i); end > 0 {
				s.add(i, end, Address, 0.6)
				i = end
				continue
			}
		}
		i = e
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// prefixedStreet reads the rest of "Via delle Coste 41": up to five words
// (capitalized, or short lower-case particles) then a house number.
func (s *scanner) prefixedStreet(i int) int {
	t := s.text
	var buf [24]byte
	j := i
	if j < len(t) && t[j] == '.' {
		j++
	}
	capitals := 0
	for words := 0; words < 6; words++ {
		k := skipSpaces(t, j)
		if k == j || k >= len(t) {
			return 0
		}
		if isDigit(t[k]) {
			hn := houseNumber(t, k)
			if hn == 0 || capitals == 0 {
				return 0
			}
			return unitTail(t, hn)
		}
		e, w := readWord(t, k, &buf)
		if e == k || !particles[string(w)] && !isUpper(t[k]) && t[k] < 0x80 {
			return 0
		}
		if isUpper(t[k]) || t[k] >= 0x80 {
			capitals++
		}
		if e < len(t) && t[e] == '.' {
			e++
		}
		j = e
	}
	return 0
}

func compoundStreet(w []byte) bool {
	for _, suf := range streetSuffixes {
		if len(w) > len(suf)+2 && string(w[len(w)-len(suf):]) == suf {
			return true
		}
	}
	return false
}

// boxAddress reads "P.O. Box 242", "PO Box 242", "PSC 7951, Box 9972".
func boxAddress(t string, i int) int {
	j := i
	switch {
	case hasPrefixFold(t[j:], "p.o. box "):
		j += len("p.o. box ")
	case hasPrefixFold(t[j:], "po box "):
		j += len("po box ")
	case hasPrefixFold(t[j:], "psc "):
		j += len("psc ")
		e := houseNumber(t, j)
		if e == 0 || !hasPrefixFold(t[e:], ", box ") {
			return 0
		}
		j = e + len(", box ")
	default:
		return 0
	}
	return houseNumber(t, j)
}

// streetAfter reports whether a street name follows a number ending at i,
// so that "17031 2202 Rissik St" is read as an address, not a phone.
func streetAfter(t string, i int) bool { return streetTail(t, i) > 0 }
