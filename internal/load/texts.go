package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text is one line of the JSONL mix: fields id, text, label ("attack" or
// "benign"; anything else counts as benign).
type Text struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Label string `json:"label"`
}

// Attack says whether the text is labelled as an attack.
func (t Text) Attack() bool { return strings.EqualFold(t.Label, "attack") }

// LoadJSONL reads texts from a JSON Lines file; empty lines are skipped.
func LoadJSONL(path string) ([]Text, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load texts: %w", err)
	}
	defer f.Close()
	var out []Text
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var t Text
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("load texts: %s line %d: %w", path, line, err)
		}
		if t.Text == "" {
			return nil, fmt.Errorf("load texts: %s line %d has no \"text\"", path, line)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load texts: %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("load texts: %s holds no texts", path)
	}
	return out, nil
}

// DefaultTexts is the mix used without a file: one benign question.
func DefaultTexts() []Text {
	return []Text{{ID: "builtin-0", Text: "What is the capital of France, and what is it known for?", Label: "benign"}}
}

// nonceDigits is the width of the per-transaction number written into
// request and response texts so the decision cache does not answer.
const nonceDigits = 12

const filler = " Please keep the answer short and cite the main sources you rely on."

// template is a body with a fixed-width run of zeros (the nonce) at off.
type template struct {
	body []byte
	off  int
}

// stamp copies the template with n written into the nonce.
func (t template) stamp(n uint64) []byte {
	b := make([]byte, len(t.body))
	copy(b, t.body)
	writeNonce(b[t.off:t.off+nonceDigits], n)
	return b
}

func writeNonce(dst []byte, n uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}

var zeroNonce = strings.Repeat("0", nonceDigits)

// An OpenAI chat completion request, assembled from pieces so a 16 KB body
// costs the driver a copy, not a JSON encoding: the nonce sits in the
// system message, leaving the user's text intact.
const (
	reqHead       = `{"model":"gpt-4o-mini",`
	reqStream     = `"stream":true,`
	reqSystem     = `"messages":[{"role":"system","content":"You are a helpful assistant. Session `
	reqUser       = `."},{"role":"user","content":"`
	reqTail       = `"}]}`
	reqFixedBytes = len(reqHead) + len(reqSystem) + nonceDigits + len(reqUser) + len(reqTail)
)

// requestText is a text JSON-escaped once, truncated to fit the body size.
type requestText struct {
	esc    []byte
	attack bool
}

func jsonEscape(s string) []byte {
	b, _ := json.Marshal(s)
	return b[1 : len(b)-1]
}

// prepareText escapes t and, with size > 0, cuts it (at a rune boundary,
// never inside an escape) so the body fits size bytes.
func prepareText(t Text, size int) requestText {
	esc := jsonEscape(t.Text)
	budget := size - reqFixedBytes - len(reqStream)
	if size > 0 && len(esc) > budget {
		text := t.Text
		for len(esc) > budget && len(text) > 0 {
			// Escapes make esc longer than text: cut in proportion.
			cut := min(len(text)-1, len(text)*max(budget, 0)/len(esc))
			for cut > 0 && !utf8.RuneStart(text[cut]) {
				cut--
			}
			text = text[:cut]
			esc = jsonEscape(text)
		}
	}
	return requestText{esc: esc, attack: t.Attack()}
}

// chatRequest assembles the request body: about size bytes (size 0 keeps
// the text as is), padded with benign filler.
func chatRequest(t requestText, size int, stream bool, nonce uint64) []byte {
	n := reqFixedBytes + len(t.esc)
	if stream {
		n += len(reqStream)
	}
	pad := max(size-n, 0)
	b := make([]byte, 0, n+pad)
	b = append(b, reqHead...)
	if stream {
		b = append(b, reqStream...)
	}
	b = append(b, reqSystem...)
	b = append(b, zeroNonce...)
	writeNonce(b[len(b)-nonceDigits:], nonce)
	b = append(b, reqUser...)
	b = append(b, t.esc...)
	for pad > 0 {
		k := min(pad, len(filler))
		b = append(b, filler[:k]...)
		pad -= k
	}
	return append(b, reqTail...)
}

const answer = "Paris is the capital of France. It is known for the Eiffel Tower, the Louvre, " +
	"its cafes and its long history as a centre of art, fashion and science. " +
	"The city sits on the Seine and has about two million inhabitants. Reference " + "000000000000" + "."

// completion is the canned buffered answer, with a nonce in its content.
func completion() template {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]string{"role": "assistant", "content": answer}}},
		"usage":   map[string]int{"prompt_tokens": 20, "completion_tokens": 60, "total_tokens": 80},
	})
	return template{body: b, off: strings.Index(string(b), "Reference ") + len("Reference ")}
}

// sseChunks splits the canned answer into k body chunks, each one SSE
// event (a chat.completion.chunk delta), the last followed by
// "data: [DONE]"; the nonce is in the answer's last words.
func sseChunks(k int, n uint64) [][]byte {
	k = max(k, 1)
	words := strings.SplitAfter(strings.Replace(answer, zeroNonce, nonceString(n), 1), " ")
	out := make([][]byte, 0, k)
	per := (len(words) + k - 1) / k
	for i := 0; i < k; i++ {
		lo, hi := min(i*per, len(words)), min((i+1)*per, len(words))
		delta := strings.Join(words[lo:hi], "")
		ev, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o-mini",
			"choices": []map[string]any{{"index": 0, "delta": map[string]string{"content": delta}, "finish_reason": nil}},
		})
		c := append(append([]byte("data: "), ev...), '\n', '\n')
		if i == k-1 {
			c = append(c, "data: [DONE]\n\n"...)
		}
		out = append(out, c)
	}
	return out
}

func nonceString(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) < nonceDigits {
		s = zeroNonce[:nonceDigits-len(s)] + s
	}
	return s
}
