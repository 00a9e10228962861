package pii

import (
	"hash/maphash"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

const (
	maxGroups    = 12
	maxRunDigits = 24
)

// numRun is a run of digit groups joined by short separators ("+41 (0)96
// 471 07 95", "4454-7945-1139-0933", "460-89-9847"): the one candidate
// shape behind phones, cards, SSNs and numeric national IDs. It lives on
// the stack.
type numRun struct {
	start, end int // span from the '+' or '(' prefix to the last digit
	extEnd     int // end of a phone extension ("x4587"); end when none
	groups     [maxGroups][2]int
	ng         int
	digits     [maxRunDigits]byte
	nd         int
	plus       bool // written with a leading '+'
	paren      bool // has parentheses
	overflow   bool // more groups or digits than any entity has
}

// digitString returns the run's digits. The result must not escape the
// classification (it may share the run's stack buffer after inlining).
func (r *numRun) digitString() string { return string(r.digits[:r.nd]) }

func (r *numRun) glen(k int) int { return r.groups[k][1] - r.groups[k][0] }

// sep returns the separator between group k and k+1.
func (r *numRun) sep(t string, k int) string { return t[r.groups[k][1]:r.groups[k+1][0]] }

// uniformSep returns the single separator used between all groups, or ""
// when there is one group or they differ.
func (r *numRun) uniformSep(t string) string {
	if r.ng < 2 {
		return ""
	}
	s := r.sep(t, 0)
	for k := 1; k < r.ng-1; k++ {
		if r.sep(t, k) != s {
			return ""
		}
	}
	return s
}

func (r *numRun) lens(want ...int) bool {
	if r.ng != len(want) {
		return false
	}
	for k, w := range want {
		if r.glen(k) != w {
			return false
		}
	}
	return true
}

// validSep lists the separators allowed between digit groups. A sentence
// end (". ") or a list comma never joins numbers.
func validSep(s string) bool {
	switch s {
	case " ", "-", ".", "/", "(", ")", ") ", " (", ")-", "-(", " - ":
		return true
	}
	return false
}

func sepByte(c byte) bool {
	return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')'
}

// scanNumbers walks the digit runs of the text and classifies each.
func (s *scanner) scanNumbers() {
	t := s.text
	for i := 0; i < len(t); {
		if !isDigit(t[i]) {
			i++
			continue
		}
		var r numRun
		ok := parseRun(t, i, &r)
		i = max(r.extEnd, i+1)
		if ok {
			s.classify(&r)
		}
	}
}

// parseRun reads the run whose first digit is at i into r and reports
// whether it stands alone (not part of a word, decimal or time).
func parseRun(t string, i int, r *numRun) bool {
	r.start = i
	if i > 0 && t[i-1] == '(' {
		r.start, r.paren = i-1, true
	}
	if r.start > 0 && t[r.start-1] == '+' {
		r.start--
		r.plus = true
	}
	for {
		gs := i
		for i < len(t) && isDigit(t[i]) {
			if r.nd < maxRunDigits {
				r.digits[r.nd] = t[i]
			}
			r.nd++
			i++
		}
		if r.ng < maxGroups {
			r.groups[r.ng] = [2]int{gs, i}
		}
		r.ng++
		j := i
		for j < len(t) && j-i < 3 && sepByte(t[j]) {
			j++
		}
		if j > i && j < len(t) && isDigit(t[j]) && validSep(t[i:j]) {
			if strings.IndexByte(t[i:j], '(') >= 0 || strings.IndexByte(t[i:j], ')') >= 0 {
				r.paren = true
			}
			i = j
			continue
		}
		break
	}
	r.end, r.extEnd = i, i
	if r.ng > maxGroups || r.nd > maxRunDigits {
		r.overflow = true
		r.ng = min(r.ng, maxGroups)
		r.nd = min(r.nd, maxRunDigits)
	}
	r.extEnd = extension(t, i)
	// Left boundary: not glued to a word, an e-mail local part, a decimal
	// or a time ("v1.2", "ABC-123", "12,345", "12:30", "$5").
	if p := r.start - 1; p >= 0 {
		c := t[p]
		switch {
		case isAlnum(c) || c == '_' || c == '@' || c == '$' || c == '#' && r.nd < 7:
			return false
		case (c == '.' || c == ',' || c == '-' || c == '/') && p > 0 && isAlnum(t[p-1]):
			return false
		case c == ':' && p > 0 && isDigit(t[p-1]):
			return false
		}
	}
	// Right boundary, unless an extension follows.
	if r.extEnd == r.end && i < len(t) {
		c := t[i]
		switch {
		case isAlpha(c) || c == '_' || c == '@':
			return false
		case (c == ',' || c == ':') && i+1 < len(t) && isDigit(t[i+1]):
			return false
		}
	}
	return true
}

// extension returns the end of a phone extension written after a number
// ("x4587", " ext. 12", " x 12"), or i when there is none.
func extension(t string, i int) int {
	j := i
	if j < len(t) && t[j] == ' ' {
		j++
	}
	switch {
	case strings.HasPrefix(t[j:], "ext."):
		j += 4
	case strings.HasPrefix(t[j:], "ext"):
		j += 3
	case j < len(t) && (t[j] == 'x' || t[j] == 'X'):
		j++
	default:
		return i
	}
	if j < len(t) && t[j] == ' ' {
		j++
	}
	d := j
	for j < len(t) && isDigit(t[j]) && j-d < 6 {
		j++
	}
	if j == d || j < len(t) && isAlnum(t[j]) {
		return i
	}
	return j
}

// classify decides what a run is, most specific shape first, and records
// at most one hit for it.
func (s *scanner) classify(r *numRun) {
	if r.overflow {
		return
	}
	t := s.text
	us := r.uniformSep(t)
	// IPv4 addresses and dates have their own scanners; they are never phones.
	if r.ng == 4 && us == "." && r.glen(0) <= 3 && r.glen(1) <= 3 && r.glen(2) <= 3 && r.glen(3) <= 3 {
		return
	}
	if dateShaped(t, r, us) {
		return
	}
	d := r.digitString()

	// US SSN: 3-2-4, dashes or spaces.
	if r.lens(3, 2, 4) && (us == "-" || us == " ") && !r.plus && !r.paren {
		if ssnValid(d) {
			score := 0.85
			if near(t, r.start, r.end, contextBefore, 0, ssnContext) {
				score = 0.95
			}
			s.add(r.start, r.end, SSN, score)
		}
		return
	}
	// Payment cards: 12-19 digits, bare or in groups of 3-6 joined by one
	// space or dash style.
	if r.nd >= 12 && r.nd <= 19 && !r.plus && !r.paren && (r.ng == 1 || us == " " || us == "-") && groupsBetween(r, 3, 6) {
		ctx := near(t, r.start, r.end, contextBefore, 0, cardContext)
		if cardValid(d) {
			score := 0.9
			if r.ng > 1 || ctx {
				score = 0.95
			}
			s.add(r.start, r.end, CreditCard, score)
			return
		}
		// A Luhn-valid number called a card, from an issuer range this
		// table does not know (new or private-label ranges).
		if ctx && luhn(d) && !sameDigit(d) && !testCards[d] {
			s.add(r.start, r.end, CreditCard, 0.6)
			return
		}
	}
	if s.nationalID(r, d, us) {
		return
	}
	s.phone(r, d, us)
}

func groupsBetween(r *numRun, lo, hi int) bool {
	if r.ng == 1 {
		return true
	}
	for k := 0; k < r.ng; k++ {
		if l := r.glen(k); l < lo || l > hi {
			return false
		}
	}
	return true
}

// dateShaped reports d/m/y, m/d/y, y-m-d and year ranges such as 1990-2000.
func dateShaped(t string, r *numRun, us string) bool {
	if us != "/" && us != "." && us != "-" {
		return false
	}
	g := func(k int) int { return atoi(t[r.groups[k][0]:r.groups[k][1]]) }
	switch {
	case r.ng == 3 && r.glen(0) == 4 && r.glen(1) <= 2 && r.glen(2) <= 2:
		return g(1) >= 1 && g(1) <= 12 && g(2) >= 1 && g(2) <= 31
	case r.ng == 3 && r.glen(0) <= 2 && r.glen(1) <= 2 && (r.glen(2) == 2 || r.glen(2) == 4):
		a, b := g(0), g(1)
		return a >= 1 && b >= 1 && (a <= 12 && b <= 31 || a <= 31 && b <= 12)
	case r.ng == 2 && r.glen(0) == 4 && r.glen(1) == 4 && us == "-":
		return g(0) >= 1800 && g(0) <= 2200 && g(1) >= 1800 && g(1) <= 2200
	}
	return false
}

// nationalID checks the numeric national identifiers. Those whose check
// passes for one random number in ten or eleven need a context word; the
// CPF (two check digits) and formats of their own score without one.
func (s *scanner) nationalID(r *numRun, d, us string) bool {
	t := s.text
	if r.plus || r.paren {
		return false
	}
	ctx := func(ws *keywords) bool { return near(t, r.start, r.end, contextBefore, 0, ws) }
	switch r.nd {
	case 9:
		if (r.ng == 1 || us == " " || us == "-" || us == ".") && ssnValid(d) && ctx(ssnContext) {
			s.add(r.start, r.end, SSN, 0.9)
			return true
		}
		if bsnValid(d) && ctx(bsnContext) {
			s.add(r.start, r.end, NLBSN, 0.95)
			return true
		}
	case 10, 12:
		pn := d[len(d)-10:]
		sePN := (r.lens(6, 4) || r.lens(8, 4)) && us == "-"
		if (sePN || r.ng == 1) && personnummerValid(pn) && (r.nd == 10 || d[:2] == "19" || d[:2] == "20") {
			switch {
			case ctx(pnContext):
				s.add(r.start, r.end, SEPersonnummer, 0.95)
				return true
			case sePN:
				s.add(r.start, r.end, SEPersonnummer, 0.8)
				return true
			}
		}
		if r.nd == 12 && (r.ng == 1 || r.lens(4, 4, 4) && (us == " " || us == "-")) && d[0] >= '2' && verhoeff(d) {
			if ctx(aadhaarContext) {
				s.add(r.start, r.end, INAadhaar, 0.95)
				return true
			}
			s.add(r.start, r.end, INAadhaar, 0.4)
		}
	case 11:
		if r.lens(3, 3, 3, 2) && r.sep(t, 0) == "." && r.sep(t, 1) == "." && r.sep(t, 2) == "-" {
			if cpfValid(d) {
				s.add(r.start, r.end, BRCPF, 0.95)
				return true
			}
			return false
		}
		switch {
		case cpfValid(d) && ctx(cpfContext):
			s.add(r.start, r.end, BRCPF, 0.95)
		case peselValid(d) && ctx(peselContext):
			s.add(r.start, r.end, PLPESEL, 0.95)
		case steuerIDValid(d) && ctx(steuerContext):
			s.add(r.start, r.end, DETaxID, 0.95)
		case r.ng == 1 && cpfValid(d):
			// Two mod-11 check digits: about one bare 11-digit number in
			// a hundred passes by chance.
			s.add(r.start, r.end, BRCPF, 0.45)
			return false
		default:
			return false
		}
		return true
	}
	return false
}

// phone scores a run as a telephone number; see ENTITIES.md for the tiers.
func (s *scanner) phone(r *numRun, d, us string) {
	t := s.text
	if !s.d.enabled[Phone] || r.nd < 7 || r.nd > 15 {
		return
	}
	intl := r.plus || strings.HasPrefix(d, "00") && r.nd >= 10
	if us == "." && !intl && (r.ng == 2 || r.glen(0) == 1) {
		return // a decimal number, or a version such as 6.2.9200.16384
	}
	// Phones group digits in twos to fives; more than one single digit
	// ("0 3 3 1 ...") is a list or a score, not a number to dial.
	singles := 0
	for k := 0; k < r.ng; k++ {
		if r.glen(k) == 1 {
			singles++
		}
	}
	if singles > 1 {
		return
	}
	// A reference word right before the number outweighs a phone word
	// further away ("call about order 12345678").
	neg := near(t, r.start, r.end, 24, 0, phoneNegative)
	var ctx bool
	if neg {
		ctx = near(t, r.start, r.end, 16, 0, phoneContext)
	} else {
		ctx = near(t, r.start, r.extEnd, contextBefore, contextAfter, phoneContext)
	}
	if streetAfter(t, r.end) {
		return // house numbers: "17031 2202 Rissik St"
	}
	raw := t[r.start:r.extEnd]
	if intl {
		switch {
		case s.d.phoneValid(raw, true):
			s.add(r.start, r.extEnd, Phone, 0.95)
		case ctx:
			s.add(r.start, r.extEnd, Phone, 0.7)
		}
		return
	}
	if ctx {
		score := 0.75
		if s.d.phoneValid(raw, false) {
			score = 0.95
		}
		s.add(r.start, r.extEnd, Phone, score)
		return
	}
	if neg {
		return
	}
	thousands := r.ng >= 2 && r.glen(0) <= 3 && (us == " " || us == ".")
	for k := 1; thousands && k < r.ng; k++ {
		thousands = r.glen(k) == 3
	}
	// Without a phone word only a phone's typical layout counts: an area
	// code in parentheses, or three or more groups. Two groups are as
	// often a house number and a street number, or a postal code.
	switch {
	case (r.ng >= 3 && !thousands || r.paren) && s.d.phoneValid(raw, false):
		s.add(r.start, r.extEnd, Phone, 0.8)
	case r.ng == 1 && r.nd >= 10 && s.d.phoneValid(raw, false):
		// A bare digit string is as often an order or account number.
		s.add(r.start, r.extEnd, Phone, 0.45)
	}
}

// phoneValid asks libphonenumber whether raw is a valid number, reading it
// as international or in each configured region. Answers are cached: chat
// clients resend the whole conversation every turn, and the library costs
// tens of microseconds per number.
func (d *Detector) phoneValid(raw string, intl bool) bool {
	if d.minScore > 0.95 {
		return false
	}
	key := maphash.String(d.cache.seed, raw)
	if intl {
		key ^= 1
	}
	if v, ok := d.cache.get(key); ok {
		return v
	}
	v := d.phoneValidUncached(raw, intl)
	d.cache.put(key, v)
	return v
}

func (d *Detector) phoneValidUncached(raw string, intl bool) bool {
	if intl {
		n, err := phonenumbers.Parse(raw, "DE") // region only matters for "00" prefixes
		return err == nil && phonenumbers.IsValidNumber(n)
	}
	for _, region := range d.phoneRegions {
		n, err := phonenumbers.Parse(raw, region)
		if err == nil && phonenumbers.IsValidNumber(n) {
			return true
		}
	}
	return false
}

func knownRegion(r string) bool {
	return len(r) == 2 && phonenumbers.GetSupportedRegions()[r]
}

// cardValid checks the Luhn digit, the issuer prefix (IIN) and the length
// the issuer uses. Well-known test numbers from payment providers'
// documentation are not cards anyone holds.
func cardValid(d string) bool {
	if sameDigit(d) || !luhn(d) || testCards[d] {
		return false
	}
	n := len(d)
	p2, p3, p4, p6 := atoi(d[:2]), atoi(d[:3]), atoi(d[:4]), atoi(d[:6])
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 >= 2200 && p4 <= 2204: // Mir
		return n >= 16 && n <= 19
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return n >= 14 && n <= 19
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16 && n <= 19
	case p4 == 1800 || p4 == 2131: // JCB, 15-digit legacy ranges
		return n == 15
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65, p6 >= 622126 && p6 <= 622925: // Discover
		return n >= 16 && n <= 19
	case p2 == 62: // UnionPay
		return n >= 16 && n <= 19
	case p2 == 50, p2 >= 56 && p2 <= 69: // Maestro and other debit schemes
		return n >= 12 && n <= 19
	case p2 == 60 || p2 == 81 || p2 == 82 || p3 == 508: // RuPay
		return n == 16
	case p4 == 9792: // Troy
		return n == 16
	}
	return false
}

var testCards = map[string]bool{
	"4111111111111111": true, "4242424242424242": true, "4012888888881881": true,
	"4000056655665556": true, "5555555555554444": true, "5105105105105100": true,
	"2223003122003222": true, "378282246310005": true, "371449635398431": true,
	"6011111111111117": true, "6011000990139424": true, "3056930009020004": true,
	"30569309025904": true, "3566002020360505": true, "6200000000000005": true,
	"4000000000000002": true, "4000000000009995": true, "5200828282828210": true,
}

// validityCache remembers libphonenumber's answers by a seeded hash of the
// number's text, so no phone number is kept in memory. It is cleared when
// full rather than evicting: a simple bound is all it needs.
type validityCache struct {
	seed maphash.Seed
	mu   sync.RWMutex
	m    map[uint64]bool
}

const validityCacheSize = 8192

func (c *validityCache) get(k uint64) (bool, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *validityCache) put(k uint64, v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= validityCacheSize {
		c.m = make(map[uint64]bool, 64)
	}
	c.m[k] = v
}
