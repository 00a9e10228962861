package guard

import (
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
	v     pipeline.Verdict
	// out is the body the scan step rewrote (/v1/scan); nil when it did
	// not change.
	out []byte
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

// wrapMessages makes Lakera's messages array an OpenAI chat request body,
// so it is read by the same codec (and the same scan step) as
// /v1/chat/completions on ext_proc.
func wrapMessages(raw []byte) []byte {
	wrapped := make([]byte, 0, len(raw)+14)
	wrapped = append(wrapped, `{"messages":`...)
	wrapped = append(wrapped, raw...)
	return append(wrapped, '}')
}

// messageUnits maps the decoded messages onto evaluations: roles, content
// parts, tool calls and unknown fields are read as ext_proc reads a chat
// request. api is what the scan step read them as: a body that was not
// chat-shaped (policy malformed: allow) was scanned as text, and then no
// segment maps to a message.
//
// Every message is evaluated in the request direction, as a chat request
// carrying that history would be. When the list ends with assistant
// messages (a gateway screening a model answer: LiteLLM post_call sends the
// conversation plus the answer, APISIX and Portkey the answer alone) those
// are evaluated a second time in the response direction, with the earlier
// system prompt as the exchange, so output checks (system-prompt leakage,
// exfiltration links) see them as answers.
func messageUnits(doc *codec.Document, api codec.API) (req, resp *unit) {
	segs := doc.Segments()
	req = &unit{
		in:  pipeline.Input{Direction: pipeline.Request, Meta: doc.Meta(), Segments: segs},
		api: string(api),
		msg: make([]int, len(segs)), whole: make([]bool, len(segs)),
	}
	if api != codec.OpenAIChat {
		for i := range req.msg {
			req.msg[i] = -1
		}
		return req, nil
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
		return req, nil
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
	return req, resp
}
