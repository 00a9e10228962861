package pii

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// localByte reports bytes allowed in the local part of an address as it
// appears in prose (the common subset of RFC 5322 atext, plus dots).
func localByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func domainByte(c byte) bool { return isAlnum(c) || c == '-' || c == '.' }

// scanEmails finds addresses around each '@'.
func (s *scanner) scanEmails() {
	t := s.text
	for off := 0; ; {
		j := strings.IndexByte(t[off:], '@')
		if j < 0 {
			return
		}
		at := off + j
		off = at + 1
		start := at
		for start > 0 && at-start < 64 {
			if localByte(t[start-1]) {
				start--
				continue
			}
			// Internationalized local parts (RFC 6531): letters only, so
			// quotes and dashes around an address stay outside it.
			r, n := utf8.DecodeLastRuneInString(t[:start])
			if r == utf8.RuneError || !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			start -= n
		}
		for start < at && (t[start] == '.' || t[start] == '-') {
			start++
		}
		end := at + 1
		for end < len(t) && end-at <= 253 {
			if domainByte(t[end]) {
				end++
				continue
			}
			r, n := utf8.DecodeRuneInString(t[end:])
			if r == utf8.RuneError || !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			end += n
		}
		for end > at+1 && (t[end-1] == '.' || t[end-1] == '-') {
			end--
		}
		if start == at || end == at+1 {
			continue
		}
		// The address must stand alone: "a@b.c@d" or one glued to more
		// local-part bytes past the length cap is not one address.
		if start > 0 && (localByte(t[start-1]) || t[start-1] == '@') || end < len(t) && t[end] == '@' {
			continue
		}
		local, domain := t[start:at], t[at+1:end]
		if strings.Contains(local, "..") || local[len(local)-1] == '.' || !validDomain(domain) {
			continue
		}
		if reservedDomain(domain) || local == "git" || imageSuffix(domain) {
			continue
		}
		s.add(start, end, Email, 0.95)
		off = end
	}
}

// validDomain wants at least two labels of 1-63 bytes that neither start
// nor end with '-', and an alphabetic top-level label of two or more.
func validDomain(d string) bool {
	labels := 0
	last := ""
	for d != "" {
		i := strings.IndexByte(d, '.')
		var l string
		if i < 0 {
			l, d = d, ""
		} else {
			l, d = d[:i], d[i+1:]
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		last = l
	}
	if labels < 2 || len(last) < 2 {
		return false
	}
	for i := 0; i < len(last); i++ {
		if !isAlpha(last[i]) {
			return false
		}
	}
	return true
}

// reservedDomain reports RFC 2606 / RFC 6761 names: addresses there belong
// to nobody, so they are placeholders, not personal data.
func reservedDomain(d string) bool {
	d = strings.ToLower(d)
	switch d {
	case "example.com", "example.org", "example.net":
		return true
	}
	for _, suf := range reservedSuffixes {
		if strings.HasSuffix(d, suf) {
			return true
		}
	}
	return false
}

var reservedSuffixes = []string{".example.com", ".example.org", ".example.net", ".example", ".test", ".invalid", ".localhost", ".local"}

// imageSuffix catches asset names such as "logo@2x.png".
func imageSuffix(d string) bool {
	i := strings.LastIndexByte(d, '.')
	switch strings.ToLower(d[i+1:]) {
	case "png", "jpg", "jpeg", "gif", "svg", "webp", "ico":
		return true
	}
	return false
}
