package codec

import "github.com/llm-firewall/llm-firewall/pipeline"

// anthropicRequest walks POST /v1/messages (and count_tokens).
func (x *extractor) anthropicRequest() error {
	x.commonMeta()
	for s := x.t.member(0, "system", -1); s >= 0; s = x.t.member(0, "system", s) {
		if err := x.anthropicContent(s, "system", pipeline.RoleSystem, pipeline.FromSystem); err != nil {
			return err
		}
	}
	n, err := x.arrayMembers(0, "messages", "messages", func(_ int, m int32, field string) error {
		if x.kind(m) != kindObject {
			return shapeErr(field, "an object")
		}
		r, err := x.messageRole(m, field)
		if err != nil {
			return err
		}
		for c := x.t.member(m, "content", -1); c >= 0; c = x.t.member(m, "content", c) {
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
	for c := x.t.member(0, "content", -1); c >= 0; c = x.t.member(0, "content", c) {
		if x.kind(c) == kindArray {
			count = max(count, int(x.t.nodes[c].count))
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
	case kindString:
		x.emit(c, role, prov, field)
	case kindNull:
	case kindArray:
		for i, b := 0, x.t.nodes[c].first; b >= 0; i, b = i+1, x.t.nodes[b].next {
			if err := x.anthropicBlock(b, idx(field, i), role, prov); err != nil {
				return err
			}
		}
	default:
		return shapeErr(field, "a string or an array")
	}
	return nil
}

func (x *extractor) anthropicBlock(b int32, field string, role pipeline.Role, prov pipeline.Provenance) error {
	if x.kind(b) != kindObject {
		return shapeErr(field, "an object")
	}
	typ := x.strMember(b, "type")
	switch typ {
	case "tool_use", "server_tool_use", "mcp_tool_use":
		// The tool's input is model output whatever the schema.
		for in := x.t.member(b, "input", -1); in >= 0; in = x.t.member(b, "input", in) {
			x.leaves(in, pipeline.RoleAssistant, pipeline.FromModel, field+".input")
		}
		return x.textMembers(b, "name", pipeline.RoleAssistant, pipeline.FromModel, field)
	case "tool_result", "mcp_tool_result":
		for c := x.t.member(b, "content", -1); c >= 0; c = x.t.member(b, "content", c) {
			if err := x.anthropicContent(c, field+".content", pipeline.RoleTool, pipeline.FromTool); err != nil {
				return err
			}
		}
		return nil
	case "document", "search_result":
		return x.anthropicDocument(b, field, role)
	case "thinking":
		return x.textMembers(b, "thinking", role, prov, field)
	}
	if binaryPartTypes[typ] {
		x.binary(b, role, prov, field)
		return nil
	}
	// Text blocks, and any unknown block that has a text member.
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
	for c := x.t.member(b, "content", -1); c >= 0; c = x.t.member(b, "content", c) {
		if err := x.anthropicContent(c, field+".content", role, doc); err != nil {
			return err
		}
	}
	return x.objectMembers(b, "source", field+".source", func(src int32, f string) error {
		switch x.strMember(src, "type") {
		case "text":
			return x.textMembers(src, "data", role, doc, f)
		case "content":
			for c := x.t.member(src, "content", -1); c >= 0; c = x.t.member(src, "content", c) {
				if err := x.anthropicContent(c, f+".content", role, doc); err != nil {
					return err
				}
			}
			return nil
		}
		// base64 PDFs, URLs and file ids are not text.
		x.binary(src, role, doc, f)
		return nil
	})
}
