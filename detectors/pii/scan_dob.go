package pii

// dobKeywords introduce a date of birth (lower-case; matched at word
// starts, case-insensitively for ASCII letters).
var dobKeywords = []string{
	"born", "birth", "dob", "d.o.b", "geboren", "geb.", "geburtsdatum", "geburtstag",
	"né le", "née le", "né en", "date de naissance", "naissance", "fecha de nacimiento",
	"nacido el", "nacida el", "nacimiento", "data di nascita", "nato il", "nata il", "nascita",
	"data de nascimento", "nascido em", "nascida em", "geboortedatum", "geboren op",
	"data urodzenia", "urodzony", "urodzona", "urodzon", "född", "födelsedatum",
}

// dobIndex groups the keywords by first byte.
var dobIndex = func() (idx [256][]string) {
	for _, k := range dobKeywords {
		idx[k[0]] = append(idx[k[0]], k)
	}
	return idx
}()

// dobWindow is how far after its keyword a date of birth is looked for.
const dobWindow = 40

// scanDOB reports full dates (day, month and year) written shortly after
// a birth keyword: "born on 4 March 1987", "DOB: 03/04/1987".
func (s *scanner) scanDOB() {
	t := s.text
	for i := 0; i < len(t); i++ {
		c := lower1(t[i])
		cands := dobIndex[c]
		if cands == nil || i > 0 && isWordByte(t[i-1]) {
			continue
		}
		kend := 0
		for _, k := range cands {
			if hasPrefixFold(t[i:], k) {
				kend = i + len(k)
				break
			}
		}
		if kend == 0 {
			continue
		}
		// Skip the rest of the keyword's word ("birthday", "born:").
		for kend < len(t) && isWordByte(t[kend]) {
			kend++
		}
		limit := min(len(t), kend+dobWindow)
		for j := kend; j < limit; j++ {
			if !isAlnum(t[j]) || j > 0 && isAlnum(t[j-1]) {
				continue
			}
			if end := parseDate(t, j); end > 0 {
				s.add(j, end, DateOfBirth, 0.85)
				i = end
				break
			}
		}
	}
}

func hasPrefixFold(t, k string) bool {
	if len(t) < len(k) {
		return false
	}
	for i := 0; i < len(k); i++ {
		if lower1(t[i]) != k[i] {
			return false
		}
	}
	return true
}

// parseDate reads a full date at t[i:] and returns its end, or 0:
// 03/04/1987, 3.4.87, 1987-04-03, 4 March 1987, 4th of March, 1987,
// March 4, 1987, 4. März 1987, 4 de marzo de 1987.
func parseDate(t string, i int) int {
	if isDigit(t[i]) {
		if end := numericDate(t, i); end > 0 {
			return end
		}
		// Day first, then a month name.
		j, day := readInt(t, i, 2)
		if day < 1 || day > 31 {
			return 0
		}
		j = skipOrdinal(t, j)
		j = skipFill(t, j)
		j2, ok := readMonth(t, j)
		if !ok {
			return 0
		}
		j2 = skipFill(t, j2)
		return readYear(t, j2)
	}
	j, ok := readMonth(t, i)
	if !ok {
		return 0
	}
	j = skipFill(t, j)
	j, day := readInt(t, j, 2)
	if day < 1 || day > 31 {
		return 0
	}
	j = skipOrdinal(t, j)
	j = skipFill(t, j)
	return readYear(t, j)
}

// numericDate reads d/m/y, m/d/y (2- or 4-digit year) or y-m-d with one
// separator style.
func numericDate(t string, i int) int {
	j, a := readInt(t, i, 4)
	la := j - i
	if j >= len(t) || (t[j] != '/' && t[j] != '.' && t[j] != '-') {
		return 0
	}
	sep := t[j]
	k, b := readInt(t, j+1, 2)
	if k == j+1 || k >= len(t) || t[k] != sep {
		return 0
	}
	m, c := readInt(t, k+1, 4)
	lc := m - k - 1
	if m < len(t) && isAlnum(t[m]) {
		return 0
	}
	switch {
	case la == 4 && lc >= 1 && lc <= 2:
		if validDate(a, b, c) {
			return m
		}
	case la <= 2 && (lc == 2 || lc == 4):
		if validDate(2000, b, a) || validDate(2000, a, b) {
			return m
		}
	}
	return 0
}

func readInt(t string, i, maxDigits int) (int, int) {
	n, j := 0, i
	for j < len(t) && isDigit(t[j]) && j-i < maxDigits {
		n = n*10 + int(t[j]-'0')
		j++
	}
	if j < len(t) && isDigit(t[j]) {
		return i, -1 // longer than allowed
	}
	if j == i {
		return i, -1
	}
	return j, n
}

func readYear(t string, i int) int {
	j, y := readInt(t, i, 4)
	if j-i != 4 || y < 1850 || y > 2100 || j < len(t) && isAlnum(t[j]) {
		return 0
	}
	return j
}

func skipOrdinal(t string, i int) int {
	if i+2 <= len(t) {
		switch uint16(lower1(t[i]))<<8 | uint16(lower1(t[i+1])) {
		case 's'<<8 | 't', 'n'<<8 | 'd', 'r'<<8 | 'd', 't'<<8 | 'h':
			if i+2 == len(t) || !isAlnum(t[i+2]) {
				return i + 2
			}
		}
	}
	if i < len(t) && t[i] == '.' {
		return i + 1
	}
	return i
}

// skipFill skips spaces, commas and the little words between date parts
// ("of", "de", "del").
func skipFill(t string, i int) int {
	for i < len(t) {
		switch {
		case t[i] == ' ' || t[i] == ',':
			i++
		case hasPrefixFold(t[i:], "of ") || hasPrefixFold(t[i:], "de "):
			i += 3
		case hasPrefixFold(t[i:], "del "):
			i += 4
		default:
			return i
		}
	}
	return i
}

var months = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{
		"january", "february", "march", "april", "may", "june", "july", "august", "september",
		"october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
		"sep", "sept", "oct", "nov", "dec",
		"januar", "februar", "märz", "maerz", "mai", "juni", "juli", "oktober", "dezember",
		"janvier", "février", "fevrier", "mars", "avril", "juin", "juillet", "août", "aout",
		"septembre", "octobre", "novembre", "décembre", "decembre",
		"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
		"setiembre", "octubre", "noviembre", "diciembre",
		"gennaio", "febbraio", "aprile", "maggio", "giugno", "luglio", "settembre", "ottobre", "dicembre",
		"januari", "februari", "maart", "mei", "augustus",
		"janeiro", "fevereiro", "março", "maio", "junho", "julho", "setembro", "outubro", "dezembro",
	} {
		m[w] = true
	}
	return m
}()

// readMonth reads a month name (ASCII letters lower-cased, other bytes
// kept) and an optional abbreviation dot.
func readMonth(t string, i int) (int, bool) {
	var buf [12]byte
	j := i
	for j < len(t) && isWordByte(t[j]) && !isDigit(t[j]) {
		if j-i >= len(buf) {
			return 0, false
		}
		buf[j-i] = lower1(t[j])
		j++
	}
	if j == i || !months[string(buf[:j-i])] {
		return 0, false
	}
	if j < len(t) && t[j] == '.' {
		j++
	}
	return j, true
}
