package codec

import (
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/internal/codec/jsonscan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// DecodeLenient decodes a body that is scanned as text because it is not
// the JSON it claims to be (the PlainText fallback). Scanning only the raw
// bytes would let a lenient upstream parser read `\u0042LOCKME` as BLOCKME
// while detectors see the escape, so the document holds:
//
//   - segment 0: the whole body as text, exactly as DecodeRequest(PlainText)
//     makes it (invalid UTF-8 shown as U+FFFD);
//   - then one segment per string literal a tolerant scan finds ("body.literal[k]"):
//     from a double or single quote to the next unescaped same quote (or the
//     end of the body), with JSON escapes (\n, \uXXXX with surrogate pairs)
//     and \xHH, \UXXXXXXXX decoded. An invalid escape, a lone surrogate or an
//     invalid UTF-8 byte becomes U+FFFD; the character after a stray
//     backslash is kept, so no letter is lost.
//
// Rewrite writes redactions of segment 0 back byte for byte; a redaction
// of a literal segment makes Rewrite fail (its text is a decoding, with no
// byte-for-byte place in the body), and the transport then blocks instead
// of redacting.
//
// The document's API is PlainText. More than lim's node cap (see
// Limits.MaxNodes) literals is ErrTooLarge, like a JSON body of too many
// values.
func DecodeLenient(body []byte, dir pipeline.Direction, lim Limits) (*Document, error) {
	if lim.MaxBytes > 0 && len(body) > lim.MaxBytes {
		return nil, fmt.Errorf("%s %s body is %d bytes, over the %d-byte limit: %w", PlainText, dir, len(body), lim.MaxBytes, ErrTooLarge)
	}
	d := &Document{api: PlainText, body: body, meta: pipeline.Meta{API: string(PlainText), BodyBytes: len(body)}}
	return decodeLenient(d, dir, lim, false)
}

// decodeLenient fills a plain document: the whole body, then its
// literals; skipVerbatim leaves out a literal whose decoding is exactly its
// bytes (segment 0 already shows it byte for byte).
func decodeLenient(d *Document, dir pipeline.Direction, lim Limits, skipVerbatim bool) (*Document, error) {
	decodePlain(d, dir)
	if err := scanLiterals(d, dir, lim.nodeCap(len(d.body)), skipVerbatim); err != nil {
		return nil, err
	}
	return d, nil
}

// scanLiterals appends the decoded string literals of d.body as segments;
// skipVerbatim leaves out a terminated literal whose decoding is its own
// bytes. maxLiterals <= 0 means no cap.
func scanLiterals(d *Document, dir pipeline.Direction, maxLiterals int, skipVerbatim bool) error {
	body := d.body
	if len(body) > 1<<31-1 {
		return fmt.Errorf("body of %d bytes cannot be indexed: %w", len(body), ErrTooLarge)
	}
	prov := pipeline.FromUser
	if dir == pipeline.Response {
		prov = pipeline.FromModel
	}
	// Decoded texts share one arena, made a string once, so a body of many
	// literals costs two allocations, not one per literal.
	var arena []byte
	type lit struct{ start, end, from, to int32 }
	var lits []lit
	for i := 0; i < len(body); i++ {
		q := body[i]
		if q != '"' && q != '\'' {
			continue
		}
		if maxLiterals > 0 && len(lits) >= maxLiterals {
			return fmt.Errorf("text body has more than %d quoted strings; raise Limits.MaxNodes if such bodies are legitimate: %w", maxLiterals, ErrTooLarge)
		}
		if arena == nil {
			arena = make([]byte, 0, len(body)-i)
		}
		from := len(arena)
		var end int
		arena, end = decodeLiteral(arena, body, i+1, q)
		if skipVerbatim && end-1 > i && body[end-1] == q && string(arena[from:]) == string(body[i+1:end-1]) {
			arena = arena[:from]
		} else if len(arena) > from {
			lits = append(lits, lit{int32(i), int32(end), int32(from), int32(len(arena))})
		}
		i = end - 1
	}
	if len(lits) == 0 {
		return nil
	}
	text := string(arena)
	d.segments = slices.Grow(d.segments, len(lits))
	d.locs = slices.Grow(d.locs, len(lits))
	for k, l := range lits {
		d.segments = append(d.segments, pipeline.Segment{
			Text: text[l.from:l.to], Role: pipeline.RoleUnknown, Provenance: prov,
			Field: "body.literal[" + strconv.Itoa(k) + "]",
		})
		d.locs = append(d.locs, location{start: l.start, end: l.end, decoded: true})
	}
	return nil
}

// decodeLiteral appends the decoded text of the literal whose content
// starts at body[i] and ends at the next unescaped q, returning the offset
// just past the closing quote (or len(body) for an unterminated literal).
// The result is always valid UTF-8.
func decodeLiteral(out, body []byte, i int, q byte) ([]byte, int) {
	const bad = "\uFFFD"
	for i < len(body) {
		c := body[i]
		switch {
		case c == q:
			return out, i + 1
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, bad...)
			} else {
				out = append(out, body[i:i+size]...)
			}
			i += size
			continue
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(body) {
			return append(out, bad...), len(body)
		}
		esc := body[i+1]
		switch esc {
		case '"', '\\', '/', '\'':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u', 'x', 'U':
			width := 4
			switch esc {
			case 'x':
				width = 2
			case 'U':
				width = 8
			}
			r, ok := jsonscan.HexN(body, i+2, width)
			if !ok {
				// Keep what follows the backslash as text.
				out = append(out, bad...)
				i++
				continue
			}
			n := 2 + width
			if esc == 'u' && r >= 0xD800 && r <= 0xDBFF && i+12 <= len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
				if lo, ok := jsonscan.HexN(body, i+8, 4); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					n = 12
				}
			}
			if !utf8.ValidRune(r) {
				r = utf8.RuneError // lone surrogates and out-of-range \U
			}
			out = utf8.AppendRune(out, r)
			i += n
			continue
		default:
			// Not an escape: mark the backslash, keep the character.
			out = append(out, bad...)
			i++
			continue
		}
		i += 2
	}
	return out, len(body)
}
