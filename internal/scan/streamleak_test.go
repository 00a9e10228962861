package scan_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/all"
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
	set, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		t.Fatal(err)
	}
	step := &scan.Step{Engine: pipeline.NewEngine(all.EngineOptions()...), MaxBodyBytes: 1 << 20}
	raw := make([]byte, 1200)
	_, _ = rand.Read(raw)
	b64 := base64.StdEncoding.EncodeToString(raw)
	var lines []string
	for len(b64) > 64 {
		lines, b64 = append(lines, b64[:64]), b64[64:]
	}
	lines = append(lines, b64)
	key := "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Join(lines, "\n") + "\n-----END RSA PRIVATE KEY-----\n"

	st := step.NewStream(set.Default, codec.OpenAIChat, "", &scan.Conversation{}, func() (context.Context, context.CancelFunc) {
		return context.WithCancel(context.Background())
	})
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
	set, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		t.Fatal(err)
	}
	step := &scan.Step{Engine: pipeline.NewEngine(all.EngineOptions()...), MaxBodyBytes: 1 << 20}
	st := step.NewStream(set.Default, codec.OpenAIChat, "", &scan.Conversation{}, func() (context.Context, context.CancelFunc) {
		return context.WithCancel(context.Background())
	})
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
