package secrets

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// byteSet is a set of ASCII bytes plus one bit for "any non-ASCII byte".
type byteSet struct {
	ascii    [2]uint64
	nonASCII bool
}

func (s *byteSet) add(c rune) {
	if c < utf8.RuneSelf {
		s.ascii[c>>6] |= 1 << (uint(c) & 63)
	} else {
		s.nonASCII = true
	}
}

func (s *byteSet) addRange(lo, hi rune) {
	for c := lo; c <= min(hi, utf8.RuneSelf-1); c++ {
		s.add(c)
	}
	if hi >= utf8.RuneSelf {
		s.nonASCII = true
	}
}

func (s *byteSet) union(o byteSet) {
	s.ascii[0] |= o.ascii[0]
	s.ascii[1] |= o.ascii[1]
	s.nonASCII = s.nonASCII || o.nonASCII
}

func (s *byteSet) disjoint(o byteSet) bool {
	return s.ascii[0]&o.ascii[0] == 0 && s.ascii[1]&o.ascii[1] == 0 && !(s.nonASCII && o.nonASCII)
}

func (s *byteSet) has(b byte) bool {
	if b >= utf8.RuneSelf {
		return s.nonASCII
	}
	return s.ascii[b>>6]&(1<<(b&63)) != 0
}

// gate is a cheap necessary condition for an anchored regex: from the anchor,
// at most bound bytes of run, then a byte of next. gitleaks' assignment
// rules ("<name> [spaces] = value") fail it in one short loop wherever a
// keyword is not followed by an assignment, which is nearly everywhere in
// prose.
type gate struct {
	run, next byteSet
	bound     int
}

// deriveGate walks the leading elements of re: while each may only match
// bytes of the run seen so far or extends it, it accumulates; the first
// element that cannot match empty and whose first byte can never be a run
// byte becomes next.
func deriveGate(re *syntax.Regexp) (g gate, ok bool) {
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	for i, e := range subs {
		if first, ok := firstSet(e); ok && i > 0 && minLen(e) > 0 && g.run.disjoint(first) {
			g.next = first
			return g, !first.nonASCII
		}
		all, ok := charSet(e)
		if !ok {
			return g, false
		}
		n, ok := maxRunes(e)
		if !ok {
			return g, false
		}
		g.run.union(all)
		g.bound += n
	}
	return g, false
}

// pass reports whether text from start can satisfy the gate: within bound
// runes, the first byte outside run is in next.
func (g *gate) pass(text string, start int) bool {
	runes := 0
	for i := start; i < len(text); i++ {
		c := text[i]
		if !g.run.has(c) {
			return g.next.has(c)
		}
		if c&0xC0 != 0x80 { // count runes, not continuation bytes
			if runes++; runes > g.bound {
				return false
			}
		}
	}
	return false
}

// maxRunes is the longest match of e in runes, if it is bounded.
func maxRunes(e *syntax.Regexp) (int, bool) {
	switch e.Op {
	case syntax.OpLiteral:
		return len(e.Rune), true
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1, true
	case syntax.OpCapture, syntax.OpQuest:
		return maxRunes(e.Sub[0])
	case syntax.OpRepeat:
		if e.Max < 0 {
			return 0, false
		}
		n, ok := maxRunes(e.Sub[0])
		return n * e.Max, ok
	case syntax.OpConcat, syntax.OpAlternate:
		total := 0
		for _, s := range e.Sub {
			n, ok := maxRunes(s)
			if !ok {
				return 0, false
			}
			if e.Op == syntax.OpConcat {
				total += n
			} else {
				total = max(total, n)
			}
		}
		return total, true
	case syntax.OpStar, syntax.OpPlus:
		return 0, false
	}
	return 0, true // empty-width assertions
}

// charSet is every byte e can match.
func charSet(e *syntax.Regexp) (s byteSet, ok bool) {
	switch e.Op {
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary,
		syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return s, true
	case syntax.OpLiteral:
		for _, c := range e.Rune {
			addFolded(&s, c, e.Flags&syntax.FoldCase != 0)
		}
		return s, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(e.Rune); i += 2 {
			s.addRange(e.Rune[i], e.Rune[i+1])
		}
		return s, true
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat,
		syntax.OpConcat, syntax.OpAlternate:
		for _, sub := range e.Sub {
			t, ok := charSet(sub)
			if !ok {
				return s, false
			}
			s.union(t)
		}
		return s, true
	}
	return s, false
}

// firstSet is every byte a non-empty match of e can start with.
func firstSet(e *syntax.Regexp) (s byteSet, ok bool) {
	switch e.Op {
	case syntax.OpLiteral:
		if len(e.Rune) == 0 {
			return s, false
		}
		addFolded(&s, e.Rune[0], e.Flags&syntax.FoldCase != 0)
		return s, true
	case syntax.OpCharClass:
		return charSet(e)
	case syntax.OpCapture, syntax.OpPlus:
		return firstSet(e.Sub[0])
	case syntax.OpRepeat:
		if e.Min < 1 {
			return s, false
		}
		return firstSet(e.Sub[0])
	case syntax.OpAlternate:
		for _, sub := range e.Sub {
			t, ok := firstSet(sub)
			if !ok {
				return s, false
			}
			s.union(t)
		}
		return s, true
	case syntax.OpConcat:
		if len(e.Sub) == 0 || minLen(e.Sub[0]) == 0 {
			return s, false
		}
		return firstSet(e.Sub[0])
	}
	return s, false
}

func addFolded(s *byteSet, c rune, fold bool) {
	s.add(c)
	if fold {
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			s.add(f)
		}
	}
}

// minLen is the shortest match of e in runes.
func minLen(e *syntax.Regexp) int {
	switch e.Op {
	case syntax.OpLiteral:
		return len(e.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(e.Sub[0])
	case syntax.OpRepeat:
		return e.Min * minLen(e.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range e.Sub {
			n += minLen(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range e.Sub {
			if m := minLen(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0
}
