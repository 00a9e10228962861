package normalize

import (
	"strings"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// commonWords are frequent English words plus the vocabulary of prompt
// injection; a ROT13 or reversed reading is reported when it turns
// non-words into these.
const commonWords = `the be to of and a in that have it for not on with he as you do at this but his by
from they we say her she or an will my one all would there their what so up out if about who get
which go me when make can like time no just him know take people into year your good some could
them see other than then now look only come its over think also back after use two how our work
first well way even new want because any these give day most us is are was were been has had did
does am please tell show print reveal write give answer respond repeat output act pretend now
ignore disregard forget override bypass skip previous prior above earlier instructions instruction
rules rule prompt system message messages secret secrets password passwords key keys token admin
developer mode jailbreak unrestricted everything anything nothing never always must should here
following below hidden confidential internal data user assistant model you're dont don't cannot
hello world this that those these very more less any each every before again still into onto
translate decode encode say said says code text words word language english only simply instead
new now then next last first safety filter filters guidelines policy policies restrictions
unfiltered uncensored evil harmful illegal weapon weapons bomb kill hack hacking malware steal
delete drop table files file send email emails url link call function tool execute run command
shell root access private credentials api`

// wordSet is an open-addressing set of lower-case ASCII words of at most 16
// bytes, packed into two words: a lookup costs a few nanoseconds.
type wordSet struct {
	keys [1024][2]uint64
}

func (s *wordSet) slot(k [2]uint64) int {
	h := k[0]*0x9E3779B97F4A7C15 ^ k[1]*0xC2B2AE3D27D4EB4F
	h ^= h >> 29
	return int(h>>54) & (len(s.keys) - 1)
}

func (s *wordSet) add(w string) {
	k, ok := pack(w, packPlain)
	if !ok {
		return
	}
	for i := s.slot(k); ; i = (i + 1) & (len(s.keys) - 1) {
		if s.keys[i] == k {
			return
		}
		if s.keys[i] == [2]uint64{} {
			s.keys[i] = k
			return
		}
	}
}

func (s *wordSet) has(k [2]uint64) bool {
	for i := s.slot(k); ; i = (i + 1) & (len(s.keys) - 1) {
		switch s.keys[i] {
		case k:
			return true
		case [2]uint64{}:
			return false
		}
	}
}

const (
	packPlain = iota
	packROT13
	packReversed
	packLeet
)

// pack turns a word into its set key, read plainly, in ROT13, reversed or
// with leet digits as letters.
func pack(w string, how int) ([2]uint64, bool) {
	var k [2]uint64
	if len(w) == 0 || len(w) > 16 {
		return k, false
	}
	for i := 0; i < len(w); i++ {
		j := i
		if how == packReversed {
			j = len(w) - 1 - i
		}
		c := w[j]
		switch how {
		case packROT13:
			c = rot13(c)
		case packLeet:
			c = leetLetter(c)
		}
		k[i>>3] |= uint64(c) << (8 * (i & 7))
	}
	return k, true
}

var common = func() *wordSet {
	s := &wordSet{}
	for _, w := range strings.Fields(commonWords) {
		s.add(w)
	}
	return s
}()

// initials[n][a*26+b] is set when a common word of n letters starts with
// the letters a, b.
var initials = func() (t [17][26 * 26]bool) {
	for _, w := range strings.Fields(commonWords) {
		if n := len(w); n >= 2 && n <= 16 && isLowerWord(w[:2]) {
			t[n][int(w[0]-'a')*26+int(w[1]-'a')] = true
		}
	}
	return t
}()

func isLowerWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// Token classes for readings: letters, leet characters, other digits.
const (
	tLetter = 1 << iota
	tLeet
	tDigit
)

var tokenByte = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = tLetter
	}
	for _, c := range "013457@$" {
		t[c] = tLeet
	}
	for _, c := range "2689" {
		t[c] = tDigit
	}
	return t
}()

func rot13(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z':
		return 'a' + (c-'a'+13)%26
	case c >= 'A' && c <= 'Z':
		return 'A' + (c-'A'+13)%26
	}
	return c
}

func leetLetter(c byte) byte {
	switch c {
	case '0':
		return 'o'
	case '1':
		return 'i'
	case '3':
		return 'e'
	case '4', '@':
		return 'a'
	case '5', '$':
		return 's'
	case '7':
		return 't'
	}
	return c
}

// cluster gathers tokens whose alternative reading is a common word while
// the token itself is not.
type cluster struct {
	hits, first, last int // token indices
	start, end        int // byte span in the text
	// the accepted span and hit count so far
	okStart, okEnd, okHits int
	// all hits, accepted or not
	total, allStart, allEnd int
}

func (c *cluster) hit(tok, start, end int) {
	if c.hits > 0 && tok-c.last > 3 {
		c.close()
	}
	if c.hits == 0 {
		c.first, c.start = tok, start
	}
	c.hits++
	c.last, c.end = tok, end
	if c.total == 0 {
		c.allStart = start
	}
	c.total++
	c.allEnd = end
}

// close accepts the current cluster when dense enough: three hits making up
// most of the tokens they span.
func (c *cluster) close() {
	if c.hits >= 3 && c.hits*10 >= 6*(c.last-c.first+1) {
		if c.okHits == 0 {
			c.okStart = c.start
		}
		c.okEnd = c.end
		c.okHits += c.hits
	}
	c.hits = 0
}

// readings looks for alternative readings of the canonical text: ROT13,
// reversed and leetspeak, each reported as a layer when it turns non-words
// into common words.
func readings(v *pipeline.View, depth int, st *state, span spanFunc) {
	t := v.Text
	var rot, rev cluster
	tokens := 0
	leetHits, leetFirst, leetLast := 0, -1, -1
	leetCommon := false
	for i := 0; i < len(t); {
		if tokenByte[t[i]] == 0 {
			i++
			continue
		}
		start := i
		mix := uint8(0)
		for i < len(t) && tokenByte[t[i]] != 0 {
			mix |= tokenByte[t[i]]
			i++
		}
		if mix&tLetter == 0 {
			continue
		}
		w := t[start:i]
		if mix == tLetter {
			tokens++
			n := len(w)
			if n < 2 || n > 16 {
				continue
			}
			// Cheap prefilter on length and first two letters of the
			// reading before the full look-ups.
			r := initials[n][int(rot13(w[0])-'a')*26+int(rot13(w[1])-'a')]
			b := initials[n][int(w[n-1]-'a')*26+int(w[n-2]-'a')]
			if !r && !b {
				continue
			}
			if k, _ := pack(w, packPlain); common.has(k) {
				continue
			}
			if r {
				if k, _ := pack(w, packROT13); common.has(k) {
					rot.hit(tokens, start, i)
				}
			}
			if b {
				if k, _ := pack(w, packReversed); common.has(k) {
					rev.hit(tokens, start, i)
				}
			}
			continue
		}
		if mix&tDigit == 0 && leetWord(t, start, i) {
			leetHits++
			if k, ok := pack(w, packLeet); ok && common.has(k) {
				leetCommon = true
			}
			if leetFirst < 0 {
				leetFirst = start
			}
			leetLast = i
		}
	}
	rot.close()
	rev.close()
	// A short text that is entirely ROT13 or reversed ("uryyb jbeyq"):
	// hits only count tokens that are not common words themselves.
	if tokens >= 2 {
		for _, c := range []*cluster{&rot, &rev} {
			if c.okHits == 0 && c.total == tokens {
				c.okStart, c.okEnd, c.okHits = c.allStart, c.allEnd, c.total
			}
		}
	}
	if leetHits == 1 && !leetCommon {
		leetHits = 0
	}
	if rot.okHits > 0 {
		b := []byte(t[rot.okStart:rot.okEnd])
		for i, c := range b {
			b[i] = rot13(c)
		}
		a, z := span(v.OriginalSpan(rot.okStart, rot.okEnd))
		if st.addLayer(EncROT13, depth, string(b), a, z) {
			st.signals[sigROT13] += rot.okHits
		}
	}
	if rev.okHits > 0 {
		a, z := span(v.OriginalSpan(rev.okStart, rev.okEnd))
		if st.addLayer(EncReversed, depth, reverseRunes(t[rev.okStart:rev.okEnd]), a, z) {
			st.signals[sigReversed] += rev.okHits
		}
	}
	if leetHits > 0 {
		b := []byte(t[leetFirst:leetLast])
		foldLeet(b)
		a, z := span(v.OriginalSpan(leetFirst, leetLast))
		if st.addLayer(EncLeetspeak, depth, string(b), a, z) {
			st.signals[sigLeetspeak] += leetHits
		}
	}
}

// unitSuffixes follow numbers ("1st", "5pm", "3d") and are not leetspeak.
var unitSuffixes = map[string]bool{
	"st": true, "nd": true, "rd": true, "th": true, "am": true, "pm": true, "px": true,
	"kb": true, "mb": true, "gb": true, "tb": true, "ms": true, "ns": true, "km": true,
	"kg": true, "mg": true, "ml": true, "cm": true, "mm": true, "min": true, "sec": true,
	"hrs": true, "hr": true, "yrs": true, "fps": true, "bit": true, "mp": true, "ghz": true,
	"mhz": true, "khz": true, "ish": true, "pt": true, "em": true, "rem": true, "dpi": true,
}

// leetWord reports whether t[start:end] (letters mixed with leet digits,
// '@' and '$') is leetspeak: a leet character between letters ("h4ck",
// "pr3v10us") or leading ones before a word ("4ll"), and not an e-mail
// address, hex string or number with a unit.
func leetWord(t string, start, end int) bool {
	w := t[start:end]
	if len(w) > 24 || len(w) < 3 {
		return false
	}
	if end+1 < len(t) && t[end] == '.' && isASCIILetter(t[end+1]) && strings.IndexByte(w, '@') >= 0 {
		return false // e-mail address
	}
	hexOnly := true
	for i := 0; i < len(w); i++ {
		if class[w[i]]&cHex == 0 {
			hexOnly = false
			break
		}
	}
	if hexOnly {
		return false
	}
	firstLetter, lastLetter := -1, -1
	for i := 0; i < len(w); i++ {
		if w[i] >= 'a' && w[i] <= 'z' {
			if firstLetter < 0 {
				firstLetter = i
			}
			lastLetter = i
		}
	}
	for i := firstLetter + 1; i < lastLetter; i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return true
		}
	}
	// Leading leet characters: "4ll", but not "1st", "@user" or "$var".
	if firstLetter > 0 && firstLetter <= 2 && w[0] != '@' && w[0] != '$' && lastLetter == len(w)-1 {
		rest := w[firstLetter:]
		if len(rest) >= 2 && !unitSuffixes[rest] {
			return true
		}
	}
	return false
}

// foldLeet reads leet characters as letters inside tokens that mix them
// with letters.
func foldLeet(b []byte) {
	for i := 0; i < len(b); {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '@' || c == '$') {
			i++
			continue
		}
		start := i
		letters, other := 0, 0
		for i < len(b) && (b[i] >= 'a' && b[i] <= 'z' || b[i] >= '0' && b[i] <= '9' || b[i] == '@' || b[i] == '$') {
			switch c := b[i]; {
			case c >= 'a' && c <= 'z':
				letters++
			case !leetDigit[c] && c != '@' && c != '$':
				other++
			}
			i++
		}
		if letters > 0 && other == 0 {
			for k := start; k < i; k++ {
				b[k] = leetLetter(b[k])
			}
		}
	}
}

func reverseRunes(s string) string {
	out := make([]byte, len(s))
	j := len(s)
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		j -= n
		copy(out[j:], s[i:i+n])
		i += n
	}
	return string(out)
}
