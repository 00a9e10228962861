package scan_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// chatChunk is one streamed chat completion event carrying text.
func chatChunk(text string) string {
	b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk",
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": text}}}})
	return "data: " + string(b) + "\n\n"
}

// A private key streamed line by line is held back from its BEGIN line
// until its END line, so none of it goes out before it was scanned whole
// and redacted (issue "Nothing unscanned", item 8, the PEM part).
func TestStreamedPEMBlockHeldUntilScanned(t *testing.T) {
	set, step := defaultStep(t)
	raw := make([]byte, 1200)
	_, _ = rand.Read(raw)
	b64 := base64.StdEncoding.EncodeToString(raw)
	var lines []string
	for len(b64) > 64 {
		lines, b64 = append(lines, b64[:64]), b64[64:]
	}
	lines = append(lines, b64)
	key := "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Join(lines, "\n") + "\n-----END RSA PRIVATE KEY-----\n"

	st := step.NewStream(set.Default, codec.OpenAIChat, "", &scan.Conversation{}, noDeadline)
	var released strings.Builder
	feed := func(text string, eos bool) {
		t.Helper()
		out, err := st.Feed([]byte(chatChunk(text)), eos)
		if err != nil {
			t.Fatal(err)
		}
		released.Write(out)
	}
	feed("Here is the key you asked for:\n", false)
	for _, l := range strings.SplitAfter(key, "\n") {
		feed(l, false)
		for _, body := range lines[:len(lines)-1] {
			if strings.Contains(released.String(), body[:32]) {
				t.Fatalf("a line of the key went out before its END line arrived:\n%s", released.String())
			}
		}
	}
	feed(" Keep it safe.", false)
	out, err := st.Feed([]byte("data: [DONE]\n\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	released.Write(out)
	v := st.Final()
	if v == nil || v.Action == pipeline.Block {
		t.Fatalf("final verdict %+v, want the key redacted and the answer delivered", v)
	}
	for _, body := range lines[:len(lines)-1] {
		if strings.Contains(released.String(), body[:32]) {
			t.Fatal("a line of the key reached the client")
		}
	}
	if !strings.Contains(released.String(), "Keep it safe.") || !strings.Contains(released.String(), "REDACTED") {
		t.Fatalf("the answer around the key is not delivered with the key redacted:\n%s", released.String())
	}
}

// A PEM block that never ends is not held without bound: past 16 KiB the
// stream is cut.
func TestStreamedOpenPEMBlockIsBounded(t *testing.T) {
	set, step := defaultStep(t)
	st := step.NewStream(set.Default, codec.OpenAIChat, "", &scan.Conversation{}, noDeadline)
	if _, err := st.Feed([]byte(chatChunk("-----BEGIN OPENSSH PRIVATE KEY-----\n")), false); err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("A", 63) + "\n"
	for i := 0; i < 400 && st.Final() == nil; i++ {
		if _, err := st.Feed([]byte(chatChunk(line)), false); err != nil {
			t.Fatal(err)
		}
	}
	v := st.Final()
	if v == nil || v.Action != pipeline.Block || !strings.Contains(v.Reason, "private key block") {
		t.Fatalf("final verdict %+v, want the stream cut", v)
	}
}

// A system prompt streamed back word by word is cut once the answer so far
// (released and held) reproduces the leak threshold's share of it, not at
// the end of the stream (issue "Nothing unscanned", item 8): at most about
// that share goes out. An answer that quotes a few of its phrases passes.
func TestStreamedSystemPromptLeakCutEarly(t *testing.T) {
	set, step := defaultStep(t)
	var sys strings.Builder
	topics := []string{"billing", "refunds", "shipping", "returns", "warranty", "accounts", "privacy", "security", "orders", "coupons"}
	for i := 0; sys.Len() < 2600; i++ {
		t := topics[i%len(topics)]
		fmt.Fprintf(&sys, "Rule %d: when the customer asks about %s you answer politely, cite the %s policy section %d and never promise anything beyond it. ", i+1, t, t, i+3)
	}
	system := sys.String()
	run := func(answer string) (released string, v *pipeline.Verdict) {
		conv := &scan.Conversation{Exchange: pipeline.ExchangeFor([]pipeline.Segment{{Text: system, Role: pipeline.RoleSystem, Provenance: pipeline.FromSystem}})}
		st := step.NewStream(set.Default, codec.OpenAIChat, "", conv, noDeadline)
		var out strings.Builder
		words := strings.SplitAfter(answer, " ")
		for i, w := range words {
			b, err := st.Feed([]byte(chatChunk(w)), i == len(words)-1)
			out.Write(b)
			if err != nil {
				break
			}
		}
		return out.String(), st.Final()
	}
	released, v := run("Of course. Here are my instructions: " + system)
	if v == nil || v.Action != pipeline.Block || !slices.Contains(v.Rules(), "output.system_prompt_leak") {
		t.Fatalf("final verdict %+v, want a system_prompt_leak block", v)
	}
	// How much of the system prompt went out: count its rules in the
	// released deltas.
	var text strings.Builder
	for _, line := range strings.Split(released, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Choices []struct {
				Delta struct{ Content string }
			}
		}
		if json.Unmarshal([]byte(data), &ev) == nil && len(ev.Choices) > 0 {
			text.WriteString(ev.Choices[0].Delta.Content)
		}
	}
	share := float64(len(text.String())) / float64(len(system))
	t.Logf("released %.0f%% of a %d-byte system prompt before the cut", 100*share, len(system))
	if share > 0.6 {
		t.Fatalf("%.0f%% of the system prompt went out before the cut (leak threshold 50%%)", 100*share)
	}
	// A hard negative: an answer that uses a few of the prompt's phrases.
	_, v = run("I can help with refunds. When the customer asks about refunds you answer politely, and I will cite the refunds policy section for you. Anything else?")
	if v == nil || v.WouldBe != pipeline.Allow {
		t.Fatalf("an answer quoting a phrase was flagged: %+v", v)
	}
}

// A private key streamed in 1-5-byte pieces, so that a chunk ends inside
// the "-----END ...-----" marker: the block is not closed until its END
// line is whole, so none of it goes out before the detectors saw it whole
// (found by the e2e suite: an END marker cut after "-----END " released the
// key unredacted).
func TestStreamedPEMCutInsideEndMarker(t *testing.T) {
	set, step := defaultStep(t)
	raw := make([]byte, 360)
	_, _ = rand.Read(raw)
	b64 := base64.StdEncoding.EncodeToString(raw)
	var lines []string
	for len(b64) > 64 {
		lines, b64 = append(lines, b64[:64]), b64[64:]
	}
	lines = append(lines, b64)
	answer := "Here is the key: -----BEGIN RSA PRIVATE KEY-----\n" + strings.Join(lines, "\n") + "\n-----END RSA PRIVATE KEY----- Keep it safe."
	for _, maxPiece := range []int{1, 3, 5} {
		st := step.NewStream(set.Default, codec.OpenAIChat, "", &scan.Conversation{}, noDeadline)
		var released strings.Builder
		for i, n := 0, 0; i < len(answer); n++ {
			j := min(len(answer), i+1+n%maxPiece)
			out, err := st.Feed([]byte(chatChunk(answer[i:j])), j == len(answer))
			if err != nil {
				t.Fatal(err)
			}
			released.Write(out)
			i = j
		}
		text := chatText(t, released.String())
		for _, l := range lines[:len(lines)-1] {
			if strings.Contains(text, l) {
				t.Fatalf("pieces of %d: a key line went out: %q", maxPiece, text)
			}
		}
		if f := st.Final(); f == nil || f.Action != pipeline.Redact || !strings.Contains(text, "Keep it safe.") {
			t.Fatalf("pieces of %d: final %+v, released %q; want the key redacted and the rest delivered", maxPiece, f, text)
		}
	}
}

// chatText is the delta content of a streamed chat answer.
func chatText(t *testing.T, stream string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(stream, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ev struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("released event %q: %v", data, err)
		}
		if len(ev.Choices) > 0 {
			b.WriteString(ev.Choices[0].Delta.Content)
		}
	}
	return b.String()
}

// A word cut by a chunk boundary is not judged on its first half: under
// strict (which redacts person names), "France" streamed as "Fran" + "ce"
// is delivered whole, not as a redacted "Fran" (a given name) and "ce";
// a real name cut the same way is still redacted whole (found by the e2e
// suite on the shipped Envoy config).
func TestStreamedWordCutAtChunkBoundary(t *testing.T) {
	set, step := defaultStep(t)
	strict, ok := set.Policy("strict")
	if !ok {
		t.Fatal("no strict policy")
	}
	for _, c := range []struct{ answer, want string }{
		{"What is the capital of France? Paris.", "What is the capital of France? Paris."},
		{"Please thank Maria Jensen for the flowers.", "Please thank [REDACTED:PERSON] for the flowers."},
	} {
		for cut := 1; cut < len(c.answer); cut++ {
			st := step.NewStream(strict, codec.OpenAIChat, "", &scan.Conversation{}, noDeadline)
			var released strings.Builder
			for _, p := range []string{c.answer[:cut], c.answer[cut:]} {
				out, err := st.Feed([]byte(chatChunk(p)), false)
				if err != nil {
					t.Fatal(err)
				}
				released.Write(out)
			}
			out, err := st.Feed([]byte("data: [DONE]\n\n"), true)
			if err != nil {
				t.Fatal(err)
			}
			released.Write(out)
			if got := chatText(t, released.String()); got != c.want {
				t.Fatalf("cut at %d: client got %q, want %q", cut, got, c.want)
			}
		}
	}
}
