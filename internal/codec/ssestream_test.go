package codec

import (
	"bytes"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// TestSSEDecoderAnyChunking: whatever the chunking, the events' raw bytes
// put together are the stream, and the assembled stream texts are those
// DecodeSSE finds in the whole body.
func TestSSEDecoderAnyChunking(t *testing.T) {
	for _, tc := range []struct {
		file string
		api  API
	}{
		{"openai_chat_stream.sse", OpenAIChat},
		{"openai_responses_stream.sse", OpenAIResponses},
		{"anthropic_stream.sse", AnthropicMessages},
	} {
		body, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := DecodeSSE(tc.api, body, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, s := range whole.Segments() {
			want[s.Field] = s.Text
		}
		variants := [][]byte{body, bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n")), bytes.ReplaceAll(body, []byte("\n"), []byte("\r"))}
		rng := rand.New(rand.NewPCG(1, 2))
		for vi, v := range variants {
			for trial := 0; trial < 60; trial++ {
				dec := NewSSEDecoder(tc.api, Limits{})
				var raw []byte
				var wholes int
				for rest := v; ; {
					n := min(len(rest), 1+rng.IntN(max(1, trial%7*9+1)))
					evs, err := dec.Feed(rest[:n], n == len(rest))
					if err != nil {
						t.Fatalf("%s variant %d: %v", tc.file, vi, err)
					}
					for _, ev := range evs {
						raw = append(raw, ev.Raw...)
						wholes += len(ev.Whole)
						for _, d := range ev.Deltas {
							text, _ := dec.Stream(d.Stream)
							if d.LitStart >= 0 {
								lit := ev.Data[d.LitStart:d.LitEnd]
								if len(lit) < 2 || lit[0] != '"' {
									t.Fatalf("delta literal %q is not a string literal", lit)
								}
							}
							if d.End > len(text) || d.Start > d.End {
								t.Fatalf("delta [%d,%d) out of stream %d (%d bytes)", d.Start, d.End, d.Stream, len(text))
							}
						}
					}
					rest = rest[n:]
					if len(rest) == 0 {
						break
					}
				}
				if !bytes.Equal(raw, v) {
					t.Fatalf("%s variant %d trial %d: events do not add up to the stream", tc.file, vi, trial)
				}
				for k := 0; k < dec.Streams(); k++ {
					text, seg := dec.Stream(k)
					if w, ok := want[seg.Field]; !ok || w != string(text) {
						t.Fatalf("%s variant %d: stream %s = %q, DecodeSSE has %q", tc.file, vi, seg.Field, text, w)
					}
				}
				if trial == 0 && vi == 0 {
					t.Logf("%s: %d streams, %d whole texts", tc.file, dec.Streams(), wholes)
				}
			}
		}
	}
}

func TestRewriteEventKeepsFieldsAndSplitsLines(t *testing.T) {
	dec := NewSSEDecoder(OpenAIChat, Limits{})
	evs, err := dec.Feed([]byte("event: x\nid: 7\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"key sk-1\"}}]}\n\n"), true)
	if err != nil || len(evs) != 1 || len(evs[0].Deltas) != 1 {
		t.Fatalf("events %+v err %v", evs, err)
	}
	d := evs[0].Deltas[0]
	out, err := RewriteEvent(evs[0], []SSEEdit{{LitStart: d.LitStart, LitEnd: d.LitEnd, Text: "key [X]\nnext"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "event: x\nid: 7\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"key [X]\\nnext\"}}]}\n\n"
	if string(out) != want {
		t.Fatalf("got %q\nwant %q", out, want)
	}
}

func TestStreamErrorEventsParse(t *testing.T) {
	for _, api := range []API{OpenAIChat, OpenAIResponses, AnthropicMessages} {
		b := StreamErrorEvents(api, "llmfw_blocked", "blocked: output.canary_leak")
		dec := NewSSEDecoder(api, Limits{})
		evs, err := dec.Feed(b, true)
		if err != nil || len(evs) == 0 {
			t.Fatalf("%s: %v", api, err)
		}
		names := []string{}
		for _, ev := range evs {
			names = append(names, ev.Name)
		}
		if api == AnthropicMessages && !slices.Contains(names, "error") {
			t.Errorf("%s: no error event in %q", api, b)
		}
		if api == OpenAIChat && !evs[len(evs)-1].Done {
			t.Errorf("%s: stream not ended with [DONE]: %q", api, b)
		}
	}
}

// FuzzSSEDecoder: any bytes, cut anywhere, decode without panicking; when
// they decode, the events' raw bytes add up to the input and every delta
// lies inside its stream.
func FuzzSSEDecoder(f *testing.F) {
	for _, name := range []string{"openai_chat_stream.sse", "openai_responses_stream.sse", "anthropic_stream.sse"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b, uint8(7), uint8(0))
		}
	}
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"a\\u00e9\"}}]}\r\n\r\ndata: [DONE]\r"), uint8(3), uint8(1))
	f.Add([]byte("event: error\ndata: x\n\n\xff\xfe\n\n"), uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, step, apiSel uint8) {
		apis := []API{OpenAIChat, OpenAIResponses, AnthropicMessages}
		dec := NewSSEDecoder(apis[int(apiSel)%len(apis)], Limits{MaxBytes: 1 << 20})
		n := int(step)%64 + 1
		var raw []byte
		for i := 0; i < len(body) || i == 0; i += n {
			end := min(len(body), i+n)
			evs, err := dec.Feed(body[i:end], end == len(body))
			if err != nil {
				return // a limit: fine, as long as nothing panicked
			}
			for _, ev := range evs {
				raw = append(raw, ev.Raw...)
				for _, d := range ev.Deltas {
					text, _ := dec.Stream(d.Stream)
					if d.Start < 0 || d.Start > d.End || d.End > len(text) {
						t.Fatalf("delta [%d,%d) outside stream %d of %d bytes", d.Start, d.End, d.Stream, len(text))
					}
					if d.LitStart >= 0 && (d.LitEnd > len(ev.Data) || d.LitStart > d.LitEnd) {
						t.Fatalf("literal [%d,%d) outside data of %d bytes", d.LitStart, d.LitEnd, len(ev.Data))
					}
				}
			}
			if end == len(body) {
				break
			}
		}
		if !bytes.Equal(raw, body) {
			t.Fatalf("events add up to %d bytes, input %d", len(raw), len(body))
		}
	})
}
