package output

import (
	"strings"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// toolArgs reports URLs in a tool call's JSON arguments that carry data to
// hosts not on allowed_link_hosts: a fetch or browse tool is an exfiltration
// channel that needs no click. URLs are found in the raw JSON, with the
// escapes JSON allows inside them ("\/", "\u0026") undone.
func (d *Detector) toolArgs(out []pipeline.Finding, seg int, s string) []pipeline.Finding {
	for i := 0; i < len(s); {
		k := indexURLStart(s[i:])
		if k < 0 {
			break
		}
		i += k
		u, end := jsonURLAt(s, i)
		p := splitURL(cleanURL(u))
		if hasPrefixFold(u, "www.") {
			p = splitAuthority(u)
		}
		if p.host != "" && !d.hosts.allows(p.host) {
			if ds := dataScore(p); ds >= dataMin {
				out = append(out, pipeline.Finding{Rule: RuleToolArgsExfil, Family: Family, Score: ds,
					Spans: []pipeline.Span{{Segment: seg, Start: i, End: end}}})
			}
		}
		i = max(end, i+1)
	}
	return out
}

// indexURLStart finds the next "http://", "https://" or "www." at a word
// start, case-insensitively.
func indexURLStart(s string) int {
	for i := 0; i < len(s); {
		k := strings.IndexAny(s[i:], "hHwW")
		if k < 0 {
			return -1
		}
		i += k
		if i == 0 || lowerAlnum[s[i-1]] == 0 && s[i-1] != '.' && s[i-1] != '/' {
			r := s[i:min(len(s), i+8)]
			if hasPrefixFold(r, "http://") || hasPrefixFold(r, "https://") || hasPrefixFold(r, "http:\\/") ||
				hasPrefixFold(r, "https:\\") || hasPrefixFold(r, "www.") {
				return i
			}
		}
		i++
	}
	return -1
}

// jsonURLAt reads the URL starting at i up to the end of its JSON string
// or a space, undoing JSON escapes; it allocates only when there are some.
func jsonURLAt(s string, i int) (string, int) {
	j := i
	var b []byte
	for j < len(s) && j-i < maxConstruct {
		c := s[j]
		if c == '"' || c <= ' ' {
			break
		}
		if c != '\\' {
			if b != nil {
				b = append(b, c)
			}
			j++
			continue
		}
		if j+1 >= len(s) {
			break
		}
		if b == nil {
			b = append([]byte(nil), s[i:j]...)
		}
		switch e := s[j+1]; e {
		case '/', '\\':
			b = append(b, e)
			j += 2
		case 'u':
			if j+5 < len(s) && isHex(s[j+2]) && isHex(s[j+3]) && isHex(s[j+4]) && isHex(s[j+5]) {
				r := rune(unhex(s[j+2]))<<12 | rune(unhex(s[j+3]))<<8 | rune(unhex(s[j+4]))<<4 | rune(unhex(s[j+5]))
				if r <= ' ' || r == '"' {
					return string(b), j
				}
				b = utf8.AppendRune(b, r)
				j += 6
				continue
			}
			return string(b), j
		default: // \n, \t, \": the string's text goes on, the URL does not
			return string(b), j
		}
	}
	if b != nil {
		return string(b), j
	}
	return s[i:j], j
}
