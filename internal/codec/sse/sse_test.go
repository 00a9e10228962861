package sse

import (
	"strings"
	"testing"
)

func TestParseEvent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Event
	}{
		{"data: a\n\n", Event{Data: "a", HasData: true}},
		{"event: x\r\ndata:a\r\ndata:  b\r\n\r\n", Event{Name: "x", Data: "a\n b", HasData: true}},
		{": comment\nid: 7\nretry: 10\n\n", Event{}},
		{"data\n\n", Event{Data: "", HasData: true}},
		{"data: a\rdata: b\r\r", Event{Data: "a\nb", HasData: true}},
	} {
		if got := ParseEvent(tc.in); got != tc.want {
			t.Errorf("ParseEvent(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestEndAndSplit(t *testing.T) {
	body := "\uFEFFdata: 1\n\ndata: 2\r\n\r\n\ndata: 3\r\rdata: 4"
	var got []string
	if err := Split(body, func(ev string) error { got = append(got, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"data: 1\n\n", "data: 2\r\n\r\n", "\n", "data: 3\r\r", "data: 4"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Split = %q, want %q", got, want)
	}
	// Fed byte by byte, the events end at the same places; a CR at the end
	// waits for a possible LF.
	stream := []byte("data: a\r\n\r\ndata: b\r\r")
	var buf []byte
	seen := 0
	var events []string
	for i, c := range stream {
		buf = append(buf, c)
		for {
			end, resume := End(buf, seen, false)
			if end < 0 {
				seen = resume
				break
			}
			events = append(events, string(buf[:end]))
			buf, seen = buf[end:], 0
		}
		if i == len(stream)-1 && len(buf) > 0 {
			if end, _ := End(buf, seen, true); end > 0 {
				events = append(events, string(buf[:end]))
			}
		}
	}
	if strings.Join(events, "|") != "data: a\r\n\r\n|data: b\r\r" {
		t.Fatalf("incremental events %q", events)
	}
}

// FuzzIncrementalMatchesSplit: fed in chunks of any size, a stream ends
// its events where Split ends them.
func FuzzIncrementalMatchesSplit(f *testing.F) {
	f.Add("data: a\n\ndata: b\r\n\r\n: c\r\rdata: d", uint8(3))
	f.Add("\n\n\r\r\r\n", uint8(1))
	f.Fuzz(func(t *testing.T, body string, step uint8) {
		body = strings.TrimPrefix(body, "\uFEFF")
		var whole []string
		_ = Split(body, func(ev string) error { whole = append(whole, ev); return nil })
		n := int(step%16) + 1
		var buf []byte
		seen := 0
		var inc []string
		for i := 0; i < len(body); i += n {
			buf = append(buf, body[i:min(i+n, len(body))]...)
			for {
				end, resume := End(buf, seen, false)
				if end < 0 {
					seen = resume
					break
				}
				inc = append(inc, string(buf[:end]))
				buf, seen = buf[end:], 0
			}
		}
		for len(buf) > 0 {
			end, _ := End(buf, seen, true)
			if end < 0 {
				inc = append(inc, string(buf))
				break
			}
			inc = append(inc, string(buf[:end]))
			buf, seen = buf[end:], 0
		}
		if strings.Join(whole, "\x00") != strings.Join(inc, "\x00") {
			t.Fatalf("Split %q, incremental %q", whole, inc)
		}
	})
}
