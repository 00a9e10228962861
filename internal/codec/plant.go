package codec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/llm-firewall/llm-firewall/internal/codec/jsonscan"
)

// slotKind says how a system note goes into a request body.
type slotKind uint8

const (
	slotPrependMessage slotKind = iota + 1 // a new {"role":"system"} message at the start of an array
	slotAppendString                       // appended to an existing instruction string literal
	slotAppendBlock                        // a new {"type":"text"} block at the end of an array
	slotReplaceNull                        // a null instruction value replaced by the note
	slotNewMember                          // a new member at the start of the root object
	slotAfterElement                       // a new {"role":"system"} message right after an array element
)

// slot is one place to plant the note. For slotAppendString, seg is the
// segment that holds the literal (-1 when the literal is empty and so no
// segment), and start/end the literal's bytes.
type slot struct {
	kind       slotKind
	pos        int32 // insertion point (prepend, block, member)
	start, end int32 // the replaced literal (append string, replace null)
	seg        int
	comma      bool   // the container already has members
	key        string // member name for slotNewMember
}

// CanPlantSystem reports whether Rewrite can add a system note to this
// body: OpenAI chat and Responses requests and Anthropic Messages requests.
func (d *Document) CanPlantSystem() bool { return len(d.slots) > 0 }

// systemSlots finds, for a request, where the API's system instructions
// live. Every duplicate of the key gets the note, since upstream parsers
// differ on which duplicate wins.
func (x *extractor) systemSlots() {
	var key string
	switch x.d.api {
	case OpenAIChat:
		for m := x.t.Member(0, "messages", -1); m >= 0; m = x.t.Member(0, "messages", m) {
			if x.kind(m) != jsonscan.Array {
				continue
			}
			// After the leading system/developer messages, so the
			// application's own prompt stays a stable prefix (provider
			// prompt caching keys on it); at the start when there are none.
			nd := &x.t.Nodes[m]
			s := slot{kind: slotPrependMessage, pos: nd.Start + 1, comma: nd.Count > 0}
			for el := x.t.First(m); el >= 0; el = x.t.Nodes[el].Next {
				r := strings.ToLower(x.strMember(el, "role"))
				if x.kind(el) != jsonscan.Object || (r != "system" && r != "developer") {
					break
				}
				s = slot{kind: slotAfterElement, pos: x.t.Nodes[el].End}
			}
			x.d.slots = append(x.d.slots, s)
		}
		return
	case OpenAIResponses:
		key = "instructions"
	case AnthropicMessages:
		key = "system"
	default:
		return
	}
	found := false
	for v := x.t.Member(0, key, -1); v >= 0; v = x.t.Member(0, key, v) {
		found = true
		nd := &x.t.Nodes[v]
		switch nd.Kind {
		case jsonscan.String:
			x.d.slots = append(x.d.slots, slot{kind: slotAppendString, start: nd.Start, end: nd.End, seg: x.segmentAt(nd.Start)})
		case jsonscan.Null:
			x.d.slots = append(x.d.slots, slot{kind: slotReplaceNull, start: nd.Start, end: nd.End})
		case jsonscan.Array:
			if x.d.api == AnthropicMessages {
				x.d.slots = append(x.d.slots, slot{kind: slotAppendBlock, pos: nd.End - 1, comma: nd.Count > 0})
			}
		}
	}
	if !found {
		root := &x.t.Nodes[0]
		x.d.slots = append(x.d.slots, slot{kind: slotNewMember, pos: root.Start + 1, comma: root.Count > 0, key: key})
	}
}

// segmentAt is the segment whose literal starts at byte start, or -1.
func (x *extractor) segmentAt(start int32) int {
	for i, l := range x.d.locs {
		if l.start == start && !l.decoded {
			return i
		}
	}
	return -1
}

// plantEdits returns the insertions for note and, for each segment whose
// literal the note is appended to, the suffix to add to its text.
func (d *Document) plantEdits(note string) (edits []edit, suffix map[int]string, err error) {
	if note == "" {
		return nil, nil, nil
	}
	if len(d.slots) == 0 {
		return nil, nil, fmt.Errorf("rewrite: a %s body has no system prompt to add a note to", d.api)
	}
	lit, err := encodeJSONString([]byte(note))
	if err != nil {
		return nil, nil, err
	}
	for _, s := range d.slots {
		switch s.kind {
		case slotPrependMessage:
			b := append([]byte(`{"role":"system","content":`), lit...)
			b = append(b, '}')
			if s.comma {
				b = append(b, ',')
			}
			edits = append(edits, edit{start: int(s.pos), end: int(s.pos), with: b})
		case slotAfterElement:
			b := append([]byte(`,{"role":"system","content":`), lit...)
			b = append(b, '}')
			edits = append(edits, edit{start: int(s.pos), end: int(s.pos), with: b})
		case slotAppendBlock:
			var b []byte
			if s.comma {
				b = append(b, ',')
			}
			b = append(b, `{"type":"text","text":`...)
			b = append(append(b, lit...), '}')
			edits = append(edits, edit{start: int(s.pos), end: int(s.pos), with: b})
		case slotReplaceNull:
			edits = append(edits, edit{start: int(s.start), end: int(s.end), with: slices.Clone(lit)})
		case slotNewMember:
			b := append([]byte(`"`+s.key+`":`), lit...)
			if s.comma {
				b = append(b, ',')
			}
			edits = append(edits, edit{start: int(s.pos), end: int(s.pos), with: b})
		case slotAppendString:
			if s.seg < 0 {
				// An empty literal: the note becomes its text.
				edits = append(edits, edit{start: int(s.start), end: int(s.end), with: slices.Clone(lit)})
				continue
			}
			if suffix == nil {
				suffix = map[int]string{}
			}
			suffix[s.seg] = "\n\n" + note
		}
	}
	return edits, suffix, nil
}
