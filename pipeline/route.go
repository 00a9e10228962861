package pipeline

import (
	"net"
	"path"
	"strconv"
	"strings"
)

// NormalizeHost is the host a request is routed on, as an upstream sees
// it: lower case, without port and without the trailing dot of a fully
// qualified name ("API.OpenAI.com.:443" → "api.openai.com").
func NormalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimPrefix(strings.TrimSuffix(h, "]"), "[")
	return strings.TrimRight(h, ".")
}

// NormalizePath is the path a request is routed on, as a normalizing
// upstream resolves it: query and fragment dropped; percent-encoded
// unreserved characters decoded (RFC 3986 6.2.2.2; %2F and other reserved
// escapes stay); empty segments merged ("//" → "/"); "." and ".."
// segments resolved (6.2.2.3, never above the root). A trailing slash is
// kept. So "//v1/./x/../%63hat/completions?x" is "/v1/chat/completions".
func NormalizePath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = decodeUnreserved(p)
	trailing := strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
	// path.Clean merges "//", drops "." and resolves ".." (never above the
	// root of a rooted path); it also drops the trailing slash, put back.
	s := path.Clean("/" + p)
	if trailing && s != "/" {
		s += "/"
	}
	return s
}

// decodeUnreserved decodes %XX escapes of ALPHA, DIGIT, "-", ".", "_"
// and "~"; every other escape is left as written.
func decodeUnreserved(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			if c, err := strconv.ParseUint(p[i+1:i+3], 16, 8); err == nil && unreserved(byte(c)) {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
