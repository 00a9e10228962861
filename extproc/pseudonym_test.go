package extproc_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/extproc"
)

// TestPseudonymRoundTrip: the upstream gets typed tokens for the request's
// sensitive values and the client gets the values back in the answer; a
// token the request did not issue stays as it is.
func TestPseudonymRoundTrip(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open("x-llmfw-policy", "pseudo")
	body := chat("use secret-111 then secret-222, and secret-111 again")
	e.send(reqHeaders(chatPath, false, "content-length", itoa(len(body))))
	c := common(t, e.send(reqBody(body, true)))
	up := c.GetBodyMutation().GetBody()
	var req struct {
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal(up, &req); err != nil {
		t.Fatalf("upstream body is not JSON: %v\n%s", err, up)
	}
	if got, want := req.Messages[1].Content, "use <SECRET_1> then <SECRET_2>, and <SECRET_1> again"; got != want {
		t.Fatalf("upstream sees %q, want %q", got, want)
	}
	if strings.Contains(string(up), "secret-") {
		t.Fatal("an original value reached the upstream")
	}

	answer := []byte(`{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Stored <SECRET_2> and <SECRET_1>; <SECRET_9> is not mine."},"finish_reason":"stop"}]}`)
	e.send(respHeaders("200", false, "content-length", itoa(len(answer))))
	rc := common(t, e.send(respBody(answer, true)))
	down := rc.GetBodyMutation().GetBody()
	if down == nil {
		t.Fatal("the answer was not rewritten")
	}
	if got := header(rc.GetHeaderMutation(), "content-length"); got != itoa(len(down)) {
		t.Fatalf("content-length %q does not match the restored body (%d bytes)", got, len(down))
	}
	var resp struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.Unmarshal(down, &resp); err != nil {
		t.Fatalf("restored body is not JSON: %v", err)
	}
	if got, want := resp.Choices[0].Message.Content, "Stored secret-222 and secret-111; <SECRET_9> is not mine."; got != want {
		t.Fatalf("client sees %q, want %q", got, want)
	}
}

// TestPseudonymsDoNotCrossTransactions: another transaction's answer
// carrying the same token is not restored (each vault is its own).
func TestPseudonymsDoNotCrossTransactions(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	a := h.open("x-llmfw-policy", "pseudo")
	a.send(reqHeaders(chatPath, false))
	common(t, a.send(reqBody(chat("keep secret-777"), true)))

	b := h.open("x-llmfw-policy", "pseudo")
	b.send(reqHeaders(chatPath, false))
	common(t, b.send(reqBody(chat("nothing sensitive"), true)))
	answer := []byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"It was <SECRET_1>."}}]}`)
	b.send(respHeaders("200", false))
	if body := common(t, b.send(respBody(answer, true))).GetBodyMutation().GetBody(); body != nil {
		t.Fatalf("answer rewritten from another transaction's vault: %s", body)
	}
}
