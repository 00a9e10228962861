package normalize

import (
	"bytes"
	"strings"
)

// decodeMarkup reads HTML and markdown the way a renderer would not show it:
// tags removed, and hidden parts (comments, alt and title attributes,
// elements styled invisible, markdown link titles, image alt text and
// link-reference comments) made visible. The layer is reported when
// something was hidden, when HTML tags were present, or when markup split
// a word ("ig**no**re").
func decodeMarkup(src *source, depth int, st *state, span spanFunc) {
	b := src.b
	if bytes.IndexByte(b, '<') < 0 && bytes.IndexByte(b, '[') < 0 && bytes.IndexByte(b, '*') < 0 && bytes.IndexByte(b, '`') < 0 {
		return
	}
	m := stripMarkup(b)
	if m.hidden == 0 && m.tags == 0 && !m.split {
		return
	}
	a, z := span(src.at(m.first), src.at(m.last))
	if st.addLayer(EncMarkup, depth, string(m.out), a, z) {
		st.signals[sigMarkup] += m.hidden
	}
}

type markup struct {
	out         []byte
	hidden      int // hidden parts made visible
	tags        int // HTML tags removed
	split       bool
	first, last int
}

func (m *markup) mark(start, end int) {
	if m.first < 0 || start < m.first {
		m.first = start
	}
	m.last = max(m.last, end)
}

// maxTag bounds how far a tag or link is searched for its end.
const maxTag = 4096

func stripMarkup(b []byte) markup {
	m := markup{out: make([]byte, 0, len(b)), first: -1}
	lineStart := true
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '<' && bytes.HasPrefix(b[i:], []byte("<!--")):
			end := bytes.Index(b[i+4:], []byte("-->"))
			stop := len(b)
			if end >= 0 {
				stop = i + 4 + end + 3
				end = i + 4 + end
			} else {
				end = len(b)
			}
			m.out = append(m.out, ' ')
			m.out = append(m.out, b[i+4:end]...)
			m.out = append(m.out, ' ')
			m.hidden++
			m.mark(i, stop)
			i = stop
			continue
		case c == '<' && i+1 < len(b) && (isASCIILetter(b[i+1]) || b[i+1] == '/' || b[i+1] == '!'):
			end := bytes.IndexByte(b[i:min(len(b), i+maxTag)], '>')
			if end < 0 {
				break
			}
			tag := b[i : i+end+1]
			m.tags++
			m.mark(i, i+end+1)
			if !inlineTag(tag) {
				m.out = append(m.out, ' ')
			}
			for _, name := range []string{"alt", "title", "aria-label", "placeholder", "content"} {
				if v := attr(tag, name); len(v) > 0 {
					m.out = append(m.out, ' ')
					m.out = append(m.out, v...)
					m.out = append(m.out, ' ')
					m.hidden++
				}
			}
			if hiddenStyle(tag) {
				m.hidden++
			}
			i += end + 1
			continue
		case c == '!' && i+1 < len(b) && b[i+1] == '[':
			if n := m.link(b, i+1, true); n > 0 {
				i = n
				continue
			}
		case c == '[' && lineStart && refComment(b[i:]):
			end := bytes.IndexByte(b[i:], '\n')
			if end < 0 {
				end = len(b) - i
			}
			line := b[i : i+end]
			if k := bytes.Index(line, []byte("]:")); k >= 0 {
				m.out = append(m.out, ' ')
				m.out = append(m.out, line[1:k]...)
				m.out = append(m.out, ' ')
				m.out = append(m.out, line[k+2:]...)
				m.hidden++
				m.mark(i, i+end)
				i += end
				continue
			}
		case c == '[':
			if n := m.link(b, i, false); n > 0 {
				i = n
				continue
			}
		case c == '*' || c == '`' || c == '~' && i+1 < len(b) && b[i+1] == '~' || c == '_' && i+1 < len(b) && b[i+1] == '_':
			j := i
			for j < len(b) && b[j] == c {
				j++
			}
			if i > 0 && j < len(b) && isASCIILetter(b[i-1]) && isASCIILetter(b[j]) {
				m.split = true
				m.mark(i, j)
			}
			i = j
			continue
		case c == '#' && lineStart:
			for i < len(b) && b[i] == '#' {
				i++
			}
			continue
		}
		lineStart = c == '\n' || lineStart && (c == ' ' || c == '\t')
		m.out = append(m.out, c)
		i++
	}
	if m.first < 0 {
		m.first, m.last = 0, len(b)
	}
	return m
}

// link handles "[text](url "title")" at b[i] ('['); images pass image=true
// and count their alt text as hidden. It returns the index after the link,
// or 0 when b[i:] is not a link.
func (m *markup) link(b []byte, i int, image bool) int {
	lim := b[i:min(len(b), i+maxTag)]
	close := bytes.IndexByte(lim, ']')
	if close < 0 || close+1 >= len(lim) || lim[close+1] != '(' {
		return 0
	}
	end := bytes.IndexByte(lim[close+2:], ')')
	if end < 0 {
		return 0
	}
	text := lim[1:close]
	target := lim[close+2 : close+2+end]
	m.out = append(m.out, ' ')
	m.out = append(m.out, text...)
	if image && len(bytes.TrimSpace(text)) > 0 {
		m.hidden++
	}
	if q := bytes.IndexAny(target, "\"'"); q >= 0 {
		title := bytes.Trim(target[q:], "\"' ")
		if len(title) > 0 {
			m.out = append(m.out, ' ')
			m.out = append(m.out, title...)
			m.hidden++
		}
	}
	m.out = append(m.out, ' ')
	start := i
	if image {
		start--
	}
	m.mark(start, i+close+2+end+1)
	return i + close + 2 + end + 1
}

// refComment matches the markdown comment idioms "[//]: # (...)" and
// "[comment]: <> (...)".
func refComment(b []byte) bool {
	k := bytes.Index(b[:min(len(b), 64)], []byte("]:"))
	if k < 0 {
		return false
	}
	rest := bytes.TrimSpace(b[k+2 : min(len(b), k+8)])
	return bytes.HasPrefix(rest, []byte("#")) || bytes.HasPrefix(rest, []byte("<>"))
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

var inlineTags = []string{"a", "b", "i", "u", "s", "em", "strong", "span", "code", "font", "sub", "sup", "mark", "small", "big", "abbr", "del", "ins", "kbd", "q", "tt"}

func inlineTag(tag []byte) bool {
	name := tag[1:]
	if len(name) > 0 && name[0] == '/' {
		name = name[1:]
	}
	n := 0
	for n < len(name) && isASCIILetter(name[n]) {
		n++
	}
	for _, t := range inlineTags {
		if strings.EqualFold(string(name[:n]), t) {
			return true
		}
	}
	return false
}

// attr returns the value of attribute name in tag, quoted or not.
func attr(tag []byte, name string) []byte {
	lower := bytes.ToLower(tag)
	for from := 0; from < len(lower); {
		k := bytes.Index(lower[from:], []byte(name))
		if k < 0 {
			return nil
		}
		k += from
		from = k + len(name)
		if k == 0 || !(lower[k-1] == ' ' || lower[k-1] == '\t' || lower[k-1] == '\n') {
			continue
		}
		j := k + len(name)
		for j < len(tag) && tag[j] == ' ' {
			j++
		}
		if j >= len(tag) || tag[j] != '=' {
			continue
		}
		j++
		for j < len(tag) && tag[j] == ' ' {
			j++
		}
		if j >= len(tag) {
			return nil
		}
		if q := tag[j]; q == '"' || q == '\'' {
			end := bytes.IndexByte(tag[j+1:], q)
			if end < 0 {
				return nil
			}
			return tag[j+1 : j+1+end]
		}
		end := j
		for end < len(tag) && tag[end] != ' ' && tag[end] != '>' && tag[end] != '/' {
			end++
		}
		return tag[j:end]
	}
	return nil
}

// hiddenStyle reports tags that hide their content from a reader.
func hiddenStyle(tag []byte) bool {
	lower := bytes.ToLower(tag)
	compact := bytes.ReplaceAll(lower, []byte(" "), nil)
	for _, p := range []string{"display:none", "visibility:hidden", "font-size:0", "opacity:0", "color:transparent", "width:0", "height:0"} {
		if bytes.Contains(compact, []byte(p)) {
			return true
		}
	}
	if bytes.Contains(lower, []byte(" hidden")) || bytes.Contains(lower, []byte("aria-hidden=\"true\"")) {
		return true
	}
	return false
}
