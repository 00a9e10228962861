package codec

import (
	"strings"

	"github.com/llm-firewall/llm-firewall/internal/codec/jsonscan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// binaryPartTypes are content parts that carry media rather than text.
var binaryPartTypes = map[string]bool{
	"image_url": true, "input_audio": true, "file": true, "input_image": true,
	"input_file": true, "image": true, "audio": true, "redacted_thinking": true,
}

// openAIChatRequest walks POST /v1/chat/completions.
func (x *extractor) openAIChatRequest() error {
	x.commonMeta()
	n, err := x.arrayMembers(0, "messages", "messages", x.chatMessage)
	if err != nil {
		return err
	}
	x.d.meta.Messages = n
	return x.toolDescriptions()
}

func (x *extractor) chatMessage(_ int, m int32, field string) error {
	if x.kind(m) != jsonscan.Object {
		return shapeErr(field, "an object")
	}
	r, err := x.messageRole(m, field)
	if err != nil {
		return err
	}
	return x.chatMessageBody(m, field, r.role, r.prov)
}

// chatMessageBody scans a chat message (request) or choice message/delta
// (response): content, refusal and tool calls.
func (x *extractor) chatMessageBody(m int32, field string, role pipeline.Role, prov pipeline.Provenance) error {
	for c := x.t.Member(m, "content", -1); c >= 0; c = x.t.Member(m, "content", c) {
		if err := x.chatContent(c, field+".content", role, prov); err != nil {
			return err
		}
	}
	if err := x.textMembers(m, "refusal", role, prov, field); err != nil {
		return err
	}
	// Checked before building paths and closures: most messages have
	// neither, and this is the per-message hot path.
	if x.t.Member(m, "tool_calls", -1) < 0 && x.t.Member(m, "function_call", -1) < 0 {
		return nil
	}
	if _, err := x.arrayMembers(m, "tool_calls", field+".tool_calls", func(_ int, tc int32, f string) error {
		if x.kind(tc) != jsonscan.Object {
			return shapeErr(f, "an object")
		}
		return x.objectMembers(tc, "function", f+".function", func(fn int32, ff string) error {
			return x.functionCall(fn, ff, role, prov)
		})
	}); err != nil {
		return err
	}
	// Deprecated single function_call on assistant messages.
	return x.objectMembers(m, "function_call", field+".function_call", func(fn int32, ff string) error {
		return x.functionCall(fn, ff, role, prov)
	})
}

// functionCall scans a call's name and arguments. Arguments are a JSON
// document inside a string; the string is scanned as written, which still
// shows the model-produced text to detectors.
func (x *extractor) functionCall(fn int32, field string, role pipeline.Role, prov pipeline.Provenance) error {
	return x.toolCall(fn, field, role, prov, "arguments")
}

// toolCall emits a call's argument members as KindToolArgs and its name
// as KindToolName, so output checks can tell a tool name from prose.
func (x *extractor) toolCall(obj int32, field string, role pipeline.Role, prov pipeline.Provenance, argKeys ...string) error {
	if err := x.asKind(pipeline.KindToolArgs, func() error {
		for _, k := range argKeys {
			if err := x.textMembers(obj, k, role, prov, field); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return x.asKind(pipeline.KindToolName, func() error {
		return x.textMembers(obj, "name", role, prov, field)
	})
}

// chatContent scans content that is a string, null or an array of parts.
func (x *extractor) chatContent(c int32, field string, role pipeline.Role, prov pipeline.Provenance) error {
	switch x.kind(c) {
	case jsonscan.String:
		x.emit(c, role, prov, field)
	case jsonscan.Null:
	case jsonscan.Array:
		return x.inGroup(func() error {
			for i, part := 0, x.t.First(c); part >= 0; i, part = i+1, x.t.Nodes[part].Next {
				if err := x.contentPart(part, idx(field, i), role, prov); err != nil {
					return err
				}
			}
			return nil
		})
	default:
		return shapeErr(field, "a string, an array or null")
	}
	return nil
}

// contentPart scans one typed part of OpenAI content (chat or Responses).
func (x *extractor) contentPart(part int32, field string, role pipeline.Role, prov pipeline.Provenance) error {
	switch x.kind(part) {
	case jsonscan.Object:
	case jsonscan.String:
		// Some OpenAI-compatible servers accept bare strings as parts.
		x.emit(part, role, prov, field)
		return nil
	default:
		return shapeErr(field, "an object")
	}
	var buf [2]string
	if allBinary(x.partTypes(part, buf[:0])) {
		x.binary(part, role, prov, field)
		return nil
	}
	// "text" (any case variant) is scanned whatever the declared type, so
	// a part cannot hide its text behind an odd or duplicated type; a part
	// whose duplicate types disagree is not treated as media, so its other
	// strings reach the sweep.
	if err := x.textMembers(part, "text", role, prov, field); err != nil {
		return err
	}
	return x.textMembers(part, "refusal", role, prov, field)
}

// openAIChatResponse walks a chat completion or chunk, and a legacy
// completion (choices[].text).
func (x *extractor) openAIChatResponse() error {
	x.commonMeta()
	role, prov := pipeline.RoleAssistant, pipeline.FromModel
	n, err := x.arrayMembers(0, "choices", "choices", func(_ int, ch int32, field string) error {
		if x.kind(ch) != jsonscan.Object {
			return shapeErr(field, "an object")
		}
		x.logprobs(ch, field, prov)
		if err := x.textMembers(ch, "text", role, prov, field); err != nil {
			return err
		}
		for _, k := range [...]string{"message", "delta"} {
			if err := x.objectMembers(ch, k, field+"."+k, func(m int32, f string) error {
				x.responseRoles(m, f)
				return x.chatMessageBody(m, f, role, prov)
			}); err != nil {
				return err
			}
		}
		return nil
	})
	x.d.meta.Messages = n
	return err
}

// ignore marks every string under obj's key as not text.
func (x *extractor) ignore(obj int32, key string) {
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		if k := x.kind(v); k != jsonscan.String && k != jsonscan.Array && k != jsonscan.Object {
			continue // nothing to mark, and no path buffer to build
		}
		x.walkStrings(v, pathBuf(""), "", func(s int32, _ []byte, _ string) { x.taken[s] = true })
	}
}

// openAIResponsesRequest walks POST /v1/responses.
func (x *extractor) openAIResponsesRequest() error {
	x.commonMeta()
	if err := x.textMembers(0, "instructions", pipeline.RoleSystem, pipeline.FromSystem, ""); err != nil {
		return err
	}
	for in := x.t.Member(0, "input", -1); in >= 0; in = x.t.Member(0, "input", in) {
		switch x.kind(in) {
		case jsonscan.String:
			x.emit(in, pipeline.RoleUser, pipeline.FromUser, "input")
			x.d.meta.Messages = max(x.d.meta.Messages, 1)
		case jsonscan.Null:
		case jsonscan.Array:
			x.d.meta.Messages = max(x.d.meta.Messages, int(x.t.Nodes[in].Count))
			for i, item := 0, x.t.First(in); item >= 0; i, item = i+1, x.t.Nodes[item].Next {
				if err := x.responsesItem(item, idx("input", i)); err != nil {
					return err
				}
			}
		default:
			return shapeErr("input", "a string or an array")
		}
	}
	return x.toolDescriptions()
}

// responsesItem scans one Responses API item (input or output). An item
// whose duplicate "type" keys disagree is scanned as each of its types.
func (x *extractor) responsesItem(item int32, field string) error {
	if x.kind(item) != jsonscan.Object {
		return shapeErr(field, "an object")
	}
	var buf [2]string
	types := x.partTypes(item, buf[:0])
	if len(types) == 0 {
		types = append(types, "")
	}
	for _, typ := range types {
		if err := x.responsesItemAs(item, typ, field); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) responsesItemAs(item int32, typ, field string) error {
	model := pipeline.FromModel
	switch typ {
	case "function_call", "custom_tool_call":
		return x.toolCall(item, field, pipeline.RoleAssistant, model, "arguments", "input")
	case "function_call_output", "custom_tool_call_output", "computer_call_output", "mcp_call_output":
		for out := x.t.Member(item, "output", -1); out >= 0; out = x.t.Member(item, "output", out) {
			if err := x.chatContent(out, field+".output", pipeline.RoleTool, pipeline.FromTool); err != nil {
				return err
			}
		}
		return nil
	case "reasoning":
		_, err := x.arrayMembers(item, "summary", field+".summary", func(_ int, s int32, f string) error {
			return x.contentPart(s, f, pipeline.RoleAssistant, model)
		})
		if err != nil {
			return err
		}
		x.ignore(item, "encrypted_content")
		return nil
	case "message", "":
		// An item without a type is an easy message ({role, content}).
		r, err := x.messageRole(item, field)
		if err != nil {
			return err
		}
		if x.dir == pipeline.Response {
			r = roleInfo{pipeline.RoleAssistant, pipeline.FromModel, 3}
		}
		for c := x.t.Member(item, "content", -1); c >= 0; c = x.t.Member(item, "content", c) {
			if err := x.chatContent(c, field+".content", r.role, r.prov); err != nil {
				return err
			}
		}
		return nil
	}
	return nil // other item types (tool calls of hosted tools...) go to the sweep
}

// openAIResponsesResponse walks a Responses API response object.
func (x *extractor) openAIResponsesResponse() error {
	x.commonMeta()
	if err := x.textMembers(0, "instructions", pipeline.RoleSystem, pipeline.FromSystem, ""); err != nil {
		return err
	}
	n, err := x.arrayMembers(0, "output", "output", func(_ int, item int32, field string) error {
		return x.responsesItem(item, field)
	})
	x.d.meta.Messages = n
	return err
}

// openAICompletionsRequest walks the legacy POST /v1/completions.
func (x *extractor) openAICompletionsRequest() error {
	x.commonMeta()
	n, err := x.promptList(0, "prompt", pipeline.RoleUser, pipeline.FromUser)
	if err != nil {
		return err
	}
	x.d.meta.Messages = n
	return x.textMembers(0, "suffix", pipeline.RoleUser, pipeline.FromUser, "")
}

// promptList scans a string or an array of strings; token arrays (numbers
// or arrays of numbers) carry no text we can read.
func (x *extractor) promptList(obj int32, key string, role pipeline.Role, prov pipeline.Provenance) (int, error) {
	count := 0
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		switch x.kind(v) {
		case jsonscan.String:
			x.emit(v, role, prov, key)
			count = max(count, 1)
		case jsonscan.Null:
		case jsonscan.Array:
			count = max(count, int(x.t.Nodes[v].Count))
			tokens := false
			for i, el := 0, x.t.First(v); el >= 0; i, el = i+1, x.t.Nodes[el].Next {
				switch x.kind(el) {
				case jsonscan.String:
					x.emit(el, role, prov, idx(key, i))
				case jsonscan.Number, jsonscan.Array:
					// Token IDs: no text to read. The policy decides.
					if !tokens {
						tokens = true
						x.d.meta.Unscanned = append(x.d.meta.Unscanned, pipeline.Unscanned{Field: idx(key, i), Kind: pipeline.UnscannedTokens})
					}
				default:
					return 0, shapeErr(idx(key, i), "a string or tokens")
				}
			}
		default:
			return 0, shapeErr(key, "a string or an array")
		}
	}
	return count, nil
}

// openAIEmbeddingsRequest walks POST /v1/embeddings: inputs are documents
// on their way into an index, where a poisoned one would later be retrieved.
func (x *extractor) openAIEmbeddingsRequest() error {
	x.commonMeta()
	n, err := x.promptList(0, "input", pipeline.RoleUser, pipeline.FromDocument)
	x.d.meta.Messages = n
	return err
}

// openAIEmbeddingsResponse has no text; base64 embeddings are skipped.
func (x *extractor) openAIEmbeddingsResponse() error {
	x.commonMeta()
	n, err := x.arrayMembers(0, "data", "data", func(_ int, el int32, _ string) error {
		x.ignore(el, "embedding")
		return nil
	})
	x.d.meta.Messages = n
	return err
}

// logprobs scans a choice's log probabilities as text a client may show:
// the chosen tokens joined (when they differ from the answer's text, which
// is scanned already) and, per list (content, refusal), the alternative
// tokens of every position joined. Both are decodings: a redaction there
// blocks. The token strings themselves are not scanned one by one.
func (x *extractor) logprobs(ch int32, field string, prov pipeline.Provenance) {
	for lp := x.t.Member(ch, "logprobs", -1); lp >= 0; lp = x.t.Member(ch, "logprobs", lp) {
		if x.kind(lp) != jsonscan.Object {
			continue
		}
		for _, list := range [...]string{"content", "refusal"} {
			for arr := x.t.Member(lp, list, -1); arr >= 0; arr = x.t.Member(lp, list, arr) {
				if x.kind(arr) != jsonscan.Array {
					continue
				}
				var chosen, alts strings.Builder
				for el := x.t.First(arr); el >= 0; el = x.t.Nodes[el].Next {
					if x.kind(el) != jsonscan.Object {
						continue
					}
					if tok := x.t.Member(el, "token", -1); tok >= 0 && x.kind(tok) == jsonscan.String {
						chosen.WriteString(x.t.Str(tok))
						x.taken[tok] = true
					}
					for top := x.t.Member(el, "top_logprobs", -1); top >= 0; top = x.t.Member(el, "top_logprobs", top) {
						if x.kind(top) != jsonscan.Array {
							continue
						}
						for alt := x.t.First(top); alt >= 0; alt = x.t.Nodes[alt].Next {
							if tok := x.t.Member(alt, "token", -1); tok >= 0 && x.kind(tok) == jsonscan.String {
								alts.WriteString(x.t.Str(tok))
								x.taken[tok] = true
							}
						}
						alts.WriteByte(' ')
					}
				}
				f := field + ".logprobs." + list
				if c := chosen.String(); c != "" && !x.answerSays(ch, c) {
					x.emitDecoded(arr, c, pipeline.RoleAssistant, prov, f+"(tokens)")
				}
				if a := strings.TrimSpace(alts.String()); a != "" {
					x.emitDecoded(arr, a, pipeline.RoleAssistant, prov, f+"(alternatives)")
				}
			}
		}
		x.ignore(lp, "bytes")
	}
}

// answerSays reports whether text is part of the choice's own answer text
// (message content or refusal, or legacy text), which is scanned as
// written.
func (x *extractor) answerSays(ch int32, text string) bool {
	for _, k := range [...]string{"message", "delta"} {
		for m := x.t.Member(ch, k, -1); m >= 0; m = x.t.Member(ch, k, m) {
			for _, sub := range [...]string{"content", "refusal"} {
				if c := x.t.Member(m, sub, -1); c >= 0 && x.kind(c) == jsonscan.String && strings.Contains(x.t.Str(c), text) {
					return true
				}
			}
		}
	}
	t := x.t.Member(ch, "text", -1)
	return t >= 0 && x.kind(t) == jsonscan.String && strings.Contains(x.t.Str(t), text)
}
