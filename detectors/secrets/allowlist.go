package secrets

import (
	"slices"
	"strings"

	glconfig "github.com/zricethezav/gitleaks/v8/config"
	glregexp "github.com/zricethezav/gitleaks/v8/regexp"
)

// allowlist is the part of a gitleaks allowlist that can hold for a prompt
// (regexes and stop words; paths and commits cannot). It is copied out of
// gitleaks' Allowlist so that the loaded configuration can be freed: its
// stop-word Aho-Corasick tries alone hold about 8.6 MiB, which is most of
// the firewall's resident heap when idle; stopSet does the same job in
// about 100 KiB.
type allowlist struct {
	and     bool   // MatchCondition AND: regexes and stop words must both hold
	target  string // gitleaks' RegexTarget: "" (the secret), "match" or "line"
	regexes []*glregexp.Regexp
	stop    stopSet
}

func newAllowlist(a *glconfig.Allowlist) allowlist {
	return allowlist{and: a.MatchCondition == glconfig.AllowlistMatchAnd, target: a.RegexTarget,
		regexes: a.Regexes, stop: newStopSet(a.StopWords)}
}

// regexAllowed is gitleaks' RegexAllowed: any regex matches s.
func (a *allowlist) regexAllowed(s string) bool {
	if s == "" {
		return false
	}
	for _, re := range a.regexes {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// stopSet answers gitleaks' ContainsStopWord: does the lower-cased secret
// contain one of the stop words? Stop words are looked up by length at every
// offset of the secret (secrets are short; there are a dozen or so lengths).
type stopSet struct {
	words   map[string]struct{}
	lengths []int // distinct stop-word lengths, ascending
}

func newStopSet(words []string) stopSet {
	if len(words) == 0 {
		return stopSet{}
	}
	s := stopSet{words: make(map[string]struct{}, len(words))}
	for _, w := range words {
		w = strings.ToLower(w)
		if w == "" {
			continue
		}
		s.words[w] = struct{}{}
		if !slices.Contains(s.lengths, len(w)) {
			s.lengths = append(s.lengths, len(w))
		}
	}
	slices.Sort(s.lengths)
	return s
}

func (s *stopSet) empty() bool { return len(s.words) == 0 }

func (s *stopSet) contains(secret string) bool {
	if s.empty() || secret == "" {
		return false
	}
	secret = strings.ToLower(secret)
	for i := 0; i < len(secret); i++ {
		for _, n := range s.lengths {
			if i+n > len(secret) {
				break
			}
			if _, ok := s.words[secret[i:i+n]]; ok {
				return true
			}
		}
	}
	return false
}
