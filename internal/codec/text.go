package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// DecodeText reads a body of no known API (an unknown path, or a stream
// whose request headers were skipped) as an upstream might read it, so
// nothing a lenient parser would decode is hidden from the detectors:
//
//   - segment 0: the body as text, written back byte for byte;
//   - every quoted string literal whose escapes change it (JSON, NDJSON,
//     \u, \x, \U escapes), decoded;
//   - form values and keys (application/x-www-form-urlencoded, or a body
//     that is one k=v&... line with escapes), percent- and plus-decoded;
//   - UTF-16 and UTF-32 text (by byte-order mark, or by the zero bytes of
//     ASCII in those encodings), transcoded, with its literals decoded.
//
// Decoded segments have no byte-for-byte place in the body: a redaction
// there makes Rewrite fail and the transport blocks instead.
func DecodeText(body []byte, dir pipeline.Direction, contentType string, lim Limits) (*Document, error) {
	if lim.MaxBytes > 0 && len(body) > lim.MaxBytes {
		return nil, fmt.Errorf("%s %s body is %d bytes, over the %d-byte limit: %w", PlainText, dir, len(body), lim.MaxBytes, ErrTooLarge)
	}
	// Literals read exactly as written are in segment 0 already; keeping
	// them would turn a redaction of segment 0 into a block.
	d, err := decodeLenient(&Document{api: PlainText, body: body, meta: pipeline.Meta{API: string(PlainText), BodyBytes: len(body)}}, dir, lim, true)
	if err != nil {
		return nil, err
	}
	prov := pipeline.FromUser
	if dir == pipeline.Response {
		prov = pipeline.FromModel
	}
	add := func(text, field string) {
		if text == "" {
			return
		}
		d.segments = append(d.segments, pipeline.Segment{Text: text, Role: pipeline.RoleUnknown, Provenance: prov, Field: field})
		d.locs = append(d.locs, location{start: 0, end: int32(min(len(body), 1<<31-1)), decoded: true})
	}
	if isForm(contentType, body) {
		if vals, err := url.ParseQuery(string(body)); err == nil {
			for k, vs := range vals {
				add(k, "body.form{key}")
				for _, v := range vs {
					add(v, "body.form")
				}
			}
		}
	}
	// A body that is only a byte-order mark transcodes to nothing to read.
	if text, enc, ok := transcodeWide(body); ok && text != "" {
		add(text, "body("+enc+")")
		sub, err := decodeLenient(&Document{api: PlainText, body: []byte(text)}, dir, lim, true)
		if err == nil {
			for _, s := range sub.segments[1:] { // segment 0 is the text itself
				add(s.Text, "body("+enc+").literal")
			}
		}
	}
	return d, nil
}

// isForm says the body is form-encoded: by content-type, or, without one,
// a single line of k=v pairs that carries escapes a parser would decode.
func isForm(ct string, body []byte) bool {
	if mediaType(ct) == "application/x-www-form-urlencoded" {
		return true
	}
	if ct != "" && mediaType(ct) != "text/plain" {
		return false
	}
	return len(body) > 0 && bytes.IndexByte(body, '=') > 0 && !bytes.ContainsAny(body, "\r\n {}\"") &&
		(bytes.IndexByte(body, '%') >= 0 || bytes.IndexByte(body, '+') >= 0)
}

// transcodeWide reads UTF-16 or UTF-32 text (either byte order): by its
// byte-order mark, or when the zero bytes of ASCII text in that encoding
// are in place. ok is false for anything else.
func transcodeWide(b []byte) (text, enc string, ok bool) {
	switch {
	case bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}):
		return utf32(b[4:], binary.BigEndian), "utf-32be", true
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0, 0}):
		return utf32(b[4:], binary.LittleEndian), "utf-32le", true
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return utf16s(b[2:], binary.BigEndian), "utf-16be", true
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return utf16s(b[2:], binary.LittleEndian), "utf-16le", true
	}
	if len(b) < 4 || utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return "", "", false
	}
	// JSON starts with ASCII: its zero-byte pattern names the encoding
	// (RFC 4627, section 3).
	switch {
	case b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] != 0:
		return utf32(b, binary.BigEndian), "utf-32be", true
	case b[0] != 0 && b[1] == 0 && b[2] == 0 && b[3] == 0:
		return utf32(b, binary.LittleEndian), "utf-32le", true
	case b[0] == 0 && b[1] != 0:
		return utf16s(b, binary.BigEndian), "utf-16be", true
	case b[0] != 0 && b[1] == 0:
		return utf16s(b, binary.LittleEndian), "utf-16le", true
	}
	return "", "", false
}

func utf16s(b []byte, order binary.ByteOrder) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, order.Uint16(b[i:]))
	}
	return strings.ToValidUTF8(string(utf16.Decode(u)), "\uFFFD")
}

func utf32(b []byte, order binary.ByteOrder) string {
	var sb strings.Builder
	for i := 0; i+3 < len(b); i += 4 {
		r := rune(order.Uint32(b[i:]))
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
