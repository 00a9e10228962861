package output

import (
	"strings"
)

// attr is one attribute of an HTML start tag.
type attr struct {
	name, val string
}

// maxTag bounds the length of one HTML tag.
const maxTag = 8 << 10

// angle handles a '<' at i: a comment, an autolink or an HTML tag. It
// returns where scanning resumes.
func (m *markupScan) angle(i int) int {
	s := m.s
	if strings.HasPrefix(s[i:], "<!--") {
		// Comments are not rendered; an unclosed one is literal text.
		if m.commentEnd != -1 && m.commentEnd < i+4 {
			m.commentEnd = strings.Index(s[i+4:], "-->")
			if m.commentEnd >= 0 {
				m.commentEnd += i + 4
			}
		}
		if m.commentEnd >= 0 && m.commentEnd-i <= maxConstruct {
			return m.commentEnd + 3
		}
		return i + 1
	}
	if end, ok := autolinkEnd(s, i); ok {
		if m.exfil || m.html {
			m.checkURL(s[i+1:end-1], false, i, end, nil)
		}
		return end
	}
	name, end, ok := m.parseTag(i)
	if !ok {
		return i + 1
	}
	m.tag(name, i, end)
	return end
}

// autolinkEnd recognises "<scheme:...>" with no spaces or '<' inside.
func autolinkEnd(s string, i int) (int, bool) {
	j := i + 1
	for j < len(s) && j-i < 34 && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z' || j > i+1 && (s[j] >= '0' && s[j] <= '9' || s[j] == '+' || s[j] == '.' || s[j] == '-')) {
		j++
	}
	if j-i < 3 || j >= len(s) || s[j] != ':' {
		return 0, false
	}
	for j < len(s) && j-i < maxConstruct {
		switch c := s[j]; {
		case c == '>':
			return j + 1, true
		case c <= ' ' || c == '<':
			return 0, false
		}
		j++
	}
	return 0, false
}

// parseTag parses the start tag at s[i] == '<' into m.attrs, the way a
// browser tokenizes it: '/' separates attributes, values may be quoted or
// bare. Closing tags and malformed ones are not reported.
func (m *markupScan) parseTag(i int) (name string, end int, ok bool) {
	s := m.s
	j := i + 1
	if j >= len(s) || !(s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') {
		return "", 0, false
	}
	for j < len(s) && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z' || s[j] >= '0' && s[j] <= '9' || s[j] == '-') {
		j++
	}
	name = s[i+1 : j]
	if j >= len(s) || !(isTagSpace(s[j]) || s[j] == '/' || s[j] == '>') {
		return "", 0, false
	}
	// A tag needs a '>': remember where the next one is, so that a text of
	// unclosed tags costs one search, not one per '<'.
	if m.gtPos != -1 && m.gtPos < i {
		m.gtPos = strings.IndexByte(s[i:], '>')
		if m.gtPos >= 0 {
			m.gtPos += i
		}
	}
	if m.gtPos < 0 || m.gtPos-i > maxTag {
		return "", 0, false
	}
	m.attrs = m.attrs[:0]
	limit := min(len(s), i+maxTag)
	for j < limit {
		for j < limit && (isTagSpace(s[j]) || s[j] == '/') {
			j++
		}
		if j >= limit {
			break
		}
		if s[j] == '>' {
			return name, j + 1, true
		}
		ns := j
		j++ // an attribute name may start with '='
		for j < limit && !isTagSpace(s[j]) && s[j] != '/' && s[j] != '>' && s[j] != '=' {
			j++
		}
		a := attr{name: s[ns:j]}
		for j < limit && isTagSpace(s[j]) {
			j++
		}
		if j < limit && s[j] == '=' {
			j++
			for j < limit && isTagSpace(s[j]) {
				j++
			}
			if j < limit && (s[j] == '"' || s[j] == '\'') {
				q := s[j]
				e := strings.IndexByte(s[j+1:limit], q)
				if e < 0 {
					return "", 0, false
				}
				a.val = s[j+1 : j+1+e]
				j += e + 2
			} else {
				vs := j
				for j < limit && !isTagSpace(s[j]) && s[j] != '>' {
					j++
				}
				a.val = s[vs:j]
			}
		}
		m.attrs = append(m.attrs, a)
	}
	return "", 0, false
}

func isTagSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// Scores of active markup.
const (
	scoreScript       = 1.0
	scoreEventHandler = 0.95
	scoreScriptURL    = 0.95
	scoreFrame        = 0.85
	scoreRefresh      = 0.8
	scoreBase         = 0.75
)

// tag checks one HTML start tag spanning [start, end).
func (m *markupScan) tag(name string, start, end int) {
	insecure, insecureEnd := 0.0, end
	switch strings.ToLower(name) {
	case "script":
		insecure, insecureEnd = scoreScript, closingEnd(m.s, end, "script")
	case "iframe", "frame", "frameset", "object", "embed", "applet":
		insecure = scoreFrame
	case "base":
		insecure = scoreBase
	case "meta":
		for _, a := range m.attrs {
			if strings.EqualFold(a.name, "http-equiv") && strings.EqualFold(strings.TrimSpace(a.val), "refresh") {
				insecure = scoreRefresh
			}
		}
	}
	lname := strings.ToLower(name)
	imageScore, linkScore := 0.0, 0.0
	exfilRule := ""
	for _, a := range m.attrs {
		an := strings.ToLower(a.name)
		if len(an) > 2 && an[0] == 'o' && an[1] == 'n' && allLetters(an[2:]) {
			insecure = max(insecure, scoreEventHandler)
			continue
		}
		kind := urlAttr(lname, an)
		if kind == attrNone {
			continue
		}
		if kind == attrStyle {
			v := strings.ToLower(cleanURL(a.val))
			if strings.Contains(v, "expression(") || strings.Contains(v, "javascript:") {
				insecure = max(insecure, scoreScriptURL)
			}
			for _, u := range cssURLs(a.val) {
				imageScore = max(imageScore, m.urlScore(u, true))
			}
			continue
		}
		if kind == attrSrcdoc {
			insecure = max(insecure, scoreFrame)
			continue
		}
		urls := []string{a.val}
		if kind == attrSrcset {
			urls = srcsetURLs(a.val)
		}
		for _, raw := range urls {
			u := cleanURL(raw)
			if dangerousURL(u) {
				insecure = max(insecure, scoreScriptURL)
				continue
			}
			switch kind {
			case attrResource, attrSrcset:
				imageScore = max(imageScore, m.urlScore(u, true))
			case attrLink:
				linkScore = max(linkScore, m.urlScore(u, false))
			}
		}
	}
	if insecure > 0 && m.html {
		m.add(RuleInsecureHTML, insecure, start, insecureEnd, nil)
	}
	if !m.exfil {
		return
	}
	switch {
	case imageScore > 0:
		exfilRule = RuleExfilImage
		m.add(exfilRule, imageScore, start, end, nil)
	case linkScore > 0:
		exfilRule = RuleExfilLink
		spanEnd := end
		if lname == "a" {
			spanEnd = closingEnd(m.s, end, "a")
		}
		m.add(exfilRule, linkScore, start, spanEnd, nil)
	}
}

// urlScore is the exfil score of one URL, 0 when it is not a finding.
func (m *markupScan) urlScore(u string, image bool) float64 {
	if strings.IndexByte(u, '&') >= 0 || strings.ContainsAny(u, "\t\n\r") {
		u = cleanURL(u)
	}
	p := splitURL(u)
	if p.host == "" || m.d.hosts.allows(p.host) {
		return 0
	}
	ds := dataScore(p)
	if image {
		if !p.web {
			return 0
		}
		if ds >= dataMin {
			return min(1, max(0.9, ds+0.1))
		}
		return 0.6
	}
	if ds >= dataMin {
		return ds
	}
	return 0
}

// closingEnd returns the end of the closing tag </name> after i, within
// maxConstruct bytes, or i when there is none.
func closingEnd(s string, i int, name string) int {
	limit := min(len(s), i+maxConstruct)
	for j := i; j < limit; {
		k := strings.Index(s[j:limit], "</")
		if k < 0 {
			return i
		}
		j += k + 2
		if hasPrefixFold(s[j:], name) {
			if e := strings.IndexByte(s[j:limit], '>'); e >= 0 {
				return j + e + 1
			}
			return i
		}
	}
	return i
}

func allLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// What a URL-valued attribute does.
const (
	attrNone     = iota
	attrResource // fetched when the page renders: zero-click
	attrLink     // followed on a click or submit
	attrSrcset
	attrStyle
	attrSrcdoc
)

func urlAttr(tag, name string) int {
	switch name {
	case "src", "poster", "background", "lowsrc", "dynsrc", "data", "codebase", "archive":
		return attrResource
	case "srcset", "imagesrcset":
		return attrSrcset
	case "href", "xlink:href":
		switch tag {
		case "a", "area":
			return attrLink
		}
		return attrResource // <link>, <image>, <use>, <feImage>, <base>...
	case "action", "formaction", "ping", "cite":
		return attrLink
	case "style":
		return attrStyle
	case "srcdoc":
		return attrSrcdoc
	}
	return attrNone
}

// srcsetURLs returns the URLs of a srcset list ("a.png 1x, b.png 2x").
func srcsetURLs(v string) []string {
	var out []string
	for c := range strings.SplitSeq(v, ",") {
		if f := strings.Fields(c); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// cssURLs returns the arguments of url(...) in a style attribute.
func cssURLs(v string) []string {
	var out []string
	lv := strings.ToLower(v)
	for at := 0; ; {
		k := strings.Index(lv[at:], "url(")
		if k < 0 {
			return out
		}
		a := at + k + 4
		e := strings.IndexByte(v[a:], ')')
		if e < 0 {
			return out
		}
		out = append(out, strings.Trim(strings.TrimSpace(v[a:a+e]), `"'`))
		at = a + e
	}
}
