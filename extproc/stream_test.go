package extproc_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llm-firewall/llm-firewall/extproc"
)

func streamRequest() []byte {
	b, _ := json.Marshal(map[string]any{
		"model": "gpt-4o-mini", "stream": true,
		"messages": []map[string]any{{"role": "user", "content": "tell me"}},
	})
	return b
}

func deltaEvent(text string) string {
	b, _ := json.Marshal(map[string]any{"object": "chat.completion.chunk", "choices": []map[string]any{{"index": 0, "delta": map[string]any{"content": text}}}})
	return string(b)
}

// visible is what reaches the client for one chunk, given the reply.
func visible(t *testing.T, chunk []byte, r *extprocv3.ProcessingResponse) []byte {
	t.Helper()
	bm := common(t, r).GetBodyMutation()
	switch {
	case bm == nil:
		return chunk
	case bm.GetClearBody():
		return nil
	}
	return bm.GetBody()
}

// openStream plays a streamed chat transaction up to the response body.
func openStream(t *testing.T, h *harness, md ...string) *envoy {
	e := h.open(md...)
	e.mode = &extprocv3.ProtocolConfiguration{RequestBodyMode: filterv3.ProcessingMode_BUFFERED, ResponseBodyMode: filterv3.ProcessingMode_STREAMED}
	e.send(reqHeaders(chatPath, false))
	common(t, e.send(reqBody(streamRequest(), true)))
	common(t, e.send(respHeaders("200", false, "content-type", "text/event-stream")))
	return e
}

// sendChunks sends the stream in the given chunks and returns what the
// client sees, and the reply to the last chunk.
func sendChunks(t *testing.T, e *envoy, chunks [][]byte) ([]byte, *extprocv3.ProcessingResponse) {
	t.Helper()
	var out []byte
	var last *extprocv3.ProcessingResponse
	for i, c := range chunks {
		last = e.send(respBody(c, i == len(chunks)-1))
		out = append(out, visible(t, c, last)...)
	}
	return out, last
}

func split(b []byte, cuts ...int) [][]byte {
	var out [][]byte
	prev := 0
	for _, c := range cuts {
		out = append(out, b[prev:c])
		prev = c
	}
	return append(out, b[prev:])
}

// TestStreamModeOverride: a streamed answer to a stream:true request is
// switched to STREAMED, with both body modes set and content-length gone;
// other answers are left as configured.
func TestStreamModeOverride(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	cases := []struct {
		name   string
		req    []byte
		status string
		hdrs   []string
		want   bool
	}{
		{"streamed 200", streamRequest(), "200", []string{"content-type", "text/event-stream", "content-length", "100"}, true},
		{"not asked to stream", chat("hi"), "200", []string{"content-type", "text/event-stream"}, false},
		{"error status", streamRequest(), "429", []string{"content-type", "text/event-stream"}, false},
		{"json answer", streamRequest(), "200", []string{"content-type", "application/json"}, false},
		{"compressed", streamRequest(), "200", []string{"content-type", "text/event-stream", "content-encoding", "gzip"}, false},
	}
	for _, tc := range cases {
		e := h.open()
		e.send(reqHeaders(chatPath, false))
		common(t, e.send(reqBody(tc.req, true)))
		r := e.send(respHeaders(tc.status, false, tc.hdrs...))
		mo := r.GetModeOverride()
		if got := mo != nil; got != tc.want {
			t.Errorf("%s: mode_override sent = %v, want %v", tc.name, got, tc.want)
			continue
		}
		if !tc.want {
			continue
		}
		if mo.GetResponseBodyMode() != filterv3.ProcessingMode_STREAMED || mo.GetRequestBodyMode() != filterv3.ProcessingMode_BUFFERED {
			t.Errorf("%s: override %v: want response STREAMED and the request's BUFFERED kept", tc.name, mo)
		}
		if !slicesContains(common(t, r).GetHeaderMutation().GetRemoveHeaders(), "content-length") {
			t.Errorf("%s: content-length not removed", tc.name)
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestStreamedSecretAcrossThreeChunks: a secret split over three chunks
// (inside events and across them) reaches the client redacted, text is
// held back until checked, and the rest of the answer arrives intact.
func TestStreamedSecretAcrossThreeChunks(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := openStream(t, h)
	pad := strings.Repeat("lorem ipsum dolor sit amet ", 12) // more than the hold-back window
	body := sse(deltaEvent(pad+"your token is secr"), deltaEvent("et-12"), deltaEvent("345, keep it safe. "+pad))
	i := bytes.Index(body, []byte("secr"))
	j := bytes.Index(body, []byte("et-12"))
	chunks := split(body, i+2, j+3)
	first := e.send(respBody(chunks[0], false))
	if got := visible(t, chunks[0], first); bytes.Contains(got, []byte("secr")) {
		t.Fatalf("the start of the secret was released before it was checked: %q", got)
	}
	out := visible(t, chunks[0], first)
	rest, _ := sendChunks(t, e, chunks[1:])
	out = append(out, rest...)
	text := clientText(t, out)
	if strings.Contains(text, "secret-") || strings.Contains(text, "12345") {
		t.Fatalf("secret reached the client: %q", text)
	}
	if want := pad + "your token is [REDACTED:SECRET], keep it safe. " + pad; text != want {
		t.Fatalf("client text\n%q\nwant\n%q", text, want)
	}
	if !bytes.HasSuffix(out, []byte("data: [DONE]\n\n")) {
		t.Fatal("stream end not passed on")
	}
}

// clientText is what an SDK would print: the deltas' content in order. It
// fails on an error event.
func clientText(t *testing.T, stream []byte) string {
	t.Helper()
	var b strings.Builder
	for _, ev := range strings.Split(string(stream), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c struct {
			Error   *struct{ Message string }
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if c.Error != nil {
			b.WriteString("<error:" + c.Error.Message + ">")
			continue
		}
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
	}
	return b.String()
}

// TestStreamedBlockEndsWithErrorEvent: a block mid-stream ends the stream
// with the provider's error chunk and [DONE]; later chunks are dropped and
// nothing of the blocked text is shown.
func TestStreamedBlockEndsWithErrorEvent(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := openStream(t, h)
	pad := strings.Repeat("harmless words here ", 20)
	var tokens bytes.Buffer // the padding as token-sized events, as models stream
	for _, w := range strings.SplitAfter(pad, " ") {
		tokens.WriteString("data: " + deltaEvent(w) + "\n\n")
	}
	chunks := [][]byte{
		tokens.Bytes(),
		[]byte("data: " + deltaEvent("and now BLOC") + "\n\n"),
		[]byte("data: " + deltaEvent("KME is said") + "\n\n"),
		[]byte("data: " + deltaEvent(pad) + "\n\ndata: [DONE]\n\n"),
	}
	out, last := sendChunks(t, e, chunks)
	if bm := common(t, last).GetBodyMutation(); !bm.GetClearBody() {
		t.Fatalf("a chunk after the cut was not dropped: %v", bm)
	}
	text := clientText(t, out)
	if strings.Contains(text, "BLOC") || !strings.Contains(text, "<error:blocked: word.block>") {
		t.Fatalf("client saw %q", text)
	}
	if !strings.HasPrefix(text, pad[:50]) {
		t.Fatalf("text before the finding (outside the hold-back window) should have been released: %q", text)
	}
	if !bytes.HasSuffix(out, []byte("data: [DONE]\n\n")) {
		t.Fatal("no clean end after the error event")
	}
}

// TestStreamChunkingProperty: any chunking of a recorded stream gives the
// same client-visible bytes and the same decision as the whole stream in
// one piece (which is what BUFFERED mode does).
func TestStreamChunkingProperty(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	pad := strings.Repeat("plain text goes on ", 15)
	streams := map[string][]byte{
		"redacted": sse(deltaEvent(pad+"a secret-"), deltaEvent("98"), deltaEvent("76 and "), deltaEvent("secret-5"+pad), deltaEvent("end")),
		"clean":    sse(deltaEvent(pad), deltaEvent("ünïcödé ✓ "+pad)),
	}
	rng := rand.New(rand.NewPCG(7, 9))
	for name, body := range streams {
		whole, _ := sendChunks(t, openStream(t, h), [][]byte{body})
		for trial := 0; trial < 40; trial++ {
			var cuts []int
			for c := 1 + rng.IntN(9); c < len(body); c += 1 + rng.IntN(40) {
				cuts = append(cuts, c)
			}
			got, last := sendChunks(t, openStream(t, h), split(body, cuts...))
			if !bytes.Equal(got, whole) {
				t.Fatalf("%s: chunking %v changed what the client sees:\n%s\nvs whole:\n%s", name, cuts, got, whole)
			}
			if d := header(common(t, last).GetHeaderMutation(), extproc.HeaderDecision); d != "" {
				t.Fatalf("a STREAMED body reply carries headers (ignored by Envoy): %q", d)
			}
		}
	}
	// Blocking streams: every chunking blocks, and never shows the word.
	body := sse(deltaEvent(pad+"say BLO"), deltaEvent("CKME"+pad))
	for trial := 0; trial < 40; trial++ {
		var cuts []int
		for c := 1 + rng.IntN(9); c < len(body); c += 1 + rng.IntN(40) {
			cuts = append(cuts, c)
		}
		got, _ := sendChunks(t, openStream(t, h), split(body, cuts...))
		text := clientText(t, got)
		if strings.Contains(strings.ReplaceAll(text, "<error:blocked: word.block>", ""), "BLO") || !strings.Contains(text, "<error:blocked: word.block>") {
			t.Fatalf("chunking %v: client saw %q", cuts, text)
		}
	}
}
