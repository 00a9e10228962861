package rules

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// Required literals: for each pattern, a set of strings one of which every
// match of its regexp contains, derived from the regexp's syntax tree. Since
// a match lies within the window the regexp runs on, a window holding none of
// them cannot match and the regexp is not run: an exact filter, cheaper than
// the regexp engine on the long alternations of the catalogue.

const (
	maxReqLits = 64
	maxCross   = 16
	maxCheck   = 24
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
	if weakSet(s.lits) || len(s.lits) > maxCheck {
		return nil // too weak or too many to pay for itself
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

// better reports whether literal set a is a more selective filter than b:
// a longer shortest literal, then fewer literals.
// better reports whether literal set a is a more useful filter than b: not
// at the start of the match (where the anchor already is), then literals of
// at least four bytes, then fewer literals, then longer ones.
func better(a, b litSet) bool {
	if a.start != b.start {
		return !a.start
	}
	if wa, wb := weakSet(a.lits), weakSet(b.lits); wa != wb {
		return !wb
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

func containsAnyLit(s string, lits []string) bool {
	for _, l := range lits {
		if strings.Contains(s, l) {
			return true
		}
	}
	return false
}

// branch is one top-level alternative of an anchored pattern. Run in order
// at the same anchor, the first branch that matches gives the match that
// \A(?:b1|b2|...) gives (leftmost-first), so a pattern is tried branch by
// branch, each behind its own required literals and with a smaller program.
type branch struct {
	re  *regexp.Regexp
	req []string
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
		out = append(out, branch{re: re, req: requiredLits(s)})
	}
	return out, nil
}
