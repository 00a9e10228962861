package codec

import (
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// decodePlain makes the whole body one segment. Invalid UTF-8 does not
// fail a plain-text body (it may be any text the upstream accepts): each
// bad byte shows as U+FFFD in the segment so detectors get valid text, and
// the location remembers where those bytes were so Rewrite maps offsets back
// and leaves every byte outside a redaction, bad ones included, unchanged.
func decodePlain(d *Document, dir pipeline.Direction) {
	body := d.body
	if len(body) == 0 {
		return
	}
	prov := pipeline.FromUser
	if dir == pipeline.Response {
		prov = pipeline.FromModel
	}
	loc := location{start: 0, end: int32(min(len(body), 1<<31-1))}
	var text string
	if utf8.Valid(body) {
		text = string(body)
	} else {
		buf := make([]byte, 0, len(body)+16)
		for i := 0; i < len(body); {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				loc.badBytes = append(loc.badBytes, int32(i))
				buf = append(buf, "\uFFFD"...)
			} else {
				buf = append(buf, body[i:i+size]...)
			}
			i += size
		}
		text = string(buf)
	}
	d.segments = append(d.segments, pipeline.Segment{Text: text, Role: pipeline.RoleUnknown, Provenance: prov, Field: "body"})
	d.locs = append(d.locs, loc)
}

// bodyOffset maps an offset into a plain-text segment's Text to the body.
// An offset inside a U+FFFD that stands for a bad byte snaps outward so the
// whole bad byte is inside the span.
func (l *location) bodyOffset(t int, isEnd bool) int {
	for k, b := range l.badBytes {
		textOff := int(b) + 2*k // each earlier bad byte grew by two bytes
		switch {
		case t <= textOff:
			return t - 2*k
		case t < textOff+3:
			if isEnd {
				return int(b) + 1
			}
			return int(b)
		}
	}
	return t - 2*len(l.badBytes)
}
