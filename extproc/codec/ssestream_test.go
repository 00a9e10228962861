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
