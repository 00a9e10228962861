package codec

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	sseframe "github.com/llm-firewall/llm-firewall/internal/codec/sse"

	"github.com/llm-firewall/llm-firewall/internal/codec/jsonscan"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// DecodeSSE decodes a complete text/event-stream response body into the
// texts a client will display, so detectors see words the upstream split
// across events ("BLO" then "CKME") and text hidden in JSON escapes.
//
// The stream is parsed per the SSE spec (events end at a blank line; data
// lines are joined with "\n"; CRLF, LF and CR line ends; comment lines and
// unknown fields ignored; an event left open at the end of the body is
// still scanned). Each data payload but [DONE] is decoded with the strict
// JSON scanner, and texts are assembled per logical stream, whatever the
// route's API (api only names the document):
//
//   - OpenAI chat and legacy completion chunks, per choice index: delta
//     content, refusal and reasoning, and per tool call index the
//     function's arguments and name ("choices[0].delta.content(stream)");
//   - OpenAI Responses events: every response.*.delta per item and
//     content/summary index ("output[0].content[0].text(stream)"), plus the
//     items, parts and whole responses carried by other events
//     (response.completed's output texts are scanned too);
//   - Anthropic Messages events, per content block index: text_delta text,
//     input_json_delta partial_json and thinking_delta thinking, with the
//     block's initial text from content_block_start ("content[0].text(stream)");
//   - every other string in an event, concatenated per event name and
//     JSON path across events, as a RoleUnknown segment (the unknown-field
//     rule), skipping short enums and ids as the JSON sweep does;
//   - a payload that is not JSON is kept as raw text: all such payloads
//     concatenated in order ("data(raw stream)").
//
// When more than one text stream is assembled, their deltas in arrival
// order form one more segment, which is what a client that prints every
// delta shows. Segments are RoleAssistant/FromModel unless said above.
// Meta: Model is the last model named, Stream is true, Messages is the
// number of assembled streams (unknown-field and raw ones not counted).
//
// Rewrite refuses any redaction on an SSE document: a redaction cannot yet
// be written back into events, so the caller blocks instead. Limits apply
// to the whole body (MaxBytes, and MaxNodes summed over all events) and to
// each payload's nesting (MaxDepth); over MaxBytes or MaxNodes the error is
// ErrTooLarge.
func DecodeSSE(api API, body []byte, lim Limits) (*Document, error) {
	switch api {
	case OpenAIChat, OpenAIResponses, OpenAICompletions, OpenAIEmbeddings, AnthropicMessages, GenericJSON, PlainText:
	default:
		return nil, fmt.Errorf("codec: unknown API %q", api)
	}
	if lim.MaxBytes > 0 && len(body) > lim.MaxBytes {
		return nil, fmt.Errorf("%s event stream is %d bytes, over the %d-byte limit: %w", api, len(body), lim.MaxBytes, ErrTooLarge)
	}
	d := &Document{
		api: api, body: body,
		meta:      pipeline.Meta{API: string(api), Stream: true, BodyBytes: len(body)},
		noRewrite: "redactions cannot be written back into an event stream",
	}
	// The SSE spec decodes the stream as UTF-8 with replacement, and so
	// must we: every text we hand on is valid UTF-8.
	src := string(body)
	if !utf8.ValidString(src) {
		src = strings.ToValidUTF8(src, "\uFFFD")
	}
	maxNodes := lim.nodeCap(len(body))
	a := &sseAssembler{d: d, lim: lim, maxNodes: maxNodes, budget: maxNodes, byKey: map[streamKey]int{}}
	if err := a.parse(src); err != nil {
		return nil, err
	}
	a.finish()
	return d, nil
}

// streamKey names one logical stream of text assembled across events.
type streamKey struct {
	kind string // which field ("chat.text", a Responses event type, "?" + path...)
	part string // for chat deltas: content, refusal, arguments...
	i, j int    // choice / output / block index, tool call / content index
	id   string // Responses item_id: only a key, never written to a Field
}

type sseStream struct {
	field      string
	role       pipeline.Role
	prov       pipeline.Provenance
	text       []byte
	interleave bool // a text delta stream: part of the in-order segment
	counted    bool // counts in Meta.Messages
	kind       pipeline.SegmentKind
	group      int32 // Segment.Group: the text streams of one answer
}

// group is the Segment.Group of a text stream: every text block of an
// Anthropic answer is one text; an OpenAI choice's (or a Responses output
// item's) content and refusal are one text; other streams stand alone.
func (k streamKey) group(interleave bool) int32 {
	switch {
	case !interleave:
		return 0
	case k.kind == "anthropic.text":
		return 1
	}
	return int32(k.i) + 1
}

// segmentKind tells tool-call names and arguments from text streams.
func (k streamKey) segmentKind() pipeline.SegmentKind {
	switch {
	case k.part == "arguments" || k.part == "fc.arguments" || k.kind == "anthropic.input" ||
		k.kind == "response.function_call_arguments.delta":
		return pipeline.KindToolArgs
	case k.part == "name" || k.part == "fc.name":
		return pipeline.KindToolName
	}
	return pipeline.KindText
}

type sseAssembler struct {
	d   *Document
	lim Limits
	// maxNodes caps the JSON values of all events together (<= 0: no
	// cap); budget is what is left of it.
	maxNodes, budget int
	byKey            map[streamKey]int
	streams          []*sseStream
	ordered          []byte          // every interleaved delta in arrival order
	taken            []bool          // reused across events
	nodes            []jsonscan.Node // reused across events
	// cur and curTree are set by the incremental decoder while one event
	// is dispatched: add records each delta's place in it.
	cur     *SSEEvent
	curTree *jsonscan.Tree
}

// parse splits src into events and dispatches each one that has data.
func (a *sseAssembler) parse(src string) error {
	return sseframe.Split(src, func(text string) error {
		if ev := sseframe.ParseEvent(text); ev.HasData {
			return a.event(ev.Name, ev.Data)
		}
		return nil
	})
}

// event decodes one data payload.
func (a *sseAssembler) event(name, data string) error {
	if strings.TrimSpace(data) == "[DONE]" {
		return nil
	}
	limit := 0 // no cap
	if a.maxNodes > 0 {
		if a.budget <= 0 {
			return fmt.Errorf("event stream: %w", jsonscan.TooManyNodes(a.maxNodes))
		}
		limit = a.budget
	}
	t, err := jsonscan.ParseInto(a.nodes[:0], data, a.lim.MaxDepth, limit)
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("event stream: %w", err)
	}
	if err != nil {
		// Not JSON (or too deep): the client may still show it.
		a.add(streamKey{kind: "raw"}, func() string { return "data(raw stream)" }, pipeline.RoleUnknown, pipeline.FromModel, data, false, false, -1)
		return nil
	}
	a.budget -= len(t.Nodes)
	a.curTree = t
	defer func() { a.nodes, a.curTree = t.Nodes[:0], nil }() // segments hold strings, never nodes
	a.taken = slices.Grow(a.taken[:0], len(t.Nodes))[:len(t.Nodes)]
	clear(a.taken)
	x := &extractor{d: a.d, t: t, dir: pipeline.Response, taken: a.taken}
	if x.kind(0) == jsonscan.Object {
		a.model(x)
		var buf [3]string
		types := x.partTypes(0, buf[:0])
		if name != "" && !slices.Contains(types, name) {
			types = append(types, name)
		}
		if x.t.Member(0, "choices", -1) >= 0 {
			a.chatChunk(x)
		}
		for _, typ := range types {
			switch {
			case strings.HasPrefix(typ, "response."):
				a.responsesEvent(x, typ)
			case typ == "message_start" || typ == "content_block_start" || typ == "content_block_delta":
				a.anthropicEvent(x, typ)
			}
		}
	}
	a.sweep(x, name)
	return nil
}

// add appends text to the stream named by key; field is called only when
// the stream is new, so per-event work builds no strings.
// node is the string node the text was read from (-1 when the text is the
// whole data payload); an incremental decoder records where it lies so the
// event can be rewritten.
func (a *sseAssembler) add(key streamKey, field func() string, role pipeline.Role, prov pipeline.Provenance, text string, interleave, counted bool, node int32) {
	if text == "" {
		return
	}
	k, ok := a.byKey[key]
	if !ok {
		k = len(a.streams)
		a.byKey[key] = k
		a.streams = append(a.streams, &sseStream{field: field(), role: role, prov: prov, interleave: interleave, counted: counted, kind: key.segmentKind(), group: key.group(interleave)})
	}
	s := a.streams[k]
	if a.cur != nil {
		d := SSEDelta{Stream: k, Start: len(s.text), End: len(s.text) + len(text), LitStart: -1, LitEnd: -1}
		if node >= 0 && a.curTree != nil {
			nd := &a.curTree.Nodes[node]
			d.LitStart, d.LitEnd = int(nd.Start), int(nd.End)
		}
		a.cur.Deltas = append(a.cur.Deltas, d)
	}
	s.text = append(s.text, text...)
	if interleave {
		a.ordered = append(a.ordered, text...)
	}
}

// addMembers adds every string value of key in obj (any case variant, each
// once) to a model-output stream.
func (a *sseAssembler) addMembers(x *extractor, obj int32, key string, sk streamKey, field func() string, interleave bool) {
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		if x.kind(v) != jsonscan.String || x.taken[v] {
			continue
		}
		x.taken[v] = true
		// A logprobs stream is token copies, not a message of its own.
		counted := !strings.HasPrefix(sk.kind, "logprobs.")
		a.add(sk, field, pipeline.RoleAssistant, pipeline.FromModel, x.t.Str(v), interleave, counted, v)
	}
}

// emitMembers scans every string value of key in obj as a whole text.
func emitMembers(x *extractor, obj int32, key, field string) {
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		if x.kind(v) == jsonscan.String {
			x.emit(v, pipeline.RoleAssistant, pipeline.FromModel, joinField(field, key))
		}
	}
}

// intMember is the last integer value of key in obj, or def.
func intMember(x *extractor, obj int32, key string, def int) int {
	out := def
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		if x.kind(v) == jsonscan.Number {
			if n, err := strconv.Atoi(x.t.Raw(v)); err == nil {
				out = n
			}
		}
	}
	return out
}

// elements calls fn for every element of every array value of key in obj.
func elements(x *extractor, obj int32, key string, fn func(pos int, el int32)) {
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		if x.kind(v) != jsonscan.Array {
			continue // left to the sweep
		}
		for i, el := 0, x.t.First(v); el >= 0; i, el = i+1, x.t.Nodes[el].Next {
			fn(i, el)
		}
	}
}

// objects calls fn for every object value of key in obj.
func objects(x *extractor, obj int32, key string, fn func(o int32)) {
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		if x.kind(v) == jsonscan.Object {
			fn(v)
		}
	}
}

// model records the model a chunk, response or message names.
func (a *sseAssembler) model(x *extractor) {
	if m := x.strMember(0, "model"); m != "" {
		a.d.meta.Model = m
	}
	for _, k := range [...]string{"response", "message"} {
		for v := x.t.Member(0, k, -1); v >= 0; v = x.t.Member(0, k, v) {
			if m := x.strMember(v, "model"); m != "" {
				a.d.meta.Model = m
			}
		}
	}
}

// chatChunk assembles OpenAI chat.completion.chunk and text_completion
// events.
func (a *sseAssembler) chatChunk(x *extractor) {
	elements(x, 0, "choices", func(pos int, ch int32) {
		if x.kind(ch) != jsonscan.Object {
			return
		}
		ci := intMember(x, ch, "index", pos)
		choice := func() string { return "choices[" + strconv.Itoa(ci) + "]" }
		a.logprobs(x, ch, ci, choice)
		a.addMembers(x, ch, "text", streamKey{kind: "chat.text", i: ci}, func() string { return choice() + ".text(stream)" }, true)
		for _, k := range [...]string{"delta", "message"} {
			objects(x, ch, k, func(m int32) { a.chatDelta(x, m, ci, k) })
		}
	})
}

func (a *sseAssembler) chatDelta(x *extractor, m int32, ci int, kind string) {
	prefix := func() string { return "choices[" + strconv.Itoa(ci) + "]." + kind }
	if x.t.Member(m, "role", -1) >= 0 {
		x.responseRoles(m, prefix())
	}
	key := func(k string, j int) streamKey { return streamKey{kind: kind, part: k, i: ci, j: j} }
	content := func() string { return prefix() + ".content(stream)" }
	for c := x.t.Member(m, "content", -1); c >= 0; c = x.t.Member(m, "content", c) {
		switch x.kind(c) {
		case jsonscan.String:
			if !x.taken[c] {
				x.taken[c] = true
				a.add(key("content", 0), content, pipeline.RoleAssistant, pipeline.FromModel, x.t.Str(c), true, true, c)
			}
		case jsonscan.Array:
			// Some compatible servers stream typed parts.
			for p := x.t.First(c); p >= 0; p = x.t.Nodes[p].Next {
				a.addMembers(x, p, "text", key("content", 0), content, true)
			}
		}
	}
	a.addMembers(x, m, "refusal", key("refusal", 0), func() string { return prefix() + ".refusal(stream)" }, true)
	for _, k := range [...]string{"reasoning_content", "reasoning"} {
		a.addMembers(x, m, k, key("reasoning", 0), func() string { return prefix() + ".reasoning(stream)" }, false)
	}
	elements(x, m, "tool_calls", func(pos int, tc int32) {
		j := intMember(x, tc, "index", pos)
		call := func() string { return prefix() + ".tool_calls[" + strconv.Itoa(j) + "].function" }
		objects(x, tc, "function", func(o int32) {
			a.addMembers(x, o, "arguments", key("arguments", j), func() string { return call() + ".arguments(stream)" }, false)
			a.addMembers(x, o, "name", key("name", j), func() string { return call() + ".name(stream)" }, false)
		})
	})
	// The deprecated single function_call streams the same way.
	objects(x, m, "function_call", func(o int32) {
		a.addMembers(x, o, "arguments", key("fc.arguments", 0), func() string { return prefix() + ".function_call.arguments(stream)" }, false)
		a.addMembers(x, o, "name", key("fc.name", 0), func() string { return prefix() + ".function_call.name(stream)" }, false)
	})
}

// logprobs assembles the log probabilities streamed with a chat choice's
// chunks (logprobs.content / .refusal) or a Responses text delta
// (logprobs): the chosen tokens, and the alternative tokens of every
// position, each as a model-output stream of its own (as the buffered
// decoder reads them), so a client that shows them shows nothing
// unscanned. Each token is a literal of its event, so a redaction there is
// written back like one in the text.
func (a *sseAssembler) logprobs(x *extractor, obj int32, i int, prefix func() string) {
	lists := func(lp int32, fn func(list string, arr int32)) {
		switch x.kind(lp) {
		case jsonscan.Array: // Responses: the list itself
			fn("content", lp)
		case jsonscan.Object:
			for _, list := range [...]string{"content", "refusal"} {
				for arr := x.t.Member(lp, list, -1); arr >= 0; arr = x.t.Member(lp, list, arr) {
					if x.kind(arr) == jsonscan.Array {
						fn(list, arr)
					}
				}
			}
			x.ignore(lp, "bytes")
		}
	}
	for lp := x.t.Member(obj, "logprobs", -1); lp >= 0; lp = x.t.Member(obj, "logprobs", lp) {
		lists(lp, func(list string, arr int32) {
			field := func(what string) func() string {
				return func() string { return prefix() + ".logprobs." + list + "(" + what + ", stream)" }
			}
			for el := x.t.First(arr); el >= 0; el = x.t.Nodes[el].Next {
				if x.kind(el) != jsonscan.Object {
					continue
				}
				a.addMembers(x, el, "token", streamKey{kind: "logprobs.tokens", part: list, i: i}, field("tokens"), false)
				for top := x.t.Member(el, "top_logprobs", -1); top >= 0; top = x.t.Member(el, "top_logprobs", top) {
					if x.kind(top) != jsonscan.Array {
						continue
					}
					for alt := x.t.First(top); alt >= 0; alt = x.t.Nodes[alt].Next {
						if x.kind(alt) == jsonscan.Object {
							a.addMembers(x, alt, "token", streamKey{kind: "logprobs.alternatives", part: list, i: i}, field("alternatives"), false)
							x.ignore(alt, "bytes")
						}
					}
				}
				x.ignore(el, "bytes")
			}
		})
	}
}

// responsesDeltaFields maps a Responses delta event (type without
// "response." and ".delta") to the Field of its stream.
var responsesDeltaFields = map[string]func(o, c int) string{
	"output_text":             func(o, c int) string { return fmt.Sprintf("output[%d].content[%d].text(stream)", o, c) },
	"refusal":                 func(o, c int) string { return fmt.Sprintf("output[%d].content[%d].refusal(stream)", o, c) },
	"function_call_arguments": func(o, _ int) string { return fmt.Sprintf("output[%d].arguments(stream)", o) },
	"reasoning_summary_text":  func(o, c int) string { return fmt.Sprintf("output[%d].summary[%d].text(stream)", o, c) },
	"reasoning_text":          func(o, c int) string { return fmt.Sprintf("output[%d].content[%d].reasoning(stream)", o, c) },
}

// responsesEvent assembles one OpenAI Responses API streaming event.
func (a *sseAssembler) responsesEvent(x *extractor, typ string) {
	o := intMember(x, 0, "output_index", 0)
	a.logprobs(x, 0, o, func() string { return "output[" + strconv.Itoa(o) + "]" })
	if sub, ok := strings.CutSuffix(strings.TrimPrefix(typ, "response."), ".delta"); ok {
		if sub == "audio" {
			x.ignore(0, "delta") // base64 audio
			return
		}
		c := intMember(x, 0, "content_index", intMember(x, 0, "summary_index", 0))
		field := func() string {
			if f, ok := responsesDeltaFields[sub]; ok {
				return f(o, c)
			}
			if safeEventName(sub) {
				return fmt.Sprintf("output[%d].%s(stream)", o, sub)
			}
			return fmt.Sprintf("output[%d].delta(stream)", o)
		}
		key := streamKey{kind: typ, i: o, j: c, id: x.strMember(0, "item_id")}
		a.addMembers(x, 0, "delta", key, field, sub == "output_text" || sub == "refusal")
		return
	}
	// Whole texts: the .done events, items, parts and the response.
	if strings.HasSuffix(typ, ".done") {
		for _, k := range [...]string{"text", "arguments", "refusal", "input"} {
			emitMembers(x, 0, k, fmt.Sprintf("output[%d](done)", o))
		}
	}
	_ = x.objectMembers(0, "item", "item", func(item int32, _ string) error {
		_ = x.responsesItem(item, fmt.Sprintf("output[%d](item)", o))
		return nil
	})
	_ = x.objectMembers(0, "part", "part", func(part int32, _ string) error {
		c := intMember(x, 0, "content_index", 0)
		_ = x.contentPart(part, fmt.Sprintf("output[%d].content[%d](part)", o, c), pipeline.RoleAssistant, pipeline.FromModel)
		return nil
	})
	_ = x.objectMembers(0, "response", "response", func(r int32, _ string) error {
		_ = x.textMembers(r, "instructions", pipeline.RoleSystem, pipeline.FromSystem, "response")
		_, _ = x.arrayMembers(r, "output", "response.output", func(_ int, item int32, f string) error {
			_ = x.responsesItem(item, f)
			return nil
		})
		return nil
	})
}

// anthropicEvent assembles one Anthropic Messages streaming event.
func (a *sseAssembler) anthropicEvent(x *extractor, typ string) {
	model := pipeline.FromModel
	if typ == "message_start" {
		_ = x.objectMembers(0, "message", "message", func(m int32, f string) error {
			x.responseRoles(m, f)
			for c := x.t.Member(m, "content", -1); c >= 0; c = x.t.Member(m, "content", c) {
				_ = x.anthropicContent(c, "message.content", pipeline.RoleAssistant, model)
			}
			return nil
		})
		return
	}
	bi := intMember(x, 0, "index", 0)
	block := func() string { return "content[" + strconv.Itoa(bi) + "]" }
	streams := func(obj int32) {
		a.addMembers(x, obj, "text", streamKey{kind: "anthropic.text", i: bi}, func() string { return block() + ".text(stream)" }, true)
		a.addMembers(x, obj, "thinking", streamKey{kind: "anthropic.thinking", i: bi}, func() string { return block() + ".thinking(stream)" }, false)
		a.addMembers(x, obj, "partial_json", streamKey{kind: "anthropic.input", i: bi}, func() string { return block() + ".input(stream)" }, false)
	}
	if typ == "content_block_start" {
		objects(x, 0, "content_block", func(cb int32) {
			streams(cb)
			_ = x.anthropicBlock(cb, block(), pipeline.RoleAssistant, model) // name, input, ...
		})
		return
	}
	objects(x, 0, "delta", streams)
}

// sseOpaque are stream-only keys whose values are not text.
var sseOpaque = map[string]bool{"partial_image_b64": true}

// sweep adds every string of the event the handlers did not take to a
// stream per event name and path, so an unknown field's text split across
// events is still assembled. Array elements that carry an "index" are
// placed by it, as clients do.
func (a *sseAssembler) sweep(x *extractor, name string) {
	prefix := ""
	if name != "" && safeEventName(name) {
		prefix = name + ":"
	}
	var walk func(n int32, path []byte, effKey string)
	walk = func(n int32, path []byte, effKey string) {
		nd := &x.t.Nodes[n]
		switch nd.Kind {
		case jsonscan.String:
			if x.taken[n] {
				return
			}
			s := x.t.Str(n)
			if opaque[effKey] || sseOpaque[effKey] || (skipStructural(effKey, s) && len(s) <= maxStructural) {
				return
			}
			p := string(path)
			if p == "" {
				p = "$"
			}
			p = prefix + p
			a.add(streamKey{kind: "?" + p}, func() string { return p }, pipeline.RoleUnknown, pipeline.FromModel, s, false, false, n)
		case jsonscan.Object:
			i := 0
			for c := x.t.First(n); c >= 0; c = x.t.Nodes[c].Next {
				k := x.t.Key(c)
				walk(c, appendKey(path, k, i), k)
				i++
			}
		case jsonscan.Array:
			i := 0
			for c := x.t.First(n); c >= 0; c = x.t.Nodes[c].Next {
				walk(c, appendIndex(path, intMember(x, c, "index", i)), effKey)
				i++
			}
		}
	}
	walk(0, make([]byte, 0, 128), "")
}

// finish turns the assembled streams into segments.
func (a *sseAssembler) finish() {
	d := a.d
	texts := 0
	for _, s := range a.streams {
		if s.counted {
			d.meta.Messages++
		}
		if s.interleave {
			texts++
		}
		d.segments = append(d.segments, pipeline.Segment{Text: string(s.text), Role: s.role, Provenance: s.prov, Field: s.field, Kind: s.kind, Group: s.group})
	}
	if texts > 1 {
		d.segments = append(d.segments, pipeline.Segment{Text: string(a.ordered), Role: pipeline.RoleAssistant, Provenance: pipeline.FromModel, Field: "(stream, all text in arrival order)"})
	}
	// No segment has a place in the body to write to; Rewrite refuses.
	for len(d.locs) < len(d.segments) {
		d.locs = append(d.locs, location{decoded: true})
	}
}

// safeEventName reports whether an event name or type may appear in a
// Field (audit records must not carry body text beyond protocol names).
func safeEventName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
