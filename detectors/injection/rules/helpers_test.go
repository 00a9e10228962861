package rules

import (
	"regexp"
	"strings"
	"sync"
	"unicode"
)

var (
	slowMu sync.Mutex
	slowRE = map[int]*regexp.Regexp{}
)

// unanchored is pattern i compiled without the \A anchor.
func unanchored(i int) *regexp.Regexp {
	slowMu.Lock()
	defer slowMu.Unlock()
	re := slowRE[i]
	if re == nil {
		re = regexp.MustCompile(pats[i].src)
		slowRE[i] = re
	}
	return re
}

// normalize stands in for detectors/normalize in tests: lower-case and
// collapse whitespace runs (keeping a newline when the run holds one, so
// line-start rules stay testable).
func normalize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	b.Grow(len(s))
	inSpace, nl := false, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			inSpace = true
			nl = nl || r == '\n'
			continue
		}
		if inSpace && b.Len() > 0 {
			if nl {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		inSpace, nl = false, false
		b.WriteRune(r)
	}
	return b.String()
}

// findSlow runs every pattern on the whole text, without the anchor
// prefilter and windows, to check that the prefilter never loses a match.
func findSlow(text string) map[string]bool {
	out := map[string]bool{}
	for i, p := range pats {
		if p.lineStart {
			for i := range text {
				if (i == 0 || startsLine(text, i)) && p.re.MatchString(text[i:]) {
					if i > 0 && isWordByte(text[i-1]) {
						continue
					}
					out[ruleIDs[p.rule]] = true
					break
				}
			}
			continue
		}
		if unanchored(i).MatchString(text) {
			out[ruleIDs[p.rule]] = true
		}
	}
	return out
}
