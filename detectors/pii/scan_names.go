package pii

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/detectors/pii/internal/gazetteer"
)

// Names, places and organisations (PERSON, LOCATION, ORGANIZATION): runs of
// capitalized words read against the gazetteers (census given names and
// surnames, GeoNames places) and the words around them (titles, "my name
// is", "lives in", company suffixes). A first version built from rules; the
// scores say how sure each reading is, and the weakest readings (a lone
// capitalized word that is also an ordinary English word, a sentence's
// first word without context) stay below the default threshold.

// nameWord is one word of the text.
type nameWord struct {
	start, end int
	lower      string // lower case
	lowerFrom  int32  // where lower is in the scratch buffer while splitting
	lowerTo    int32
	allCaps    bool // every letter upper case (a heading, SQL, an acronym)
	capital    bool // starts with an upper-case letter
	sentStart  bool // first word of a sentence or line
	spaceAfter bool // one space (or a hyphen-free gap of spaces) to the next word
}

// maxNameWords bounds the words of one name, place or organisation.
const maxNameWords = 6

var (
	// Titles and phrases after which a capitalized word is a person.
	personCue = newWordSet("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "dear", "hi", "hello",
		"hey", "thanks", "named", "called", "says", "said", "told", "asked", "met", "meet", "contact", "ask",
		"sincerely", "regards", "cc", "attn", "patient", "client", "customer", "mister", "señor", "señora", "herr",
		"frau", "monsieur", "madame", "signor", "signora", "senhor", "senhora")
	// Phrases in chat after which even a lower-case known given name is a person.
	selfIntro = []string{"my name is ", "my name's ", "i am ", "i'm ", "call me ", "this is ", "name: ", "his name is ",
		"her name is ", "their name is ", "named ", "called "}
	// The phrases' last words as nameWords reads them (checked first).
	introWord = func() wordSet {
		s := wordSet{}
		for _, p := range selfIntro {
			f := strings.Fields(strings.TrimRight(p, ": "))
			s[strings.TrimSuffix(f[len(f)-1], "'s")] = struct{}{}
		}
		return s
	}()
	// Words before a place.
	placeCue = newWordSet("in", "from", "at", "to", "near", "of", "visit", "visiting", "via", "into", "toward",
		"towards", "around", "across", "outside", "inside", "between", "born", "lives", "live", "living", "moved",
		"based", "city", "town", "village", "country", "en", "à", "de", "aus", "nach", "bei", "desde", "hacia", "em")
	// The last word of an organisation's name.
	orgSuffix = newWordSet("inc", "incorporated", "llc", "llp", "ltd", "limited", "corp", "corporation", "co",
		"company", "companies", "group", "holdings", "plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv",
		"nv", "oy", "ab", "as", "kg", "pty", "pvt", "lp", "bank", "university", "college", "institute", "foundation",
		"association", "partners", "technologies", "technology", "systems", "solutions", "labs", "laboratories",
		"research", "consulting", "services", "industries", "enterprises", "ventures", "capital", "insurance",
		"airlines", "motors", "pharmaceuticals", "hospital", "clinic", "agency", "studios", "media", "software",
		"networks", "communications", "electronics", "energy", "foods", "bancorp", "trust", "society", "school",
		"academy", "council", "ministry", "department", "committee", "union", "federation", "organization",
		"organisation", "gmbh & co", "ltda", "cie")
	// Words before an organisation.
	orgCue = newWordSet("at", "for", "with", "joined", "join", "employer", "company", "firm", "brand", "by")
	// Months and days: never a place or a person on their own.
	calendarWord = newWordSet("january", "february", "march", "april", "may", "june", "july", "august", "september",
		"october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
	// Connectors inside a name ("Ludwig van Beethoven", "Banco de Chile").
	nameParticle = newWordSet("de", "da", "di", "del", "della", "der", "den", "van", "von", "la", "le", "du", "dos",
		"das", "do", "bin", "ibn", "al", "el", "y", "of", "and", "&")
	// Given names that are also everyday English words (months and days are
	// calendarWord): alone and without context they are not read as a person.
	commonWord = newWordSet("will", "summer", "autumn", "winter", "dawn", "hope", "faith", "joy", "grace", "rose",
		"ivy", "holly", "iris", "ruby", "amber", "crystal", "eve", "pearl", "sandy", "star", "sunny", "violet", "lily",
		"mark", "bill", "frank", "art", "chase", "miles", "guy", "jack", "rob", "drew", "lance", "pat", "ray", "rich",
		"rusty", "sterling", "wade", "ward", "cliff", "dale", "dean", "glen", "grant", "hunter", "major", "noble", "royal",
		"king", "rod", "sky", "stone", "page", "rock", "china", "golden", "young", "long", "white", "black", "brown",
		"green", "gray", "grey", "hill", "wood", "lane", "price", "love", "bell", "day", "case", "cash", "chance",
		"christian", "class", "cook", "dell", "early", "hall", "hand", "heart", "house", "law", "light", "little", "lord",
		"low", "lucky", "mason", "moon", "music", "news", "nice", "paris", "park", "power", "ready", "reading", "river",
		"rush", "see", "sharp", "short", "small", "smith", "snow", "sole", "son", "spring", "storm", "street", "strong",
		"sun", "sweet", "tell", "then", "time", "true", "under", "west", "north", "south", "east", "wells", "wise",
		"worth", "god", "jesus", "allah", "i", "a", "an", "the", "in", "on", "at", "is", "it", "be", "by", "so", "no",
		"do", "go", "my", "me", "we", "us", "he", "she", "they", "you", "our", "please", "thank", "can", "could", "would",
		"should", "what", "when", "where", "who", "why", "how", "hello", "hi", "dear", "yes", "ok", "okay", "mobile",
		"phone", "email", "address", "bot", "user", "assistant", "system", "human", "ai")
)

type wordSet map[string]struct{}

func newWordSet(ws ...string) wordSet {
	s := make(wordSet, len(ws))
	for _, w := range ws {
		s[w] = struct{}{}
	}
	return s
}

func (s wordSet) has(w string) bool { _, ok := s[w]; return ok }

// ordinary reports whether w (lower case) is an everyday word: listed here
// (commonWord, calendarWord), or mostly written in lower case
// (gazetteer.Common).
func ordinary(w string) bool {
	return commonWord.has(w) || calendarWord.has(w) || gazetteer.Lookup(w)&gazetteer.Common != 0
}

// nameScratch is the words of the segment being scanned; pooled.
type nameScratch struct {
	words []nameWord
	buf   []byte // lower-case words, concatenated
	taken []bool
}

var namePool = sync.Pool{New: func() any { return new(nameScratch) }}

// scanNames finds PERSON, LOCATION and ORGANIZATION.
func (s *scanner) scanNames() {
	d := s.d
	if !d.enabled[Person] && !d.enabled[Location] && !d.enabled[Organization] {
		return
	}
	ns := namePool.Get().(*nameScratch)
	defer namePool.Put(ns)
	s.names = ns
	ws := s.nameWords()
	taken := slices.Grow(ns.taken[:0], len(ws))[:len(ws)]
	clear(taken)
	ns.taken = taken
	for i := 0; i < len(ws); {
		if !ws[i].capital {
			i++
			continue
		}
		j := runEnd(ws, i)
		s.readRun(ws, i, j, taken)
		i = j
	}
	s.selfIntroductions(ws, taken)
}

// nameWords splits s.text into words of letters (with inner apostrophes,
// hyphens and dots of initials) and lower-cases them.
func (s *scanner) nameWords() []nameWord {
	t := s.text
	ns := s.names
	ns.words, ns.buf = ns.words[:0], ns.buf[:0]
	sent := true
	for i := 0; i < len(t); {
		r, n := rune(t[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(t[i:])
		}
		if !isAlpha(t[i]) && !unicode.IsLetter(r) {
			sent = sentenceAfter(r, sent)
			i += n
			continue
		}
		start := i
		for i < len(t) {
			if c := t[i]; isAlpha(c) {
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(t[i:])
			if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) {
				i += n
				continue
			}
			// Inner apostrophe or hyphen: "O'Neil", "Jean-Luc".
			if (r == '\'' || r == '-' || r == '’') && i+n < len(t) {
				if r2, _ := utf8.DecodeRuneInString(t[i+n:]); unicode.IsLetter(r2) {
					i += n
					continue
				}
			}
			break
		}
		first, _ := utf8.DecodeRuneInString(t[start:i])
		end := i
		// A possessive "'s" is not part of the name.
		if t[end-1] == 's' {
			switch w := t[start:end]; {
			case len(w) > 2 && strings.HasSuffix(w, "'s"):
				end -= len("'s")
			case len(w) > 4 && strings.HasSuffix(w, "’s"):
				end -= len("’s")
			}
		}
		from := len(ns.buf)
		for k := start; k < end; {
			if c := t[k]; c < utf8.RuneSelf {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				ns.buf = append(ns.buf, c)
				k++
				continue
			}
			r, n := utf8.DecodeRuneInString(t[k:])
			ns.buf = utf8.AppendRune(ns.buf, unicode.ToLower(r))
			k += n
		}
		ns.words = append(ns.words, nameWord{start: start, end: end, capital: unicode.IsUpper(first) || unicode.IsTitle(first),
			sentStart: sent, lowerFrom: int32(from), lowerTo: int32(len(ns.buf)), allCaps: allUpper(t[start:end])})
		// One or two spaces (no line break, no digits, no punctuation) to
		// the next word keep a run going.
		if n := len(ns.words); n >= 2 {
			prev := &ns.words[n-2]
			gap := t[prev.end:start]
			prev.spaceAfter = gap != "" && len(gap) <= 2 && strings.Trim(gap, " ") == "" ||
				gap == "'s " || gap == "’s " // "Anna's Bakery": the possessive was cut off
		}
		sent = false
	}
	// One string for every word's lower case: the words' views into it.
	lower := string(ns.buf)
	for k := range ns.words {
		w := &ns.words[k]
		w.lower = lower[w.lowerFrom:w.lowerTo]
		// An all-capitals word starts a name only if a list knows it and
		// it is too long for an acronym ("NAANTALI", "SMITH"), not "FROM
		// Users WHERE", "PRESS NEXT" nor "NATO".
		if w.allCaps && (utf8.RuneCountInString(w.lower) < 5 || gazetteer.Lookup(w.lower)&^gazetteer.Common == 0 || ordinary(w.lower)) {
			w.capital = false
		}
	}
	ns.buf = ns.buf[:0]
	return ns.words
}

// sentenceAfter says whether the next word starts a sentence after the
// non-letter r: a full stop, a line break, a colon or a quote start one;
// spaces, brackets and list marks keep what was; anything else ends it.
func sentenceAfter(r rune, sent bool) bool {
	switch r {
	case '.', '!', '?', '\n', ':', '"', '。':
		return true
	case '(', '\'', '*', '-':
		return sent
	}
	return sent && unicode.IsSpace(r)
}

// runEnd is the end of the run of capitalized words (and particles between
// them) that starts at ws[i].
func runEnd(ws []nameWord, i int) int {
	j := i + 1
	for j < len(ws) && j-i < maxNameWords && ws[j-1].spaceAfter {
		if ws[j].capital {
			j++
			continue
		}
		if nameParticle.has(ws[j].lower) && j+1 < len(ws) && ws[j].spaceAfter && ws[j+1].capital {
			j += 2
			continue
		}
		break
	}
	return j
}

// cueBefore is the lower-case word just before ws[i], if only spaces (or
// an abbreviation's dot: "Dr. Lee") separate them; "From: Ann" has none,
// the colon ends the phrase.
func (s *scanner) cueBefore(ws []nameWord, i int) string {
	if i == 0 {
		return ""
	}
	gap := strings.TrimPrefix(s.text[ws[i-1].end:ws[i].start], ".")
	if gap == "" || strings.Trim(gap, " ") != "" {
		return ""
	}
	return ws[i-1].lower
}

// readRun reads the capitalized run ws[i:j]: an organisation when it ends in
// a company word, else its places and persons.
func (s *scanner) readRun(ws []nameWord, i, j int, taken []bool) {
	last := strings.TrimSuffix(ws[j-1].lower, ".")
	if j-i >= 2 && orgSuffix.has(last) && !nameParticle.has(ws[i].lower) {
		// A run of ordinary words and a company word is more often a
		// phrase ("National Insurance number") than a name.
		score := 0.45
		for k := i; k < j-1; k++ {
			if !ordinary(ws[k].lower) && !nameParticle.has(ws[k].lower) {
				score = 0.85
				break
			}
		}
		s.addName(ws[i].start, ws[j-1].end, Organization, score)
		markTaken(taken, i, j)
		return
	}
	for k := i; k < j; {
		if n, score := s.place(ws, k, j); n > 0 {
			s.addName(ws[k].start, ws[k+n-1].end, Location, score)
			markTaken(taken, k, k+n)
			k += n
			continue
		}
		if n, score := s.person(ws, k, j); n > 0 {
			s.addName(ws[k].start, ws[k+n-1].end, Person, score)
			markTaken(taken, k, k+n)
			k += n
			continue
		}
		if k == i && j-i >= 2 && orgCue.has(s.cueBefore(ws, i)) && !ordinary(ws[i].lower) {
			s.addName(ws[i].start, ws[j-1].end, Organization, 0.55)
			markTaken(taken, i, j)
			return
		}
		k++
	}
}

func markTaken(taken []bool, i, j int) {
	for k := i; k < j; k++ {
		taken[k] = true
	}
}

// place matches the longest gazetteer place starting at ws[k] (within the
// run ending at j) and scores it by its context.
func (s *scanner) place(ws []nameWord, k, j int) (int, float64) {
	ns := s.names
	longest := min(j-k, gazetteer.LongestPlace())
	for n := longest; n >= 1; n-- {
		mark := len(ns.buf) // the joined name, built in the scratch buffer
		for m := k; m < k+n; m++ {
			if m > k {
				ns.buf = append(ns.buf, ' ')
			}
			ns.buf = append(ns.buf, ws[m].lower...)
		}
		kind := gazetteer.Lookup(string(ns.buf[mark:]))
		ns.buf = ns.buf[:mark]
		if kind&gazetteer.Place == 0 {
			continue
		}
		if n == 1 && (utf8.RuneCountInString(ws[k].lower) < 3 || orgSuffix.has(ws[k].lower) || calendarWord.has(ws[k].lower)) {
			continue // "As", "University", "March": towns somewhere, but not here
		}
		cue := placeCue.has(s.cueBefore(ws, k)) || k > 0 && s.commaBefore(ws[k].start)
		personish := kind&(gazetteer.First|gazetteer.Last) != 0 || ordinary(ws[k].lower)
		switch {
		case n >= 2:
			return n, 0.85
		case cue && !personish:
			return 1, 0.85
		case cue:
			// "in Jackson", "from Florence": a place after a place word.
			if k+1 < j && gazetteer.Lookup(ws[k+1].lower)&gazetteer.Last != 0 {
				return 0, 0 // "with Jackson Smith": a person
			}
			return 1, 0.7
		case personish:
			return 0, 0
		case ws[k].sentStart:
			return 1, 0.55
		default:
			return 1, 0.7
		}
	}
	return 0, 0
}

// commaBefore reports whether the text before at ends in a comma or a line
// break (an address line, a list of places).
func (s *scanner) commaBefore(at int) bool {
	t := strings.TrimRight(s.text[:at], " \t")
	return strings.HasSuffix(t, ",") || strings.HasSuffix(t, "\n")
}

// person reads a name starting at ws[k] within the run ending at j: a given
// name and the capitalized words after it, or any capitalized word after a
// title or a person cue.
func (s *scanner) person(ws []nameWord, k, j int) (int, float64) {
	w := ws[k]
	kind := gazetteer.Lookup(w.lower)
	cue := personCue.has(strings.TrimSuffix(s.cueBefore(ws, k), "."))
	n := min(j-k, 4)
	// Trailing particles do not belong to the name.
	for n > 1 && nameParticle.has(ws[k+n-1].lower) {
		n--
	}
	common := ordinary(w.lower)
	if nameParticle.has(w.lower) {
		return 0, 0 // "Das Skript", "Les licornes", "Von …": an article, not a name's start
	}
	switch {
	case cue && !common:
		return n, 0.85
	case kind&gazetteer.First != 0 && n >= 2 && !common:
		return n, 0.9
	case kind&gazetteer.First != 0 && n >= 2:
		// "Will Smith", "May Lee": a common word followed by a surname.
		if gazetteer.Lookup(ws[k+1].lower)&gazetteer.Last != 0 {
			return n, 0.75
		}
		return 0, 0
	case kind&gazetteer.First != 0 && !common:
		if w.sentStart {
			return 1, 0.65
		}
		return 1, 0.75
	case kind&gazetteer.Last != 0 && n >= 2 && !common && !w.sentStart:
		return n, 0.6
	}
	return 0, 0
}

// selfIntroductions finds names written in lower case after "my name is",
// "i'm", "call me": a known given name, and a known surname after it.
func (s *scanner) selfIntroductions(ws []nameWord, taken []bool) {
	if !s.d.enabled[Person] {
		return
	}
	for k := range ws {
		if taken[k] || ws[k].capital || k == 0 || !introWord.has(ws[k-1].lower) {
			continue
		}
		if gazetteer.Lookup(ws[k].lower)&gazetteer.First == 0 || ordinary(ws[k].lower) {
			continue
		}
		if !s.introducedAt(ws[k].start) {
			continue
		}
		n := 1
		if k+1 < len(ws) && ws[k].spaceAfter && gazetteer.Lookup(ws[k+1].lower)&gazetteer.Last != 0 && !ordinary(ws[k+1].lower) {
			n = 2
		}
		s.addName(ws[k].start, ws[k+n-1].end, Person, 0.8)
	}
}

// introducedAt reports whether a self-introduction phrase ends just before at.
func (s *scanner) introducedAt(at int) bool {
	before := s.text[max(0, at-len("their name is ")):at]
	for _, p := range selfIntro {
		if len(before) >= len(p) && strings.EqualFold(before[len(before)-len(p):], p) {
			return true
		}
	}
	return false
}

// addName adds a name hit unless it lies inside an address already found
// (the city in "12 Main St, Springfield" belongs to the address).
func (s *scanner) addName(start, end int, e Entity, score float64) {
	for _, h := range s.hits {
		if h.entity == Address && start < h.end && h.start < end {
			return
		}
	}
	s.add(start, end, e, score)
}

// allUpper reports whether every letter of w is upper case (and w has two or more).
func allUpper(w string) bool {
	n := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			if !unicode.IsUpper(r) {
				return false
			}
			n++
		}
	}
	return n >= 2
}
