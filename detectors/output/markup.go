package output

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// region is a byte range of a segment that a markdown renderer shows as
// code (fenced blocks and inline code spans): links, images and HTML in it
// are text, not markup.
type region struct{ start, end int }

// maxConstruct bounds how far one link, tag or code span is looked for, so
// that hostile input with many openers stays linear.
const maxConstruct = 8 << 10

// fencedRegions appends the fenced code blocks of s: a line of three or
// more backticks or tildes indented by at most three spaces, up to a closing
// fence of the same character and at least the same length, or to the end
// of the text when there is none (CommonMark renders an unclosed fence as
// code to the end). Deeper-indented fences are not recognised: where a
// renderer would disagree, the content is scanned rather than skipped.
func fencedRegions(dst []region, s string) []region {
	if !strings.Contains(s, "```") && !strings.Contains(s, "~~~") {
		return dst
	}
	open, start := false, 0
	var fch byte
	flen := 0
	for ls := 0; ls < len(s); {
		le := strings.IndexByte(s[ls:], '\n')
		if le < 0 {
			le = len(s)
		} else {
			le += ls
		}
		line := s[ls:le]
		ind := 0
		for ind < len(line) && ind < 4 && line[ind] == ' ' {
			ind++
		}
		if ind <= 3 && ind < len(line) && (line[ind] == '`' || line[ind] == '~') {
			c := line[ind]
			n := ind
			for n < len(line) && line[n] == c {
				n++
			}
			run := n - ind
			switch {
			case open && c == fch && run >= flen && strings.TrimSpace(line[n:]) == "":
				dst = append(dst, region{start, le})
				open = false
			case !open && run >= 3 && (c == '~' || !strings.Contains(line[n:], "`")):
				open, start, fch, flen = true, ls, c, run
			}
		}
		ls = le + 1
	}
	if open {
		dst = append(dst, region{start, len(s)})
	}
	return dst
}

// refDef is a markdown link reference definition: "[label]: url".
type refDef struct {
	dest       string
	start, end int // the definition's line
	reported   bool
}

// interesting marks the bytes the markup scanner stops at; bare URLs
// (starting h or w) matter only to the exfil check.
var (
	interesting = func() (t [256]bool) {
		for _, c := range "`[!<hHwW" {
			t[c] = true
		}
		return t
	}()
	interestingNoURL = func() (t [256]bool) {
		for _, c := range "`[!<" {
			t[c] = true
		}
		return t
	}()
)

// markupScan is one pass over one text segment.
type markupScan struct {
	d     *Detector
	s     string
	seg   int
	out   []pipeline.Finding
	defs  map[string]*refDef
	dests []region // link destinations already checked, in order
	attrs []attr
	html  bool
	exfil bool
	ls    int // start of the line holding lsPos
	lsPos int
	// Memos that keep hostile input linear.
	opens, closes []int32 // '[' positions and their ']' (pairBrackets)
	bc            int     // cursor into opens
	gtPos         int     // next '>' at or after the last tag start; -1 for none
	noDestUntil   int     // inline destinations starting before this fail
	commentEnd    int     // next "-->" after the last comment start; -1 for none
}

// markup scans segment seg for links, images and HTML outside code. It
// returns the findings and regions extended by the inline code spans, sorted.
func (d *Detector) markup(ctx context.Context, out []pipeline.Finding, sc *scratch, seg int, s string, regions []region) ([]pipeline.Finding, []region, error) {
	m := markupScan{d: d, s: s, seg: seg, out: out, dests: sc.dests[:0], attrs: sc.attrs[:0],
		html: d.checks&chkHTML != 0, exfil: d.checks&chkExfil != 0}
	defer func() { sc.dests, sc.attrs = m.dests[:0], m.attrs[:0] }()
	m.gtPos, m.commentEnd = -2, -2
	if strings.IndexByte(s, '[') >= 0 {
		m.opens, m.closes, sc.stack = pairBrackets(s, sc.opens, sc.closes, sc.stack)
		defer func() { sc.opens, sc.closes = m.opens[:0], m.closes[:0] }()
	}
	nf := len(regions)
	if strings.Contains(s, "]:") {
		m.parseDefs(regions[:nf])
	}
	stops := &interesting
	if !m.exfil {
		stops = &interestingNoURL
	}
	ri := 0
	for i := 0; i < len(s); {
		for i < len(s) && !stops[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		for ri < nf && regions[ri].end <= i {
			ri++
		}
		if ri < nf && regions[ri].start <= i {
			i = regions[ri].end
			continue
		}
		if i&0xFFFF == 0 && i > 0 {
			if err := ctx.Err(); err != nil {
				return nil, regions, fmt.Errorf("output: %w", err)
			}
		}
		switch c := s[i]; c {
		case '`':
			n := 1
			for i+n < len(s) && s[i+n] == '`' {
				n++
			}
			if end := codeSpanEnd(s, i, n); end > 0 && !inHTMLBlockLine(s, m.lineStart(i)) && !inIndentedLine(s, m.lineStart(i)) {
				regions = append(regions, region{i, end})
				i = end
				continue
			}
			i += n
		case '!':
			if i+1 < len(s) && s[i+1] == '[' {
				m.link(i+1, true)
				i += 2
				continue
			}
			i++
		case '[':
			if e := m.destAt(i); e > i {
				i = e
				continue
			}
			if m.isDefLine(i) {
				i = m.skipDef(i)
				continue
			}
			m.link(i, false)
			i++
		case '<':
			i = m.angle(i)
		default: // h, w: a bare URL?
			i = m.bareURL(i)
		}
	}
	if len(regions) > nf {
		slices.SortFunc(regions, func(a, b region) int { return a.start - b.start })
	}
	return m.out, regions, nil
}

// codeSpanEnd returns the end of the inline code span opened by the n
// backticks at i, or 0: the next run of exactly n backticks before a blank
// line.
func codeSpanEnd(s string, i, n int) int {
	limit := min(len(s), i+maxConstruct)
	for j := i + n; j < limit; {
		k := strings.IndexByte(s[j:limit], '`')
		if k < 0 {
			return 0
		}
		if hasBlankLine(s[j : j+k]) {
			return 0 // a blank line ends the paragraph
		}
		j += k
		run := 1
		for j+run < len(s) && s[j+run] == '`' {
			run++
		}
		if run == n {
			return j + run
		}
		j += run
	}
	return 0
}

// hasBlankLine reports a line holding only spaces in s (between two
// newlines).
func hasBlankLine(s string) bool {
	for {
		k := strings.IndexByte(s, '\n')
		if k < 0 {
			return false
		}
		s = s[k+1:]
		r := 0
		for r < len(s) && (s[r] == ' ' || s[r] == '\t' || s[r] == '\r') {
			r++
		}
		if r < len(s) && s[r] == '\n' {
			return true
		}
	}
}

// inHTMLBlockLine reports whether the line starting at ls starts with
// '<': in an HTML block markdown is not processed, so backticks there do not
// make code.
func inHTMLBlockLine(s string, ls int) bool {
	k := ls
	for k < len(s) && k-ls < 3 && s[k] == ' ' {
		k++
	}
	return k < len(s) && s[k] == '<'
}

// inIndentedLine reports whether the line starting at ls is indented by
// four or more spaces or a tab: possibly an indented code block, whose
// backticks cannot open a code span reaching into the next block. Treating
// them as text errs towards scanning.
func inIndentedLine(s string, ls int) bool {
	return strings.HasPrefix(s[ls:], "    ") || strings.HasPrefix(s[ls:], "\t")
}

// lineStart returns the start of the line holding i, remembering the last
// answer so that a forward scan costs O(n) in all.
func (m *markupScan) lineStart(i int) int {
	if i < m.lsPos {
		m.lsPos, m.ls = 0, 0
	}
	if k := strings.LastIndexByte(m.s[m.lsPos:i], '\n'); k >= 0 {
		m.ls = m.lsPos + k + 1
	}
	m.lsPos = i
	return m.ls
}

// parseDefs collects link reference definitions outside fenced code.
func (m *markupScan) parseDefs(fenced []region) {
	s := m.s
	ri := 0
	for ls := 0; ls < len(s); {
		le := strings.IndexByte(s[ls:], '\n')
		if le < 0 {
			le = len(s)
		} else {
			le += ls
		}
		for ri < len(fenced) && fenced[ri].end <= ls {
			ri++
		}
		if ri >= len(fenced) || fenced[ri].start > ls {
			if label, dest, ok := parseDefLine(s[ls:le]); ok {
				if m.defs == nil {
					m.defs = map[string]*refDef{}
				}
				key := labelKey(label)
				if _, dup := m.defs[key]; !dup { // the first definition wins
					m.defs[key] = &refDef{dest: dest, start: ls, end: le}
				}
			}
		}
		ls = le + 1
	}
}

// parseDefLine parses `   [label]: dest "title"`.
func parseDefLine(line string) (label, dest string, ok bool) {
	i := 0
	for i < len(line) && i < 3 && line[i] == ' ' {
		i++
	}
	if i >= len(line) || line[i] != '[' {
		return "", "", false
	}
	k := strings.Index(line[i:], "]:")
	if k < 2 {
		return "", "", false
	}
	label = line[i+1 : i+k]
	if strings.ContainsAny(label, "[]") {
		return "", "", false
	}
	rest := strings.TrimLeft(line[i+k+2:], " \t")
	if strings.HasPrefix(rest, "<") {
		e := strings.IndexByte(rest, '>')
		if e < 0 {
			return "", "", false
		}
		return label, rest[1:e], true
	}
	e := strings.IndexAny(rest, " \t\r")
	if e < 0 {
		e = len(rest)
	}
	if e == 0 {
		return "", "", false
	}
	return label, rest[:e], true
}

func labelKey(l string) string {
	return strings.ToLower(strings.Join(strings.Fields(l), " "))
}

func (m *markupScan) isDefLine(i int) bool {
	if m.defs == nil {
		return false
	}
	ls := strings.LastIndexByte(m.s[:i], '\n') + 1
	if i-ls > 3 || strings.TrimLeft(m.s[ls:i], " ") != "" {
		return false
	}
	le := strings.IndexByte(m.s[i:], '\n')
	if le < 0 {
		le = len(m.s)
	} else {
		le += i
	}
	_, _, ok := parseDefLine(m.s[ls:le])
	return ok
}

func (m *markupScan) skipDef(i int) int {
	le := strings.IndexByte(m.s[i:], '\n')
	if le < 0 {
		return len(m.s)
	}
	return i + le + 1
}

// pairBrackets matches every '[' of s with its ']' in one pass (a stack;
// backslash escapes skipped, a blank line closes everything open), so that
// link parsing stays linear on hostile input. opens lists the positions of
// '[' in order and closes[k] is the matching ']' of opens[k], or -1.
func pairBrackets(s string, opens, closes, stack []int32) ([]int32, []int32, []int32) {
	opens, closes, stack = opens[:0], closes[:0], stack[:0]
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '[':
			stack = append(stack, int32(len(opens)))
			opens = append(opens, int32(j))
			closes = append(closes, -1)
		case ']':
			if n := len(stack); n > 0 {
				k := stack[n-1]
				stack = stack[:n-1]
				if j-int(opens[k]) <= maxConstruct {
					closes[k] = int32(j)
				}
			}
		case '\n':
			if blankAt(s, j) {
				stack = stack[:0]
			}
		}
	}
	return opens, closes, stack
}

// blankAt reports whether the line after the newline at j is blank.
func blankAt(s string, j int) bool {
	r := j + 1
	for r < len(s) && (s[r] == ' ' || s[r] == '\t' || s[r] == '\r') {
		r++
	}
	return r < len(s) && s[r] == '\n'
}

// bracketEnd returns the index of the ']' matching the '[' at i, or -1.
func (m *markupScan) bracketEnd(i int) int {
	for m.bc < len(m.opens) && int(m.opens[m.bc]) < i {
		m.bc++
	}
	if m.bc < len(m.opens) && int(m.opens[m.bc]) == i {
		return int(m.closes[m.bc])
	}
	return -1
}

// link handles the markdown link or image whose '[' is at i.
func (m *markupScan) link(i int, image bool) {
	s := m.s
	k := m.bracketEnd(i)
	if k < 0 {
		return
	}
	start := i
	if image {
		start = i - 1
	}
	if k+1 < len(s) && s[k+1] == '(' {
		if k+2 < m.noDestUntil {
			return // a scan from further back found no end before there
		}
		ds, de, end, ok := inlineDest(s, k+2)
		if !ok {
			if de > k+2 {
				m.noDestUntil = de
			}
			return
		}
		m.addDest(ds, de)
		m.checkURL(s[ds:de], image, start, end, nil)
		return
	}
	if m.defs == nil {
		return
	}
	label, end := s[i+1:k], k+1
	if k+1 < len(s) && s[k+1] == '[' {
		e := strings.IndexAny(s[k+2:min(len(s), k+2+1000)], "[]")
		if e < 0 || s[k+2+e] != ']' {
			return
		}
		if e > 0 {
			label = s[k+2 : k+2+e]
		}
		end = k + 3 + e
		m.addDest(k+1, end) // the label is part of this construct, not a link of its own
	}
	def, ok := m.defs[labelKey(label)]
	if !ok {
		return
	}
	m.checkURL(def.dest, image, start, end, def)
}

// inlineDest parses "(dest "title")" from just after the '('; it returns
// the destination's byte range and the end of the construct.
func inlineDest(s string, j int) (ds, de, end int, ok bool) {
	j = skipLinkSpace(s, j)
	if j >= len(s) {
		return
	}
	if s[j] == '<' {
		e := strings.IndexAny(s[j+1:min(len(s), j+1+maxConstruct)], ">\n")
		if e < 0 || s[j+1+e] != '>' {
			return
		}
		ds, de = j+1, j+1+e
		j = de + 1
	} else {
		ds = j
		depth := 0
	dest:
		for limit := min(len(s), j+maxConstruct); j < limit; j++ {
			switch c := s[j]; {
			case c <= ' ':
				break dest
			case c == '\\':
				j++
			case c == '(':
				depth++
			case c == ')':
				if depth == 0 {
					break dest
				}
				depth--
			}
		}
		de = min(j, len(s))
		if j < len(s) && s[j] != ')' && s[j] > ' ' {
			return ds, de, 0, false // ran to the bound
		}
	}
	j = skipLinkSpace(s, j)
	if j < len(s) && (s[j] == '"' || s[j] == '\'' || s[j] == '(') {
		closer := s[j]
		if closer == '(' {
			closer = ')'
		}
		e := strings.IndexByte(s[j+1:min(len(s), j+1+maxConstruct)], closer)
		if e < 0 {
			return ds, de, 0, false
		}
		j = skipLinkSpace(s, j+2+e)
	}
	if j >= len(s) || s[j] != ')' {
		return ds, de, 0, false
	}
	return ds, de, j + 1, true
}

func skipLinkSpace(s string, j int) int {
	nl := false
	for j < len(s) {
		switch s[j] {
		case ' ', '\t', '\r':
		case '\n':
			if nl {
				return j
			}
			nl = true
		default:
			return j
		}
		j++
	}
	return j
}

func (m *markupScan) addDest(ds, de int) {
	r := region{ds, de}
	k := len(m.dests)
	for k > 0 && m.dests[k-1].start > ds {
		k--
	}
	m.dests = slices.Insert(m.dests, k, r)
}

// destAt returns the end of a checked destination starting at i, or -1.
func (m *markupScan) destAt(i int) int {
	k, found := slices.BinarySearchFunc(m.dests, i, func(r region, i int) int { return r.start - i })
	if !found {
		return -1
	}
	return m.dests[k].end
}

// checkURL checks one URL of a link (image false) or an auto-loading
// resource (image true) whose construct spans [start, end); def, when set,
// is the reference definition the URL came from.
func (m *markupScan) checkURL(raw string, image bool, start, end int, def *refDef) {
	if strings.IndexByte(raw, '\\') >= 0 {
		raw = unbackslash(raw)
	}
	u := cleanURL(raw)
	if m.html && dangerousURL(u) {
		m.add(RuleInsecureHTML, 0.95, start, end, def)
		return
	}
	if !m.exfil {
		return
	}
	p := splitURL(u)
	m.checkParts(p, image, start, end, def)
}

func (m *markupScan) checkParts(p urlParts, image bool, start, end int, def *refDef) {
	if p.host == "" || m.d.hosts.allows(p.host) {
		return
	}
	if image {
		if !p.web {
			return
		}
		score := 0.6 // an image loads with no click: the request alone tells the host someone read this
		if ds := dataScore(p); ds >= dataMin {
			score = min(1, max(0.9, ds+0.1))
		}
		m.add(RuleExfilImage, score, start, end, def)
		return
	}
	if ds := dataScore(p); ds >= dataMin {
		m.add(RuleExfilLink, ds, start, end, def)
	}
}

// unbackslash removes markdown backslash escapes before ASCII punctuation.
func unbackslash(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// add appends a finding; a reference definition's line is added to the
// first finding that uses it, so redaction defangs every use at once.
func (m *markupScan) add(rule string, score float64, start, end int, def *refDef) {
	f := pipeline.Finding{Rule: rule, Family: Family, Score: score,
		Spans: []pipeline.Span{{Segment: m.seg, Start: start, End: end}}}
	if def != nil && !def.reported {
		def.reported = true
		f.Spans = append(f.Spans, pipeline.Span{Segment: m.seg, Start: def.start, End: def.end})
	}
	m.out = append(m.out, f)
}

// bareURL checks a URL written as plain text at i (GFM renders http(s)://
// and www. URLs as links) and returns where scanning resumes.
func (m *markupScan) bareURL(i int) int {
	s := m.s
	if i > 0 && (lowerAlnum[s[i-1]] != 0 || strings.IndexByte("/.@-_", s[i-1]) >= 0) {
		return i + 1
	}
	if i+4 >= len(s) || s[i+1]|0x20 != 't' && s[i+1]|0x20 != 'w' {
		return i + 1
	}
	rest := s[i:min(len(s), i+8)]
	www := false
	switch {
	case hasPrefixFold(rest, "https://"), hasPrefixFold(rest, "http://"):
	case hasPrefixFold(rest, "www."):
		www = true
	default:
		return i + 1
	}
	if e := m.destAt(i); e > i {
		return e
	}
	end := i
	for end < len(s) && end-i < maxConstruct {
		c := s[end]
		if c <= ' ' || c == '<' || c == '>' || c == '"' || c == '`' || c == 0x7F {
			break
		}
		end++
	}
	// Trailing punctuation ends the sentence, not the URL; a ')' closes
	// prose parentheses unless the URL opened one.
	for end > i {
		c := s[end-1]
		if strings.IndexByte(".,:;!?*_~'", c) >= 0 {
			end--
			continue
		}
		if c == ')' && strings.Count(s[i:end], "(") < strings.Count(s[i:end], ")") {
			end--
			continue
		}
		break
	}
	if !m.exfil {
		return end
	}
	u := cleanURL(s[i:end])
	var p urlParts
	if www {
		p = splitAuthority(u)
	} else {
		p = splitURL(u)
	}
	m.checkParts(p, false, i, end, nil)
	return max(end, i+1)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
