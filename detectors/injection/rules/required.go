package rules

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Required literals: for each pattern, a set of strings one of which every
// match of its regexp contains, derived from the regexp's syntax tree. Since
// a match lies within the window the regexp runs on, a window holding none of
// them cannot match and the regexp is not run: an exact filter, cheaper than
// the regexp engine on the long alternations of the catalogue.

const (
	maxReqLits = 64
	maxCross   = 16
)

// litSet is what is known about the strings a regexp matches: if ok, every
// match contains one of lits; if also exact, every match is one of lits.
type litSet struct {
	lits  []string
	ok    bool
	exact bool
	start bool // the literals begin the match: the anchor, already found
}

// requiredLits returns the literals one of which every match of the regexp
// src contains, or nil when no useful set is known.
func requiredLits(src string) []string {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	s := litsOf(re, true)
	if !s.ok || s.start || len(s.lits) == 0 || len(s.lits) > maxReqLits {
		return nil
	}
	if weakSet(s.lits) {
		return nil // too weak to pay for itself
	}
	return s.lits
}

func dedup(l []string) []string {
	slices.Sort(l)
	return slices.Compact(l)
}

func litsOf(re *syntax.Regexp, atStart bool) litSet {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return litSet{}
		}
		return litSet{lits: []string{string(re.Rune)}, ok: true, exact: true, start: atStart}
	case syntax.OpEmptyMatch:
		return litSet{lits: []string{""}, ok: true, exact: true}
	case syntax.OpCharClass:
		// small classes without ranges wider than a few runes
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) >= 4 {
					return litSet{}
				}
				out = append(out, string(r))
			}
		}
		if len(out) == 0 {
			return litSet{}
		}
		return litSet{lits: out, ok: true, exact: true, start: atStart}
	case syntax.OpCapture:
		return litsOf(re.Sub[0], atStart)
	case syntax.OpQuest:
		s := litsOf(re.Sub[0], atStart)
		if s.exact && len(s.lits) < maxReqLits {
			return litSet{lits: dedup(append(slices.Clone(s.lits), "")), ok: true, exact: true, start: s.start}
		}
		return litSet{}
	case syntax.OpPlus:
		s := litsOf(re.Sub[0], atStart)
		s.exact = false
		return s
	case syntax.OpRepeat:
		if re.Min < 1 {
			return litSet{}
		}
		s := litsOf(re.Sub[0], atStart)
		if re.Min != 1 || re.Max != 1 {
			s.exact = false
		}
		return s
	case syntax.OpAlternate:
		var out []string
		exact, start := true, false
		for _, sub := range re.Sub {
			s := litsOf(sub, atStart)
			start = start || s.start
			if !s.ok {
				return litSet{}
			}
			exact = exact && s.exact
			out = append(out, s.lits...)
			if len(out) > maxReqLits {
				return litSet{}
			}
		}
		out = dedup(out)
		if !exact {
			// a non-exact set with "" in it requires nothing
			if slices.Contains(out, "") {
				return litSet{}
			}
		}
		return litSet{lits: out, ok: true, exact: exact, start: start}
	case syntax.OpConcat:
		var best litSet
		allExact := true
		var run []string // cross product of the current run of exact children
		inRun, runStart, runSplit := false, false, false
		consider := func(s litSet) {
			if !s.ok || len(s.lits) == 0 || slices.Contains(s.lits, "") {
				return
			}
			if !best.ok || better(s, best) {
				best = litSet{lits: s.lits, ok: true, start: s.start}
			}
		}
		flush := func() {
			if inRun {
				consider(litSet{lits: dedup(run), ok: true, start: runStart})
			}
			run, inRun = nil, false
		}
		// the children up to the first one that consumes text are at the start
		for _, sub := range re.Sub {
			s := litsOf(sub, atStart)
			if atStart && !(sub.Op == syntax.OpEmptyMatch || sub.Op == syntax.OpBeginText || sub.Op == syntax.OpWordBoundary || sub.Op == syntax.OpBeginLine) {
				atStart = false
			}
			if !s.exact {
				allExact = false
				flush()
				consider(s)
				continue
			}
			if !inRun {
				run, inRun, runStart = slices.Clone(s.lits), true, s.start
				continue
			}
			if len(run)*len(s.lits) > maxCross {
				flush()
				runSplit = true
				run, inRun, runStart = slices.Clone(s.lits), true, s.start
				continue
			}
			var next []string
			for _, a := range run {
				for _, b := range s.lits {
					next = append(next, a+b)
				}
			}
			run = next
		}
		if allExact && inRun && !runSplit {
			return litSet{lits: dedup(run), ok: true, exact: true, start: runStart}
		}
		flush()
		return best
	}
	return litSet{}
}

// better reports whether literal set a is a more useful filter than b: not
// at the start of the match (where the anchor already is), then not weak
// (see weakSet), then fewer literals, then longer ones.
func better(a, b litSet) bool {
	if a.start != b.start {
		return !a.start
	}
	if wa, wb := weakSet(a.lits), weakSet(b.lits); wa != wb {
		return !wa
	}
	ma, mb := minLen(a.lits), minLen(b.lits)
	if len(a.lits) != len(b.lits) {
		return len(a.lits) < len(b.lits)
	}
	return ma > mb
}

// weakSet reports whether a literal set holds a short or very common word,
// which occurs in most windows and filters nothing.
func weakSet(l []string) bool {
	for _, s := range l {
		t := strings.TrimSpace(s)
		if len(t) < 4 || slices.Contains(commonWords, t) {
			return true
		}
	}
	return false
}

var commonWords = []string{"that", "this", "your", "with", "from", "have", "will", "what", "when", "then", "them", "they", "there", "these", "those", "would", "about", "which", "other", "than", "just", "only", "into", "also", "some", "more", "like", "been", "were"}

func minLen(l []string) int {
	m := 1 << 30
	for _, s := range l {
		m = min(m, len(s))
	}
	return m
}

// branch is one top-level alternative of an anchored pattern. Run in order
// at the same anchor, the first branch that matches gives the match that
// \A(?:b1|b2|...) gives (leftmost-first), so a pattern is tried branch by
// branch, each behind its own required literals and with a smaller program.
type branch struct {
	re  *regexp.Regexp
	req *windowSet // literals one of which every match contains, or nil
	// head: a necessary prefix of re matching at most headLen bytes (see
	// headOf), or nil
	head    *regexp.Regexp
	headLen int
}

// topAlternatives splits src at its top-level '|' (outside groups, classes
// and escapes); it returns nil if src has none.
func topAlternatives(src string) []string {
	var out []string
	depth, last := 0, 0
	inClass := false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(src) && src[i+1] == '^' {
				i++
			}
			if i+1 < len(src) && src[i+1] == ']' {
				i++
			}
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, src[last:i])
			last = i + 1
		}
	}
	if len(out) == 0 {
		return nil
	}
	return append(out, src[last:])
}

func splitBranches(src string) ([]branch, error) {
	var out []branch
	for _, a := range topAlternatives(src) {
		s := `\A(?:` + a + `)`
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, err
		}
		h, hn := compileHead(s)
		out = append(out, branch{re: re, req: newWindowSet(requiredLits(s)), head: h, headLen: hn})
	}
	return out, nil
}

// Heads: the leading part of an anchored pattern whose matches are at most a
// few bytes long. Every match of the pattern begins with a match of its head,
// so a head that does not match at the anchor rules the pattern out; being
// short, it runs on a short window with Go's backtracker, whose cost grows
// with program size times window length, and rejects most anchors (a common
// verb not followed by what the pattern wants) for a fraction of a full run.

const maxHeadLen = 64 // bytes

// maxLen is the longest match of re in bytes, or -1 if unbounded.
func maxLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				n += utf8.UTFMax
			} else {
				n += utf8.RuneLen(r)
			}
		}
		return n
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return 0
		}
		if l := utf8.RuneLen(re.Rune[len(re.Rune)-1]); l > 0 {
			return l
		}
		return utf8.UTFMax
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpCapture:
		return maxLen(re.Sub[0])
	case syntax.OpQuest:
		return maxLen(re.Sub[0])
	case syntax.OpRepeat:
		if re.Max < 0 {
			return -1
		}
		n := maxLen(re.Sub[0])
		if n < 0 {
			return -1
		}
		return n * re.Max
	case syntax.OpConcat, syntax.OpAlternate:
		t := 0
		for _, s := range re.Sub {
			n := maxLen(s)
			if n < 0 {
				return -1
			}
			if re.Op == syntax.OpConcat {
				t += n
			} else {
				t = max(t, n)
			}
		}
		return t
	}
	return -1
}

// headOf returns the head of the \A-anchored regexp src (a leading run of its
// top-level concatenation matching at most maxHeadLen bytes, possibly all of
// it) and that bound, or "" if it has none worth running.
func headOf(src string) (string, int) {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil || re.Op != syntax.OpConcat {
		return "", 0
	}
	total, k, consuming := 0, 0, 0
	for k < len(re.Sub) {
		n := maxLen(re.Sub[k])
		if n < 0 || total+n > maxHeadLen {
			break
		}
		if n > 0 {
			consuming++
		}
		total += n
		k++
	}
	if consuming < 2 {
		return "", 0
	}
	h := &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: re.Sub[:k]}
	if re.Sub[0].Op != syntax.OpBeginText {
		return "", 0
	}
	return h.String(), total
}

var headCache = map[string]*regexp.Regexp{}

// compileHead returns the shared compiled head of src, or nil.
func compileHead(src string) (*regexp.Regexp, int) {
	h, n := headOf(src)
	if h == "" {
		return nil, 0
	}
	if re, ok := headCache[h]; ok {
		return re, n
	}
	re, err := regexp.Compile(h)
	if err != nil {
		return nil, 0
	}
	headCache[h] = re
	return re, n
}

// headMatches reports whether head (matching at most n bytes) matches at the
// start of text[ws:we]. It runs on the first n bytes plus one rune, so that
// assertions such as \b at the end of the head see the byte after it.
func headMatches(head *regexp.Regexp, n int, text string, ws, we int) bool {
	e := min(we, ws+n+utf8.UTFMax)
	for e < we && !utf8.RuneStart(text[e]) {
		e++
	}
	return head.MatchString(text[ws:e])
}
