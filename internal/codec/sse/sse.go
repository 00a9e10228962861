// Package sse is the framing of text/event-stream bodies (the WHATWG
// "server-sent events" format): where one event ends, in a whole body or
// in a stream fed chunk by chunk, and the fields of one event. What the
// events mean for an LLM API (deltas, tool-call arguments) is the codec's.
package sse

import "strings"

// Event is the fields of one event that a client acts on.
type Event struct {
	Name string // the event field ("" when absent)
	// Data is the data lines joined with "\n"; HasData says there was at
	// least one (an event without data is not dispatched by clients).
	Data    string
	HasData bool
}

// ParseEvent reads the fields of one event's text. Lines end with CRLF,
// LF or CR; comments (lines starting with ':') and unknown fields are
// ignored; one space after the colon is dropped.
func ParseEvent(text string) Event {
	var (
		ev    Event
		first string
		parts []string
	)
	for len(text) > 0 {
		line := text
		if k := strings.IndexAny(text, "\r\n"); k >= 0 {
			line = text[:k]
			if text[k] == '\r' && k+1 < len(text) && text[k+1] == '\n' {
				k++
			}
			text = text[k+1:]
		} else {
			text = ""
		}
		field, value, found := strings.Cut(line, ":")
		if line == "" || (field == "" && found) {
			continue
		}
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Name = value
		case "data":
			if !ev.HasData {
				first, ev.HasData = value, true
			} else {
				parts = append(parts, value)
			}
		}
	}
	ev.Data = first
	if len(parts) > 0 {
		ev.Data = first + "\n" + strings.Join(parts, "\n")
	}
	return ev
}

// End finds the end of the first complete event in b[from:] that starts
// at a line boundary at or before from: just past the blank line that
// ends it, or -1 when there is none yet, with resume the offset to search
// from next time. A CR at the end of b may be half of a CRLF, so it waits
// for the next byte unless eos says the stream is over.
func End[T string | []byte](b T, from int, eos bool) (end, resume int) {
	lineStart := from
	for lineStart > 0 && b[lineStart-1] != '\n' && b[lineStart-1] != '\r' {
		lineStart--
	}
	for i := lineStart; i < len(b); {
		k := indexLineEnd(b[i:])
		if k < 0 {
			return -1, len(b)
		}
		j := i + k
		next := j + 1
		if b[j] == '\r' {
			if j+1 == len(b) && !eos {
				return -1, i
			}
			if j+1 < len(b) && b[j+1] == '\n' {
				next = j + 2
			}
		}
		if j == i {
			// An empty line ends the event (a blank line with nothing
			// before it is an empty event of its own).
			return next, 0
		}
		i = next
	}
	return -1, len(b)
}

func indexLineEnd[T string | []byte](b T) int {
	for i := 0; i < len(b); i++ {
		if b[i] == '\n' || b[i] == '\r' {
			return i
		}
	}
	return -1
}

// Split calls fn with the text of each event of a whole stream, in order;
// an event the body ends inside of (no blank line after it) is the last
// one. A leading byte-order mark is not part of the first event.
func Split(src string, fn func(event string) error) error {
	src = strings.TrimPrefix(src, "\uFEFF")
	for len(src) > 0 {
		end, _ := End(src, 0, true)
		if end < 0 {
			return fn(src)
		}
		if err := fn(src[:end]); err != nil {
			return err
		}
		src = src[end:]
	}
	return nil
}
