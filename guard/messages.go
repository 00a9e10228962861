package guard

import (
	"errors"
	"strconv"
	"strings"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// unit is one evaluation of a guard request: the input, what each of its
// segments is in the caller's terms, and the verdict.
type unit struct {
	in  pipeline.Input
	api string
	// msg[i] is the index in messages of segment i (-1 when unknown);
	// whole[i] says segment i is that message's whole string content, the
	// only text Lakera's character offsets can point into.
	msg   []int
	whole []bool
	doc   *codec.Document // the decoded document, for rewriting (native API)
	v     pipeline.Verdict
}

// messageIndex reads the message index from a codec field locator
// ("messages[3].content" → 3, true; "messages[3].content[0].text" → 3,
// false).
func messageIndex(field string) (idx int, whole bool) {
	rest, ok := strings.CutPrefix(field, "messages[")
	if !ok {
		return -1, false
	}
	end := strings.IndexByte(rest, ']')
	if end <= 0 {
		return -1, false
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil || n < 0 {
		return -1, false
	}
	return n, rest[end+1:] == ".content"
}

// messageUnits maps Lakera's OpenAI-style messages onto evaluations with
// the same codec the ext_proc path uses for /v1/chat/completions, so roles,
// content parts, tool calls and unknown fields are read the same way.
//
// Every message is evaluated in the request direction, as a chat request
// carrying that history would be. When the list ends with assistant
// messages (a gateway screening a model answer: LiteLLM post_call sends the
// conversation plus the answer, APISIX and Portkey the answer alone) those
// are evaluated a second time in the response direction, with the earlier
// system prompt as the exchange, so output checks (system-prompt leakage,
// exfiltration links) see them as answers.
func messageUnits(raw []byte, lim codec.Limits) (req, resp *unit, err error) {
	wrapped := make([]byte, 0, len(raw)+14)
	wrapped = append(wrapped, `{"messages":`...)
	wrapped = append(wrapped, raw...)
	wrapped = append(wrapped, '}')
	doc, err := codec.DecodeRequest(codec.OpenAIChat, wrapped, lim)
	if err != nil {
		return nil, nil, err
	}
	segs := doc.Segments()
	req = &unit{
		in:  pipeline.Input{Direction: pipeline.Request, Meta: doc.Meta(), Segments: segs},
		api: string(codec.OpenAIChat), doc: doc,
		msg: make([]int, len(segs)), whole: make([]bool, len(segs)),
	}
	for i, s := range segs {
		req.msg[i], req.whole[i] = messageIndex(s.Field)
	}

	// The trailing run of messages whose every segment is the assistant's.
	n := doc.Meta().Messages
	seen, other := make([]bool, n), make([]bool, n)
	for i, s := range segs {
		if m := req.msg[i]; m >= 0 && m < n {
			seen[m] = true
			other[m] = other[m] || s.Role != pipeline.RoleAssistant
		}
	}
	first := n
	for m := n - 1; m >= 0 && seen[m] && !other[m]; m-- {
		first = m
	}
	if first == n {
		return req, nil, nil
	}
	resp = &unit{api: string(codec.OpenAIChat)}
	var earlier []pipeline.Segment
	bytes := 0
	for i, s := range segs {
		if req.msg[i] >= first {
			s.Provenance = pipeline.FromModel
			resp.in.Segments = append(resp.in.Segments, s)
			resp.msg = append(resp.msg, req.msg[i])
			resp.whole = append(resp.whole, req.whole[i])
			bytes += len(s.Text)
		} else {
			earlier = append(earlier, s)
		}
	}
	resp.in.Direction = pipeline.Response
	resp.in.Meta = pipeline.Meta{API: string(codec.OpenAIChat), Messages: n - first, BodyBytes: bytes}
	resp.in.Exchange = pipeline.ExchangeFor(earlier)
	return req, resp, nil
}

// lenientUnit scans a body whose messages are not chat-shaped as text
// (policy malformed: allow), like extproc's fallback; no segment maps to a
// message.
func lenientUnit(body []byte, lim codec.Limits) (*unit, error) {
	doc, err := codec.DecodeLenient(body, pipeline.Request, lim)
	if err != nil {
		return nil, err
	}
	segs := doc.Segments()
	u := &unit{
		in:  pipeline.Input{Direction: pipeline.Request, Meta: doc.Meta(), Segments: segs},
		api: string(codec.PlainText), doc: doc,
		msg: make([]int, len(segs)), whole: make([]bool, len(segs)),
	}
	for i := range u.msg {
		u.msg[i] = -1
	}
	return u, nil
}

// errTooLarge reports whether a decode error is the codec's size bound.
func errTooLarge(err error) bool { return errors.Is(err, codec.ErrTooLarge) }
