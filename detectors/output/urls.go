package output

import (
	"fmt"
	"html"
	"strings"
)

// hostEntry is one allowed_link_hosts entry: the host and every subdomain
// of it ("example.com" allows example.com and cdn.example.com, never
// example.com.evil.net or badexample.com).
type hostList []string

func hostEntry(h string) (string, error) {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimPrefix(h, "*.")
	h = strings.TrimSuffix(h, ".")
	switch {
	case h == "":
		return "", fmt.Errorf("empty host")
	case strings.Contains(h, "://"):
		return "", fmt.Errorf("%q: give a host name such as example.com, not a URL", h)
	case strings.ContainsAny(h, "/@?#*\\ \t"):
		return "", fmt.Errorf("%q: want a host name such as example.com", h)
	}
	return h, nil
}

func (l hostList) allows(host string) bool {
	for _, e := range l {
		if host == e || len(host) > len(e) && strings.HasSuffix(host, e) && host[len(host)-len(e)-1] == '.' {
			return true
		}
	}
	return false
}

// urlParts is a URL split the way a browser splits it.
type urlParts struct {
	host                  string // lower case, no port, userinfo or trailing dot; "" when none
	path, query, fragment string
	web                   bool // http(s), ftp, ws(s) or scheme-relative: fetched from host
	mailto                bool
}

// cleanURL undoes the escapes a renderer undoes before a URL is used: HTML
// character references (markdown and HTML both decode them) and ASCII tab
// and newline (browsers drop them anywhere in a URL). It allocates only when
// there is something to undo.
func cleanURL(u string) string {
	u = strings.TrimLeft(u, " \t\n\r\f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f")
	// A query's "&name=" is no character reference: unescape only what can be.
	if a := strings.IndexByte(u, '&'); a >= 0 && (strings.Contains(u[a:], "&#") || strings.IndexByte(u[a:], ';') >= 0) {
		u = html.UnescapeString(u)
	}
	if strings.ContainsAny(u, "\t\n\r") {
		u = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(u)
	}
	return u
}

// splitURL splits a cleaned URL.
func splitURL(u string) urlParts {
	var p urlParts
	rest := u
	scheme := ""
	if c := strings.IndexByte(u, ':'); c > 0 && isScheme(u[:c]) {
		scheme = strings.ToLower(u[:c])
		rest = u[c+1:]
	}
	switch scheme {
	case "http", "https", "ftp", "ws", "wss":
		// Browsers accept any mix of slashes and backslashes, or none.
		rest = strings.TrimLeft(rest, `/\`)
		p.web = true
	case "":
		if !strings.HasPrefix(rest, "//") && !strings.HasPrefix(rest, `\\`) && !strings.HasPrefix(rest, `/\`) {
			p.path, p.query, p.fragment = splitPQF(rest)
			return p // relative: same origin as the page
		}
		rest = rest[2:]
		p.web = true
	case "mailto":
		p.mailto = true
		addr, q, _ := strings.Cut(rest, "?")
		if at := strings.LastIndexByte(addr, '@'); at >= 0 {
			p.host = normHost(addr[at+1:])
		}
		p.query = q
		return p
	default:
		return p
	}
	return splitAuthority(rest)
}

// splitAuthority splits "host[:port]/path?query#fragment", with optional
// userinfo, as a fetched URL.
func splitAuthority(rest string) urlParts {
	p := urlParts{web: true}
	end := 0
	for end < len(rest) && !authorityEnd[rest[end]] {
		end++
	}
	auth := rest[:end]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	if strings.HasPrefix(auth, "[") {
		if e := strings.IndexByte(auth, ']'); e > 0 {
			auth = auth[:e+1]
		}
	} else if c := strings.IndexByte(auth, ':'); c >= 0 {
		auth = auth[:c]
	}
	p.host = normHost(auth)
	p.path, p.query, p.fragment = splitPQF(rest[end:])
	return p
}

var authorityEnd = [256]bool{'/': true, '\\': true, '?': true, '#': true}

func splitPQF(s string) (path, query, frag string) {
	s, frag, _ = strings.Cut(s, "#")
	path, query, _ = strings.Cut(s, "?")
	return
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= 'a' && c <= 'z' || i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
			return false
		}
	}
	return true
}

func normHost(h string) string {
	if strings.IndexByte(h, '%') >= 0 {
		h = percentDecode(h)
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(strings.ReplaceAll(h, "。", "."))
		}
	}
	return h
}

func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// dangerousURL reports URLs that run script or render active HTML when
// followed or loaded: javascript:, vbscript:, data:text/html and XHTML.
func dangerousURL(u string) bool {
	// Browsers ignore control characters and spaces before the scheme and
	// tabs/newlines inside it; cleanURL removed both.
	var buf [24]byte
	n := 0
	for i := 0; i < len(u) && n < len(buf); i++ {
		c := u[i]
		if c <= ' ' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	s := string(buf[:n])
	return strings.HasPrefix(s, "javascript:") || strings.HasPrefix(s, "vbscript:") || strings.HasPrefix(s, "livescript:") ||
		strings.HasPrefix(s, "data:text/html") || strings.HasPrefix(s, "data:application/xhtml") || strings.HasPrefix(s, "data:text/xml")
}

// dataMin is the data score from which a link is reported: below it the
// URL carries no data worth a finding.
const dataMin = 0.5

// sensitiveParams name query parameters used to carry stolen text.
var sensitiveParams = map[string]bool{
	"data": true, "d": true, "secret": true, "secrets": true, "token": true, "key": true, "apikey": true, "api_key": true,
	"password": true, "pass": true, "pwd": true, "passwd": true, "prompt": true, "system": true, "sys": true,
	"msg": true, "message": true, "content": true, "text": true, "chat": true, "history": true, "conversation": true,
	"convo": true, "exfil": true, "leak": true, "info": true, "payload": true, "p": true, "c": true, "x": true,
	"creds": true, "credentials": true, "cookie": true, "session": true, "email": true, "memory": true, "context": true,
}

// dataScore estimates how much the URL looks like it carries data out:
// encoded blobs, prose or long values in the query, fragment, path or
// subdomain labels. 0 for an ordinary link.
func dataScore(p urlParts) float64 {
	best, signals := 0.0, 0
	note := func(s float64) {
		if s >= dataMin {
			signals++
		}
		best = max(best, s)
	}
	// Subdomain labels carry data to a DNS server the attacker reads.
	host := p.host
	for host != "" {
		label, rest, _ := strings.Cut(host, ".")
		if len(label) >= 20 {
			switch {
			case blobLike(label, true):
				note(0.85)
			case len(label) >= 40:
				note(0.7)
			}
		}
		if rest == "" || strings.IndexByte(rest, '.') < 0 {
			break // the registrable domain is the attacker's own name
		}
		host = rest
	}
	params := 0
	for q := range strings.SplitSeq(p.query, "&") {
		if q == "" {
			continue
		}
		params++
		name, val, _ := strings.Cut(q, "=")
		s := valueScore(val)
		if sensitiveParams[strings.ToLower(name)] && decodedLen(val) >= 12 {
			s = max(s+0.15, 0.55)
		}
		note(min(s, 1))
	}
	switch {
	case params >= 12:
		note(0.65)
	case params >= 8:
		note(0.55)
	}
	if len(p.query) >= 256 {
		note(0.8)
	}
	if p.fragment != "" {
		note(valueScore(p.fragment) * 0.9)
	}
	for seg := range strings.SplitSeq(p.path, "/") {
		if len(seg) < 24 {
			continue
		}
		switch {
		case isUUID(seg):
		case hexRun(seg) && len(seg) <= 40:
			// a commit SHA-1: common in answers, 20 bytes at most
		case blobLike(seg, false):
			note(blobScore(len(seg)))
		case proseLike(seg):
			note(proseScore(decodedLen(seg)))
		case len(seg) >= 120 && !sluggish(seg):
			note(0.6)
		}
	}
	if len(p.path) >= 400 {
		note(0.6)
	}
	if signals >= 2 {
		best += 0.1
	}
	return min(best, 1)
}

func valueScore(v string) float64 {
	n := len(v)
	switch {
	case n < 16:
		return 0
	case isUUID(v):
		return 0
	case blobLike(v, false):
		return blobScore(n)
	case proseLike(v):
		return proseScore(decodedLen(v))
	case n >= 128:
		return 0.8
	case n >= 64:
		return 0.6
	}
	return 0
}

func blobScore(n int) float64 {
	switch {
	case n >= 48:
		return 0.9
	case n >= 24:
		return 0.75
	}
	return 0.4
}

func proseScore(n int) float64 {
	switch {
	case n >= 120:
		return 0.9
	case n >= 60:
		return 0.75
	case n >= 30:
		return 0.6
	}
	return 0.3
}

// decodedLen is the length of a percent-encoded value once decoded.
func decodedLen(v string) int {
	return len(v) - 2*strings.Count(v, "%")
}

// blobLike reports encoded data: hex of 32+ digits, or base64/base32-like
// text of 20+ characters mixing digits with letters (and, for base64, both
// cases) without the hyphenated words of a slug. Host labels are
// case-insensitive, so there only hex or digit-letter mixes count.
func blobLike(s string, label bool) bool {
	if len(s) < 20 {
		return false
	}
	var upper, lower, digit, other, pct, hyphen int
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= '0' && c <= '9':
			digit++
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			pct++
			i += 2
		case c == '-':
			hyphen++
		case c == '+' || c == '/' || c == '_' || c == '=' || c == '.':
		default:
			other++
		}
	}
	if other > 0 || pct > 3 {
		return false
	}
	if hexRun(s) && len(s) >= 32 {
		return true
	}
	if hyphen > len(s)/16+1 {
		return false // slug-like-words-joined-by-hyphens
	}
	if label {
		return digit >= 4 && upper+lower >= 8
	}
	if upper >= 2 && lower >= 2 && digit >= 2 {
		return true
	}
	// base32 and lower-case base36 ids: many digits among letters.
	return digit >= 5 && upper+lower >= 10 && (upper == 0 || lower == 0)
}

func hexRun(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// proseLike reports a value holding words: spaces encoded as '+' or %20.
func proseLike(s string) bool {
	spaces := strings.Count(s, "+") + strings.Count(s, "%20")
	return spaces >= 3 && decodedLen(s) >= 24
}

// sluggish reports a hyphen- or underscore-joined run of words.
func sluggish(s string) bool {
	return strings.Count(s, "-")+strings.Count(s, "_") >= len(s)/12
}
