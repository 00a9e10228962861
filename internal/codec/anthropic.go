package codec

import (
	"github.com/llm-firewall/llm-firewall/internal/codec/jsonscan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// anthropicRequest walks POST /v1/messages (and count_tokens).
func (x *extractor) anthropicRequest() error {
	x.commonMeta()
	for s := x.t.Member(0, "system", -1); s >= 0; s = x.t.Member(0, "system", s) {
		if err := x.anthropicContent(s, "system", pipeline.RoleSystem, pipeline.FromSystem); err != nil {
			return err
		}
	}
	n, err := x.arrayMembers(0, "messages", "messages", func(_ int, m int32, field string) error {
		if x.kind(m) != jsonscan.Object {
			return shapeErr(field, "an object")
		}
		r, err := x.messageRole(m, field)
		if err != nil {
			return err
		}
		for c := x.t.Member(m, "content", -1); c >= 0; c = x.t.Member(m, "content", c) {
			if err := x.anthropicContent(c, field+".content", r.role, r.prov); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	x.d.meta.Messages = n
	return x.toolDescriptions()
}

// anthropicResponse walks a Messages API response.
func (x *extractor) anthropicResponse() error {
	x.commonMeta()
	count := 0
	for c := x.t.Member(0, "content", -1); c >= 0; c = x.t.Member(0, "content", c) {
		if x.kind(c) == jsonscan.Array {
			count = max(count, int(x.t.Nodes[c].Count))
		}
		if err := x.anthropicContent(c, "content", pipeline.RoleAssistant, pipeline.FromModel); err != nil {
			return err
		}
	}
	x.d.meta.Messages = count
	return nil
}

// anthropicContent scans content that is a string or an array of blocks.
func (x *extractor) anthropicContent(c int32, field string, role pipeline.Role, prov pipeline.Provenance) error {
	switch x.kind(c) {
	case jsonscan.String:
		x.emit(c, role, prov, field)
	case jsonscan.Null:
	case jsonscan.Array:
		return x.inGroup(func() error {
			for i, b := 0, x.t.First(c); b >= 0; i, b = i+1, x.t.Nodes[b].Next {
				if err := x.anthropicBlock(b, idx(field, i), role, prov); err != nil {
					return err
				}
			}
			return nil
		})
	default:
		return shapeErr(field, "a string or an array")
	}
	return nil
}

// anthropicBlock scans one content block. A block whose duplicate "type"
// keys disagree is scanned as each of its types, and is treated as media
// only when every type is a media type.
func (x *extractor) anthropicBlock(b int32, field string, role pipeline.Role, prov pipeline.Provenance) error {
	if x.kind(b) != jsonscan.Object {
		return shapeErr(field, "an object")
	}
	var buf [2]string
	types := x.partTypes(b, buf[:0])
	if allBinary(types) {
		x.binary(b, role, prov, field)
		return nil
	}
	if len(types) == 0 {
		types = append(types, "")
	}
	for _, typ := range types {
		if err := x.anthropicBlockAs(b, typ, field, role, prov); err != nil {
			return err
		}
	}
	// A text member is scanned with the message's role whatever the type
	// says (tool_use, thinking...), not left to the sweep as unknown.
	for v := x.t.Member(b, "text", -1); v >= 0; v = x.t.Member(b, "text", v) {
		if x.kind(v) == jsonscan.String {
			x.emit(v, role, prov, field+".text")
		}
	}
	return nil
}

func (x *extractor) anthropicBlockAs(b int32, typ, field string, role pipeline.Role, prov pipeline.Provenance) error {
	switch typ {
	case "tool_use", "server_tool_use", "mcp_tool_use":
		// The tool's input is model output whatever the schema.
		_ = x.asKind(pipeline.KindToolArgs, func() error {
			for in := x.t.Member(b, "input", -1); in >= 0; in = x.t.Member(b, "input", in) {
				x.leaves(in, pipeline.RoleAssistant, pipeline.FromModel, field+".input")
				// Its keys are model output too (a free-form object).
				x.objectKeys(in, pathBuf(field+".input"), pipeline.RoleAssistant, pipeline.FromModel, false)
			}
			return nil
		})
		return x.asKind(pipeline.KindToolName, func() error {
			return x.textMembers(b, "name", pipeline.RoleAssistant, pipeline.FromModel, field)
		})
	case "tool_result", "mcp_tool_result":
		// A tool result is a text of its own, not part of the message's.
		return x.inGroup(func() error {
			for c := x.t.Member(b, "content", -1); c >= 0; c = x.t.Member(b, "content", c) {
				if err := x.anthropicContent(c, field+".content", pipeline.RoleTool, pipeline.FromTool); err != nil {
					return err
				}
			}
			return nil
		})
	case "document", "search_result":
		return x.inGroup(func() error { return x.anthropicDocument(b, field, role) })
	case "thinking":
		return x.textMembers(b, "thinking", role, prov, field)
	}
	// Text blocks, and any unknown block (or a media type next to a
	// disagreeing duplicate) that has a text member.
	return x.textMembers(b, "text", role, prov, field)
}

// anthropicDocument scans a document or search_result block: the text of a
// plain-text or content source, its title and context, all as documents.
func (x *extractor) anthropicDocument(b int32, field string, role pipeline.Role) error {
	doc := pipeline.FromDocument
	for _, k := range [...]string{"title", "context"} {
		if err := x.textMembers(b, k, role, doc, field); err != nil {
			return err
		}
	}
	// search_result content is an array of text blocks.
	for c := x.t.Member(b, "content", -1); c >= 0; c = x.t.Member(b, "content", c) {
		if err := x.anthropicContent(c, field+".content", role, doc); err != nil {
			return err
		}
	}
	return x.objectMembers(b, "source", field+".source", func(src int32, f string) error {
		var buf [2]string
		types := x.partTypes(src, buf[:0])
		textual := false
		for _, typ := range types {
			switch typ {
			case "text":
				textual = true
				if err := x.textMembers(src, "data", role, doc, f); err != nil {
					return err
				}
			case "content":
				textual = true
				for c := x.t.Member(src, "content", -1); c >= 0; c = x.t.Member(src, "content", c) {
					if err := x.anthropicContent(c, f+".content", role, doc); err != nil {
						return err
					}
				}
			}
		}
		if !textual && len(types) > 0 {
			// base64 PDFs, URLs and file ids are not text; a source with
			// no type at all is left to the sweep.
			x.binary(src, role, doc, f)
		}
		return nil
	})
}
