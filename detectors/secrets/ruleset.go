package secrets

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/viper"
	glconfig "github.com/zricethezav/gitleaks/v8/config"
)

// GitleaksVersion is the gitleaks release whose default rules this package
// runs; it must match go.mod (a test checks it).
const GitleaksVersion = "v8.30.1"

// tier says how much a rule's shape alone tells: a self-identifying format
// (a vendor prefix, a PEM armour) is near-certain, a vendor keyword next to
// an assignment less so, a generic assignment least.
type tier uint8

const (
	tierFormat  tier = iota // the token format names its issuer (ghp_, AKIA, sk-ant-, xoxb-)
	tierContext             // a vendor keyword, an assignment, then a value of the vendor's charset and length
	tierGeneric             // a secret-sounding name assigned a high-entropy value
)

func (t tier) String() string {
	switch t {
	case tierFormat:
		return "format"
	case tierContext:
		return "context"
	}
	return "generic"
}

// contextTier lists rules whose secret has no vendor format of its own: what
// they find is known to be a secret from its surroundings only (a curl
// credential flag, any 40 hex digits once "sourcegraph" is mentioned).
var contextTier = map[string]bool{
	"curl-auth-header":         true,
	"curl-auth-user":           true,
	"sourcegraph-access-token": true,
}

// rule is one compiled gitleaks rule.
type rule struct {
	id          string // gitleaks rule ID
	ruleID      string // "secrets." + id
	entity      string
	description string
	tier        tier
	generic     bool // gitleaks' "generic" rules yield to any other rule on the same secret

	full *regexp.Regexp // gitleaks' regex, run on the whole text when it has no anchored form
	// variants are the anchored forms of the regex, one per top-level
	// alternative; nil when one cannot be derived.
	variants    []variant
	keywords    []string // gitleaks keywords (lower case); the rule runs only if one occurs
	secretGroup int
	entropy     float64
	allow       []allowlist
}

// variant is one anchored form of a rule's regex: "^" + the regex (or one
// of its top-level alternatives) without the optional run of identifier
// characters gitleaks puts before the keyword, tried only where one of its
// anchors occurs.
type variant struct {
	re        *regexp.Regexp // groups numbered as in the rule's regex
	wordBound bool           // the regex starts with \b: checked by hand before re runs
	window    int            // longest match of re in bytes, +1 so "$" cannot match at a cut; 0 = unbounded
	// capped marks an unbounded regex that ends in "|$)": it runs on the
	// first capWindow bytes, and again on the whole rest of the text only
	// when its match reaches the cut (so "$" cannot fire there falsely).
	capped  bool
	anchors []string // lower-case literals every match of re starts with
	gate    gate     // a cheap necessary condition checked before re runs, when hasGate
	hasGate bool
}

// ruleSet is the immutable, shared compiled form of the default rules.
type ruleSet struct {
	rules    []*rule
	byID     map[string]int
	excluded map[string]string // rule ID → why it cannot run here
	global   []allowlist
	ac       *automaton
	// patterns[i] is the AC pattern i: the rules it gates as a keyword and
	// the rules it anchors.
	patterns []pattern
	// alwaysOn are the rules with no keywords: gitleaks runs them on every text.
	alwaysOn ruleMask
}

type pattern struct {
	gates   ruleMask
	gating  bool
	anchors []anchorRef
	length  int
}

type anchorRef struct{ rule, variant int32 }

// maxRules bounds the rule set so a mask fits in a fixed array on the stack.
const maxRules = 512

type ruleMask [maxRules / 64]uint64

func (m *ruleMask) set(i int)      { m[i>>6] |= 1 << (uint(i) & 63) }
func (m *ruleMask) has(i int) bool { return m[i>>6]&(1<<(uint(i)&63)) != 0 }
func (m *ruleMask) any() bool      { return *m != ruleMask{} }

func (m *ruleMask) or(o *ruleMask) {
	for i := range m {
		m[i] |= o[i]
	}
}

func (m *ruleMask) and(o *ruleMask) {
	for i := range m {
		m[i] &= o[i]
	}
}

var (
	defaultOnce sync.Once
	defaultSet  *ruleSet
	defaultErr  error
)

// defaultRules loads gitleaks' embedded default configuration the first time
// a policy asks for this family (about 40 ms, so not in init).
func defaultRules() (*ruleSet, error) {
	defaultOnce.Do(func() {
		defaultSet, defaultErr = loadRuleSet(glconfig.DefaultConfig)
	})
	return defaultSet, defaultErr
}

// loadRuleSet parses a gitleaks TOML configuration with gitleaks' own loader
// (so its allowlists and validation apply unchanged) and compiles it for the
// anchored matcher.
func loadRuleSet(toml string) (*ruleSet, error) {
	v := viper.New() // not the global instance: nothing else can race with it
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(toml)); err != nil {
		return nil, fmt.Errorf("secrets: read gitleaks rules: %w", err)
	}
	var vc glconfig.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return nil, fmt.Errorf("secrets: decode gitleaks rules: %w", err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		return nil, fmt.Errorf("secrets: gitleaks rules: %w", err)
	}
	rs := &ruleSet{byID: map[string]int{}, excluded: map[string]string{}}
	for _, a := range cfg.Allowlists {
		if a.MatchCondition == glconfig.AllowlistMatchOr || len(a.Paths) == 0 && len(a.Commits) == 0 {
			rs.global = append(rs.global, newAllowlist(a))
		}
	}
	for _, id := range cfg.OrderedRules {
		gr := cfg.Rules[id]
		switch {
		case gr.Regex == nil:
			rs.excluded[id] = "matches file names only"
			continue
		case gr.Path != nil:
			// gitleaks skips a path-bound rule when there is no path, as here.
			rs.excluded[id] = "needs a file path"
			continue
		case gr.SkipReport || len(gr.RequiredRules) > 0:
			rs.excluded[id] = "composite rule"
			continue
		}
		r, err := compileRule(gr)
		if err != nil {
			return nil, err
		}
		if len(rs.rules) == maxRules {
			return nil, fmt.Errorf("secrets: more than %d gitleaks rules", maxRules)
		}
		rs.byID[id] = len(rs.rules)
		rs.rules = append(rs.rules, r)
	}
	rs.buildPatterns()
	return rs, nil
}

func compileRule(gr glconfig.Rule) (*rule, error) {
	r := &rule{
		id:          gr.RuleID,
		ruleID:      "secrets." + gr.RuleID,
		entity:      entityFor(gr.RuleID),
		description: gr.Description,
		generic:     strings.Contains(strings.ToLower(gr.RuleID), "generic"),
		full:        gr.Regex,
		secretGroup: gr.SecretGroup,
		entropy:     gr.Entropy,
	}
	for _, k := range gr.Keywords {
		r.keywords = append(r.keywords, strings.ToLower(k))
	}
	for _, a := range gr.Allowlists {
		// Allowlists that need a path or commit to hold never hold here.
		if a.MatchCondition == glconfig.AllowlistMatchAnd && (len(a.Paths) > 0 || len(a.Commits) > 0) {
			continue
		}
		if len(a.Regexes) == 0 && len(a.StopWords) == 0 {
			continue
		}
		r.allow = append(r.allow, newAllowlist(a))
	}
	re, err := syntax.Parse(gr.Regex.String(), syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("secrets: rule %s: %w", gr.RuleID, err)
	}
	branches := []*syntax.Regexp{re}
	if re.Op == syntax.OpAlternate {
		branches = re.Sub
	}
	r.tier = tierFormat
	groupsBefore := 0
	for _, b := range branches {
		v, dropped, ok := compileVariant(b, groupsBefore)
		if dropped {
			r.tier = tierContext
		}
		if !ok {
			r.variants = nil
			break
		}
		r.variants = append(r.variants, v)
		groupsBefore += countCaptures(b)
	}
	if r.generic {
		r.tier = tierGeneric
	}
	if contextTier[r.id] {
		r.tier = tierContext
	}
	for _, v := range r.variants {
		if v.re.NumSubexp() != gr.Regex.NumSubexp() && len(branches) == 1 {
			// The dropped lead held a group: secretGroup would shift.
			r.variants = nil
		}
	}
	return r, nil
}

// compileVariant derives the anchored form of one top-level alternative;
// groupsBefore empty groups keep its group numbers those of the whole regex.
func compileVariant(b *syntax.Regexp, groupsBefore int) (v variant, dropped, ok bool) {
	rest, dropped, wordBound := splitLead(b)
	if rest == nil {
		return v, dropped, false
	}
	lits, _, ok := literalPrefixes(rest, 64)
	if !ok || len(lits) == 0 {
		return v, dropped, false
	}
	for _, l := range lits {
		// Too short an anchor fires everywhere; the whole-text regex is cheaper.
		if len(l) < 2 || !isASCII(l) {
			return v, dropped, false
		}
	}
	slices.Sort(lits)
	lits = slices.Compact(lits)
	re, err := regexp.Compile(`^` + strings.Repeat("()", groupsBefore) + `(?:` + rest.String() + `)`)
	if err != nil {
		return v, dropped, false
	}
	v = variant{re: re, anchors: lits, wordBound: wordBound}
	v.gate, v.hasGate = deriveGate(rest)
	if n, ok := maxBytes(rest); ok && n < math.MaxInt32/2 {
		v.window = n + 1
	} else {
		v.capped = endsInEndText(rest)
	}
	return v, dropped, true
}

// endsInEndText reports whether re's last element is an alternation with an
// end-of-text branch, gitleaks' "(?:[\x60'"\s;]|\\[nr]|$)" terminator.
func endsInEndText(re *syntax.Regexp) bool {
	for re.Op == syntax.OpConcat || re.Op == syntax.OpCapture {
		re = re.Sub[len(re.Sub)-1]
	}
	if re.Op != syntax.OpAlternate {
		return false
	}
	for _, s := range re.Sub {
		if s.Op == syntax.OpEndText {
			return true
		}
	}
	return false
}

func countCaptures(re *syntax.Regexp) int {
	n := 0
	if re.Op == syntax.OpCapture {
		n++
	}
	for _, s := range re.Sub {
		n += countCaptures(s)
	}
	return n
}

// splitLead removes what a match may start with but a secret never is: a
// leading lazy, optional run (gitleaks' "[\w.-]{0,50}?" before the
// identifier, which only moves where the match starts, never whether it
// matches or what its groups hold) and a leading \b (checked by hand).
func splitLead(re *syntax.Regexp) (rest *syntax.Regexp, dropped, wordBound bool) {
	if re.Op != syntax.OpConcat {
		if re.Op == syntax.OpCapture || re.Op == syntax.OpLiteral || re.Op == syntax.OpAlternate {
			return re, false, false
		}
		return nil, false, false
	}
	subs := re.Sub
	for len(subs) > 0 {
		s := subs[0]
		if s.Op == syntax.OpWordBoundary && !wordBound && !dropped {
			wordBound = true
			subs = subs[1:]
			continue
		}
		if !wordBound && s.Flags&syntax.NonGreedy != 0 && hasNoCapture(s) &&
			(s.Op == syntax.OpRepeat && s.Min == 0 || s.Op == syntax.OpStar || s.Op == syntax.OpQuest) {
			dropped = true
			subs = subs[1:]
			continue
		}
		break
	}
	if len(subs) == 0 {
		return nil, false, false
	}
	if len(subs) == 1 {
		return subs[0], dropped, wordBound
	}
	return &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: subs}, dropped, wordBound
}

func hasNoCapture(re *syntax.Regexp) bool {
	if re.Op == syntax.OpCapture {
		return false
	}
	for _, s := range re.Sub {
		if !hasNoCapture(s) {
			return false
		}
	}
	return true
}

// literalPrefixes returns lower-case strings one of which every match of re
// starts with (case-insensitively), at most limit of them. complete says the
// set is exactly what re matches, so a concatenation may extend it.
func literalPrefixes(re *syntax.Regexp, limit int) (lits []string, complete, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil, false, false
		}
		return []string{strings.ToLower(string(re.Rune))}, true, true
	case syntax.OpCharClass:
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for c := re.Rune[i]; c <= re.Rune[i+1]; c++ {
				set = append(set, strings.ToLower(string(c)))
				if len(set) > 2*limit {
					return nil, false, false
				}
			}
		}
		slices.Sort(set)
		set = slices.Compact(set)
		if len(set) > 8 || len(set) == 0 {
			return nil, false, false
		}
		return set, true, true
	case syntax.OpCapture:
		return literalPrefixes(re.Sub[0], limit)
	case syntax.OpAlternate:
		var all []string
		complete = true
		for _, s := range re.Sub {
			l, c, ok := literalPrefixes(s, limit)
			if !ok {
				return nil, false, false
			}
			all = append(all, l...)
			complete = complete && c
			if len(all) > limit {
				return nil, false, false
			}
		}
		return all, complete, true
	case syntax.OpPlus:
		l, _, ok := literalPrefixes(re.Sub[0], limit)
		return l, false, ok
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil, false, false
		}
		l, _, ok := literalPrefixes(re.Sub[0], limit)
		return l, false, ok
	case syntax.OpConcat:
		cur := []string{""}
		for _, s := range re.Sub {
			l, c, ok := literalPrefixes(s, limit)
			if !ok || len(cur)*len(l) > limit {
				if len(cur) == 1 && cur[0] == "" {
					return nil, false, false
				}
				return cur, false, true
			}
			next := make([]string, 0, len(cur)*len(l))
			for _, a := range cur {
				for _, b := range l {
					next = append(next, a+b)
				}
			}
			cur = next
			if !c {
				return cur, false, true
			}
		}
		return cur, true, true
	}
	return nil, false, false
}

// maxBytes is the longest match of re in bytes, if it is bounded.
func maxBytes(re *syntax.Regexp) (int, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0, true
	case syntax.OpLiteral:
		n := 0
		for _, c := range re.Rune {
			n += runeWidth(c, re.Flags&syntax.FoldCase != 0)
		}
		return n, true
	case syntax.OpCharClass:
		w := 1
		if len(re.Rune) > 0 {
			w = utf8.RuneLen(min(re.Rune[len(re.Rune)-1], unicode.MaxRune))
		}
		return w, true
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax, true
	case syntax.OpCapture:
		return maxBytes(re.Sub[0])
	case syntax.OpQuest:
		return maxBytes(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return 0, false
	case syntax.OpRepeat:
		if re.Max < 0 {
			return 0, false
		}
		n, ok := maxBytes(re.Sub[0])
		return n * re.Max, ok
	case syntax.OpConcat:
		total := 0
		for _, s := range re.Sub {
			n, ok := maxBytes(s)
			if !ok {
				return 0, false
			}
			total += n
		}
		return total, true
	case syntax.OpAlternate:
		best := 0
		for _, s := range re.Sub {
			n, ok := maxBytes(s)
			if !ok {
				return 0, false
			}
			best = max(best, n)
		}
		return best, true
	}
	return 0, false
}

// runeWidth is the widest UTF-8 encoding of c, or of any rune it case-folds
// to when fold is set (k matches the Kelvin sign, three bytes).
func runeWidth(c rune, fold bool) int {
	w := utf8.RuneLen(c)
	if w < 0 {
		w = utf8.UTFMax
	}
	if fold {
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			w = max(w, utf8.RuneLen(f))
		}
	}
	return w
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// buildPatterns builds the single automaton over every keyword and anchor.
func (rs *ruleSet) buildPatterns() {
	index := map[string]int{}
	var words []string
	add := func(w string) int {
		if i, ok := index[w]; ok {
			return i
		}
		index[w] = len(words)
		words = append(words, w)
		rs.patterns = append(rs.patterns, pattern{length: len(w)})
		return len(words) - 1
	}
	for ri, r := range rs.rules {
		if len(r.keywords) == 0 {
			rs.alwaysOn.set(ri)
		}
		for _, k := range r.keywords {
			p := add(k)
			rs.patterns[p].gates.set(ri)
			rs.patterns[p].gating = true
		}
		for vi, v := range r.variants {
			for _, a := range v.anchors {
				p := add(a)
				rs.patterns[p].anchors = append(rs.patterns[p].anchors, anchorRef{rule: int32(ri), variant: int32(vi)})
			}
		}
	}
	rs.ac = newAutomaton(words)
}
