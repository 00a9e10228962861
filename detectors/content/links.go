package content

import "strings"

// tlds are the top-level domains a bare "name.tld" link is recognised by;
// schemes and "www." are recognised whatever follows.
var tlds = map[string]bool{
	"com": true, "net": true, "org": true, "io": true, "gg": true, "me": true, "co": true, "ly": true,
	"tv": true, "app": true, "xyz": true, "ru": true, "info": true, "link": true, "live": true, "chat": true,
	"uk": true, "de": true, "fr": true, "es": true, "it": true, "br": true, "cn": true, "onion": true, "site": true,
	"online": true, "club": true, "biz": true, "us": true, "ca": true, "au": true, "in": true, "to": true, "cc": true,
}

// findLinks calls fn with the span of every URL or bare domain in s.
func findLinks(s string, fn func(start, end int)) {
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '.')
		k := strings.Index(s[i:], "://")
		if j < 0 && k < 0 {
			return
		}
		var at int
		if k >= 0 && (j < 0 || k < j) {
			at = i + k
		} else {
			at = i + j
		}
		start := at
		for start > 0 && isURLByte(s[start-1]) {
			start--
		}
		end := at + 1
		for end < len(s) && (isURLByte(s[end]) || s[end] == '/' || s[end] == ':' || s[end] == '?' || s[end] == '=' || s[end] == '&' || s[end] == '%' || s[end] == '#') {
			end++
		}
		for end > start && (s[end-1] == '.' || s[end-1] == ':') {
			end--
		}
		if k >= 0 && at == i+k {
			fn(start, end)
			i = end + 1
			continue
		}
		// bare domain: label "." tld, not a decimal or a sentence end
		t := at + 1
		for t < len(s) && s[t] >= 'a' && s[t] <= 'z' {
			t++
		}
		if start < at && tlds[s[at+1:t]] && (t == len(s) || !isLetterOrDigit(s[t])) && !allDigits(s[start:at]) {
			fn(start, end)
			i = max(end, at+1)
			continue
		}
		i = at + 1
	}
}

func isURLByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '@' || c == '~'
}

func isLetterOrDigit(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
