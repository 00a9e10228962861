package codec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/internal/codec/jsonscan"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// location is where a segment's text lives in the body.
type location struct {
	// start and end are the byte range of the JSON string literal, quotes
	// included; for PlainText they cover the whole body.
	start, end int32
	// badBytes lists, for a PlainText segment, the body offsets of invalid
	// UTF-8 bytes that Text shows as U+FFFD, so offsets into Text can be
	// mapped back to the body byte for byte.
	badBytes []int32
	// decoded marks text decoded from the range by a tolerant scan
	// (DecodeLenient): it has no byte-for-byte place to write back to.
	decoded bool
}

// DecodeRequest finds the texts of a request body of the given API.
func DecodeRequest(api API, body []byte, lim Limits) (*Document, error) {
	return decode(api, body, lim, pipeline.Request)
}

// DecodeResponse finds the texts of a (non-streamed) response body.
func DecodeResponse(api API, body []byte, lim Limits) (*Document, error) {
	return decode(api, body, lim, pipeline.Response)
}

func decode(api API, body []byte, lim Limits, dir pipeline.Direction) (*Document, error) {
	if lim.MaxBytes > 0 && len(body) > lim.MaxBytes {
		return nil, fmt.Errorf("%s %s body is %d bytes, over the %d-byte limit: %w", api, dir, len(body), lim.MaxBytes, ErrTooLarge)
	}
	d := &Document{api: api, body: body, meta: pipeline.Meta{API: string(api), BodyBytes: len(body)}}
	switch api {
	case PlainText:
		decodePlain(d, dir)
		return d, nil
	case GenericJSON:
		if len(body) == 0 {
			return d, nil // a bodyless JSON request (GET, DELETE) has nothing to scan
		}
		t, err := jsonscan.Parse(body, lim.MaxDepth, lim.nodeCap(len(body)))
		if errors.Is(err, ErrMalformed) {
			// Not an LLM API: the upstream decides what a broken body
			// means, so scan it as text (and its string literals
			// decoded, see DecodeLenient) rather than refuse it.
			return DecodeLenient(body, dir, lim)
		}
		if err != nil {
			return nil, err
		}
		x := newExtractor(d, t, dir)
		x.generic()
		return d, nil
	case OpenAIChat, OpenAIResponses, OpenAICompletions, OpenAIEmbeddings, AnthropicMessages:
	default:
		return nil, fmt.Errorf("codec: unknown API %q", api)
	}
	t, err := jsonscan.Parse(body, lim.MaxDepth, lim.nodeCap(len(body)))
	if err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", api, dir, err)
	}
	x := newExtractor(d, t, dir)
	if t.Nodes[0].Kind != jsonscan.Object {
		return nil, fmt.Errorf("decode %s %s: top level: want an object: %w", api, dir, ErrMalformed)
	}
	switch {
	case api == OpenAIChat && dir == pipeline.Request:
		err = x.openAIChatRequest()
	case api == OpenAIChat:
		err = x.openAIChatResponse()
	case api == OpenAIResponses && dir == pipeline.Request:
		err = x.openAIResponsesRequest()
	case api == OpenAIResponses:
		err = x.openAIResponsesResponse()
	case api == OpenAICompletions && dir == pipeline.Request:
		err = x.openAICompletionsRequest()
	case api == OpenAICompletions:
		err = x.openAIChatResponse() // choices[].text is handled there too
	case api == OpenAIEmbeddings && dir == pipeline.Request:
		err = x.openAIEmbeddingsRequest()
	case api == OpenAIEmbeddings:
		err = x.openAIEmbeddingsResponse()
	case api == AnthropicMessages && dir == pipeline.Request:
		err = x.anthropicRequest()
	default:
		err = x.anthropicResponse()
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", api, dir, err)
	}
	if dir == pipeline.Request {
		x.schemaKeys()
	}
	x.sweep()
	if dir == pipeline.Request {
		x.systemSlots()
	}
	return d, nil
}

// extractor turns a tree into segments. taken marks string nodes the
// per-API walk has already emitted or deliberately ignored; sweep scans the
// rest so unknown fields and new API features are never skipped.
type extractor struct {
	d     *Document
	t     *jsonscan.Tree
	dir   pipeline.Direction
	taken []bool
	// segKind is the kind emit gives segments; tool-call walks set it for
	// their duration (asKind).
	segKind pipeline.SegmentKind
	// group is the Group emit gives text segments while a message's
	// content array is walked (inGroup); 0 outside one. groups counts
	// the groups given out.
	group, groups int32
}

// inGroup runs fn with the text segments it emits in a new group: the
// parts of one text the model reads joined.
func (x *extractor) inGroup(fn func() error) error {
	prev := x.group
	x.groups++
	x.group = x.groups
	defer func() { x.group = prev }()
	return fn()
}

// segment is a new segment of kind x.segKind, in x.group when it is text.
func (x *extractor) segment(text string, role pipeline.Role, prov pipeline.Provenance, field string) pipeline.Segment {
	s := pipeline.Segment{Text: text, Role: role, Provenance: prov, Field: field, Kind: x.segKind}
	if x.segKind == pipeline.KindText {
		s.Group = x.group
	}
	return s
}

// asKind runs fn with segments emitted as kind k.
func (x *extractor) asKind(k pipeline.SegmentKind, fn func() error) error {
	prev := x.segKind
	x.segKind = k
	defer func() { x.segKind = prev }()
	return fn()
}

func newExtractor(d *Document, t *jsonscan.Tree, dir pipeline.Direction) *extractor {
	n := t.Strs
	if d.api == GenericJSON {
		n += t.Keys
	}
	d.segments = make([]pipeline.Segment, 0, min(n, 1024))
	d.locs = make([]location, 0, min(n, 1024))
	return &extractor{d: d, t: t, dir: dir, taken: make([]bool, len(t.Nodes))}
}

func (x *extractor) kind(n int32) jsonscan.Kind { return x.t.Nodes[n].Kind }

// shapeErr reports a wrong JSON type at a field; field is built from
// our own key names and indexes, never from body text.
func shapeErr(field, want string) error {
	return fmt.Errorf("%s: want %s: %w", field, want, ErrMalformed)
}

// emit adds string node n as a segment (empty strings carry nothing to scan).
// A literal is emitted at most once, so Rewrite never sees two segments
// over the same bytes.
func (x *extractor) emit(n int32, role pipeline.Role, prov pipeline.Provenance, field string) {
	if x.taken[n] {
		return
	}
	x.taken[n] = true
	nd := &x.t.Nodes[n]
	str := x.t.Str(n)
	if str == "" {
		return
	}
	x.d.segments = append(x.d.segments, x.segment(str, role, prov, field))
	x.d.locs = append(x.d.locs, location{start: nd.Start, end: nd.End})
}

// text emits n when it is a string; null is an absent text; any other
// type is a malformed body.
func (x *extractor) text(n int32, role pipeline.Role, prov pipeline.Provenance, field string) error {
	switch x.kind(n) {
	case jsonscan.String:
		x.emit(n, role, prov, field)
	case jsonscan.Null:
	default:
		return shapeErr(field, "a string")
	}
	return nil
}

// textMembers emits every value of key in obj (all duplicates).
func (x *extractor) textMembers(obj int32, key string, role pipeline.Role, prov pipeline.Provenance, field string) error {
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		if err := x.text(v, role, prov, joinField(field, key)); err != nil {
			return err
		}
	}
	return nil
}

// strMember returns the last string value of key (control fields, any
// case variant) and marks every occurrence up to maxStructural bytes as
// structural; a longer one is left to the sweep, as under any enum key.
func (x *extractor) strMember(obj int32, key string) string {
	s := ""
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		if x.kind(v) == jsonscan.String {
			s = x.t.Str(v)
			if len(s) <= maxStructural {
				x.taken[v] = true // never un-take: an emitted literal stays emitted once
			}
		}
	}
	return s
}

// partTypes returns the string values of every "type" member of obj, any
// case variant (marked structural like strMember). Parsers disagree on
// which duplicate wins, so callers act on every value, never just one.
// buf lets the common single-type case avoid an allocation.
func (x *extractor) partTypes(obj int32, buf []string) []string {
	out := buf[:0]
	for v := x.t.Member(obj, "type", -1); v >= 0; v = x.t.Member(obj, "type", v) {
		if x.kind(v) == jsonscan.String {
			s := x.t.Str(v)
			if len(s) <= maxStructural {
				x.taken[v] = true
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// allBinary reports whether every declared type is a media type: only
// then may a part's non-text strings be skipped.
func allBinary(types []string) bool {
	for _, t := range types {
		if !binaryPartTypes[t] {
			return false
		}
	}
	return len(types) > 0
}

// walkStrings calls fn for every string value under n with its path;
// effKey is the nearest object key above the value (array elements inherit
// their array's key), used by the sweep's denylist.
func (x *extractor) walkStrings(n int32, path []byte, effKey string, fn func(n int32, path []byte, effKey string)) {
	nd := &x.t.Nodes[n]
	switch nd.Kind {
	case jsonscan.String:
		fn(n, path, effKey)
	case jsonscan.Object:
		i := 0
		for c := x.t.First(n); c >= 0; c = x.t.Nodes[c].Next {
			k := x.t.Key(c)
			x.walkStrings(c, appendKey(path, k, i), k, fn)
			i++
		}
	case jsonscan.Array:
		i := 0
		for c := x.t.First(n); c >= 0; c = x.t.Nodes[c].Next {
			x.walkStrings(c, appendIndex(path, i), effKey, fn)
			i++
		}
	}
}

// leaves emits every string value under n (tool-call inputs, whose schema
// is the tool's own).
func (x *extractor) leaves(n int32, role pipeline.Role, prov pipeline.Provenance, field string) {
	x.walkStrings(n, pathBuf(field), "", func(s int32, path []byte, _ string) {
		if !x.taken[s] {
			x.emit(s, role, prov, string(path))
		}
	})
}

// binary handles a part that carries media (image, audio, file). Its
// payload is not text, with two exceptions that are scanned: a member whose
// key folds to "text", and a payload that is text after all — a data: URL
// with a text media type (text/*, JSON, XML, YAML, CSV) or base64 data
// beside such a media_type (an Anthropic text document given as base64),
// decoded and scanned (a finding there cannot be cut out in place, so a
// redaction blocks). File names, titles and alt texts are scanned as
// written. What stays unread is recorded for the policy
// (allow_unscanned_media); redacted_thinking is the provider's own
// encrypted reasoning echoed back, not content a client supplies.
func (x *extractor) binary(n int32, role pipeline.Role, prov pipeline.Provenance, field string) {
	// File names and decoded payloads are texts of their own, not parts
	// of the message's text.
	prev := x.group
	x.group = 0
	defer func() { x.group = prev }()
	var buf [2]string
	thinking := slices.Contains(x.partTypes(n, buf[:0]), "redacted_thinking")
	textMedia := x.hasTextMediaType(n)
	unread := false
	x.walkStrings(n, pathBuf(field), "", func(s int32, path []byte, effKey string) {
		if x.taken[s] {
			return
		}
		switch lk := strings.ToLower(effKey); {
		case lk == "text", lk == "filename", lk == "name", lk == "title", lk == "alt", lk == "caption":
			x.emit(s, role, prov, string(path))
			return
		case mediaMetaKeys[lk]:
			x.taken[s] = true
			return
		}
		x.taken[s] = true
		str := x.t.Str(s)
		if text, ok := textPayload(str, textMedia); ok {
			x.emitDecoded(s, text, role, prov, string(path)+"(decoded)")
			return
		}
		unread = unread || len(str) > 0
	})
	if unread && !thinking {
		x.d.meta.Unscanned = append(x.d.meta.Unscanned, pipeline.Unscanned{Field: field, Kind: pipeline.UnscannedMedia})
	}
}

// mediaMetaKeys describe a media payload without being one.
var mediaMetaKeys = map[string]bool{
	"type": true, "media_type": true, "mime_type": true, "format": true, "detail": true, "file_id": true, "id": true,
}

// hasTextMediaType reports a media_type / mime_type member of n (or of
// its source) that names text.
func (x *extractor) hasTextMediaType(n int32) bool {
	if x.kind(n) != jsonscan.Object {
		return false
	}
	for _, k := range [...]string{"media_type", "mime_type"} {
		for v := x.t.Member(n, k, -1); v >= 0; v = x.t.Member(n, k, v) {
			if x.kind(v) == jsonscan.String && isTextMediaType(x.t.Str(v)) {
				return true
			}
		}
	}
	return false
}

// isTextMediaType: text/*, and JSON, XML, YAML, CSV and their +suffix types.
func isTextMediaType(mt string) bool {
	mt = mediaType(mt)
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	for _, t := range [...]string{"json", "xml", "yaml", "x-yaml", "csv", "javascript", "x-ndjson"} {
		if mt == "application/"+t || strings.HasSuffix(mt, "+"+t) {
			return true
		}
	}
	return false
}

// textPayload decodes a payload that is text: a data: URL with a text
// media type (base64 or percent-encoded), or, when the part declares a
// text media type, base64 data. ok is false for anything else, and for
// bytes that are not UTF-8 text.
func textPayload(s string, textMedia bool) (string, bool) {
	var raw []byte
	if rest, isData := strings.CutPrefix(s, "data:"); isData {
		meta, data, found := strings.Cut(rest, ",")
		if !found {
			return "", false
		}
		mt, params, _ := strings.Cut(meta, ";")
		if mt == "" {
			mt = "text/plain" // RFC 2397's default
		}
		if !isTextMediaType(mt) {
			return "", false
		}
		if strings.Contains(";"+params, ";base64") {
			b, err := decodeBase64(data)
			if err != nil {
				return "", false
			}
			raw = b
		} else {
			u, err := url.PathUnescape(data)
			if err != nil {
				return "", false
			}
			raw = []byte(u)
		}
	} else if textMedia {
		b, err := decodeBase64(s)
		if err != nil {
			return "", false
		}
		raw = b
	} else {
		return "", false
	}
	if len(raw) == 0 || !utf8.Valid(raw) {
		return "", false
	}
	return string(raw), true
}

// decodeBase64 reads standard or URL-safe base64, padded or not, with
// line breaks (as MIME writes it).
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// emitDecoded adds text decoded out of string node n (it has no
// byte-for-byte place in the body: a redaction there blocks).
func (x *extractor) emitDecoded(n int32, text string, role pipeline.Role, prov pipeline.Provenance, field string) {
	nd := &x.t.Nodes[n]
	x.d.segments = append(x.d.segments, x.segment(text, role, prov, field))
	x.d.locs = append(x.d.locs, location{start: nd.Start, end: nd.End, decoded: true})
}

// structural lists keys whose string values are enums, identifiers or
// options, not text for the model; the sweep skips them.
var structural = map[string]bool{
	"model": true, "role": true, "type": true, "id": true, "object": true,
	"tool_choice": true, "stop": true, "user": true, "service_tier": true,
	"reasoning_effort": true, "effort": true, "tool_call_id": true, "call_id": true,
	"tool_use_id": true, "encoding_format": true, "finish_reason": true,
	"stop_reason": true, "status": true, "system_fingerprint": true,
	"media_type": true, "detail": true, "format": true,
	"previous_response_id": true, "prompt_cache_key": true, "safety_identifier": true,
	"truncation": true, "verbosity": true, "modalities": true, "include": true,
	"voice": true, "created_at": true, "parallel_tool_calls": true,
	// Streaming events: item ids and the random padding of Responses
	// deltas, which would read as one long high-entropy string.
	"item_id": true, "obfuscation": true,
}

// opaque lists keys whose values are signatures or encrypted blobs the
// model never reads as text; they are skipped at any length.
var opaque = map[string]bool{
	"signature": true, "encrypted_content": true, "encrypted_index": true,
}

// skipStructural reports whether the sweep may skip str under key: a
// structural key's enum value, except a role that is no known role name
// (role text is scanned wherever it is).
func skipStructural(key, str string) bool {
	if !structural[key] {
		return false
	}
	if key == "role" {
		_, known := roleOf(str)
		return known
	}
	return true
}

// maxStructural is the longest value the sweep treats as an enum or id
// under a structural key: longer text there is scanned anyway, so a new
// part type cannot smuggle a prompt in a field named "format" or "type".
const maxStructural = 128

// sweep scans every string the per-API walk did not take, so text in an
// unknown field is still seen. Object keys are not scanned for LLM APIs:
// their upstream parsers drop unknown keys.
func (x *extractor) sweep() {
	prov := pipeline.FromUser
	if x.dir == pipeline.Response {
		prov = pipeline.FromModel
	}
	x.walkStrings(0, make([]byte, 0, 256), "", func(s int32, path []byte, effKey string) {
		str := x.t.Str(s)
		if x.taken[s] || len(str) < 2 || opaque[effKey] || (skipStructural(effKey, str) && len(str) <= maxStructural) {
			return
		}
		x.emit(s, pipeline.RoleUnknown, prov, string(path))
	})
}

// generic scans every string value and object key of a non-LLM JSON body.
func (x *extractor) generic() {
	prov := pipeline.FromUser
	if x.dir == pipeline.Response {
		prov = pipeline.FromModel
	}
	x.genericNode(0, make([]byte, 0, 256), prov)
}

func (x *extractor) genericNode(n int32, path []byte, prov pipeline.Provenance) {
	nd := &x.t.Nodes[n]
	switch nd.Kind {
	case jsonscan.String:
		if len(x.t.Str(n)) >= 2 {
			field := string(path)
			if field == "" {
				field = "$" // the body is a bare string
			}
			x.emit(n, pipeline.RoleUnknown, prov, field)
		}
	case jsonscan.Object:
		i := 0
		for c := x.t.First(n); c >= 0; c = x.t.Nodes[c].Next {
			cn := &x.t.Nodes[c]
			key := x.t.Key(c)
			p := appendKey(path, key, i)
			if len(key) >= 2 {
				x.d.segments = append(x.d.segments, pipeline.Segment{Text: key, Role: pipeline.RoleUnknown, Provenance: prov, Field: string(p) + "{key}"})
				x.d.locs = append(x.d.locs, location{start: cn.KeyStart, end: cn.KeyEnd})
			}
			x.genericNode(c, p, prov)
			i++
		}
	case jsonscan.Array:
		i := 0
		for c := x.t.First(n); c >= 0; c = x.t.Nodes[c].Next {
			x.genericNode(c, appendIndex(path, i), prov)
			i++
		}
	}
}

// appendKey extends a Field path. Keys that are not plain identifiers are
// written by position ([#3]) so a Field, which lands in audit records,
// never carries body text.
//
// Both append in place: siblings reuse the parent's buffer beyond its
// length, and emitted fields are copied out with string(path).
func appendKey(out []byte, key string, pos int) []byte {
	if safeKey(key) {
		if len(out) > 0 {
			out = append(out, '.')
		}
		return append(out, key...)
	}
	out = append(out, "[#"...)
	out = strconv.AppendInt(out, int64(pos), 10)
	return append(out, ']')
}

func appendIndex(out []byte, i int) []byte {
	out = append(out, '[')
	out = strconv.AppendInt(out, int64(i), 10)
	return append(out, ']')
}

func safeKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func joinField(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func idx(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// commonMeta reads the control fields every LLM API shares. The model is
// the last occurrence (what last-wins parsers use). Stream is true when any
// occurrence is true and the token request is the largest occurrence: a
// duplicate key must not let a body dodge a limit or the stream handling.
func (x *extractor) commonMeta() {
	m := &x.d.meta
	if x.dir == pipeline.Request {
		x.eachTool(x.declaredTool)
		x.serverSide()
	}
	m.Model = x.strMember(0, "model")
	for v := x.t.Member(0, "stream", -1); v >= 0; v = x.t.Member(0, "stream", v) {
		if x.kind(v) == jsonscan.Bool && x.t.Raw(v) == "true" {
			m.Stream = true
		}
	}
	for _, k := range [...]string{"max_tokens", "max_completion_tokens", "max_output_tokens"} {
		for v := x.t.Member(0, k, -1); v >= 0; v = x.t.Member(0, k, v) {
			if x.kind(v) == jsonscan.Number {
				m.RequestedTokens = max(m.RequestedTokens, tokenCount(x.t.Raw(v)))
			}
		}
	}
}

// hostedToolTypes are tool types the provider runs itself: their results
// enter the model's context on the provider's side, unscanned. Anthropic's
// server tools carry a version suffix ("web_search_20250305").
var hostedToolTypes = []string{"web_search", "file_search", "code_interpreter", "image_generation", "web_fetch", "code_execution"}

// serverSide records what a request asks the provider to add to the
// model's context that no firewall in front of it sees, beyond its tools
// (declaredTool): Anthropic mcp_servers and stored state
// (previous_response_id, a stored prompt, a conversation).
func (x *extractor) serverSide() {
	m := &x.d.meta
	add := func(field string, kind pipeline.ServerSideKind) {
		m.ServerSide = append(m.ServerSide, pipeline.ServerSide{Field: field, Kind: kind})
	}
	for v := x.t.Member(0, "mcp_servers", -1); v >= 0; v = x.t.Member(0, "mcp_servers", v) {
		if x.kind(v) == jsonscan.Array && x.t.Nodes[v].Count > 0 {
			add("mcp_servers", pipeline.ServerRemoteMCP)
		}
	}
	for v := x.t.Member(0, "previous_response_id", -1); v >= 0; v = x.t.Member(0, "previous_response_id", v) {
		if x.kind(v) == jsonscan.String && x.t.Str(v) != "" {
			add("previous_response_id", pipeline.ServerStoredState)
		}
	}
	// A stored prompt (Responses prompt: {id, variables}) and a stored
	// conversation (an id, or an object with one).
	for _, k := range [...]string{"prompt", "conversation"} {
		for v := x.t.Member(0, k, -1); v >= 0; v = x.t.Member(0, k, v) {
			switch {
			case x.kind(v) == jsonscan.Object && x.t.Member(v, "id", -1) >= 0,
				k == "conversation" && x.kind(v) == jsonscan.String && x.t.Str(v) != "":
				add(k, pipeline.ServerStoredState)
			}
		}
	}
}

// eachTool calls fn for every object in the request's tools arrays.
func (x *extractor) eachTool(fn func(i int, tool int32)) {
	for tools := x.t.Member(0, "tools", -1); tools >= 0; tools = x.t.Member(0, "tools", tools) {
		if x.kind(tools) != jsonscan.Array {
			continue
		}
		for i, tool := 0, x.t.First(tools); tool >= 0; i, tool = i+1, x.t.Nodes[tool].Next {
			if x.kind(tool) == jsonscan.Object {
				fn(i, tool)
			}
		}
	}
}

// declaredTool records one declared tool: its name and definition as sent
// (for tool-definition pins), and, for a tool the provider runs itself or
// a remote MCP server, the server-side content it brings.
func (x *extractor) declaredTool(i int, tool int32) {
	var buf [2]string
	for _, typ := range x.partTypes(tool, buf[:0]) {
		switch {
		case typ == "mcp":
			x.d.meta.ServerSide = append(x.d.meta.ServerSide, pipeline.ServerSide{Field: idx("tools", i), Kind: pipeline.ServerRemoteMCP})
		case slices.ContainsFunc(hostedToolTypes, func(h string) bool { return typ == h || strings.HasPrefix(typ, h+"_") }):
			x.d.meta.ServerSide = append(x.d.meta.ServerSide, pipeline.ServerSide{Field: idx("tools", i), Kind: pipeline.ServerHostedTool})
		}
	}
	name := ""
	if v := x.t.Member(tool, "name", -1); v >= 0 && x.kind(v) == jsonscan.String {
		name = x.t.Str(v)
	}
	for fn := x.t.Member(tool, "function", -1); fn >= 0 && name == ""; fn = x.t.Member(tool, "function", fn) {
		if v := x.t.Member(fn, "name", -1); v >= 0 && x.kind(v) == jsonscan.String {
			name = x.t.Str(v)
		}
	}
	x.d.meta.Tools = append(x.d.meta.Tools, pipeline.ToolDef{Name: name, Definition: x.t.Raw(tool)})
}

// tokenCount reads a JSON number as a non-negative token count, clamping
// fractions and huge values instead of failing.
func tokenCount(raw string) int {
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return int(max(0, min(n, math.MaxInt32)))
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || f <= 0 || math.IsNaN(f) {
		return 0
	}
	return int(min(f, math.MaxInt32))
}

// roleInfo is a role with the provenance it implies and its trust rank.
type roleInfo struct {
	role pipeline.Role
	prov pipeline.Provenance
	rank int // higher is more trusted
}

// roleOf maps a role name; ok is false for a name no API defines, which
// is then text (scanned) and counts as a user message.
func roleOf(s string) (r roleInfo, ok bool) {
	switch s {
	case "system", "developer":
		return roleInfo{pipeline.RoleSystem, pipeline.FromSystem, 4}, true
	case "assistant", "model":
		return roleInfo{pipeline.RoleAssistant, pipeline.FromModel, 3}, true
	case "user":
		return userRole, true
	case "tool", "function":
		return roleInfo{pipeline.RoleTool, pipeline.FromTool, 0}, true
	}
	return userRole, false
}

var userRole = roleInfo{pipeline.RoleUser, pipeline.FromUser, 1}

// messageRole reads a message's role. With duplicate "role" keys (any case
// variant) the least trusted value wins, whatever the order: first-wins and
// last-wins parsers disagree, and a repeated role must never turn user or
// tool text into system text in our scan while the model sees it as user
// text. (For other control fields the last occurrence is used.) A role
// that is not a known name is scanned as text and makes the message a user
// one; a message without a role keeps RoleUnknown.
func (x *extractor) messageRole(msg int32, field string) (roleInfo, error) {
	best := roleInfo{pipeline.RoleUnknown, pipeline.FromUser, 2}
	found := false
	prov := pipeline.FromUser
	if x.dir == pipeline.Response {
		prov = pipeline.FromModel
	}
	for v := x.t.Member(msg, "role", -1); v >= 0; v = x.t.Member(msg, "role", v) {
		if x.kind(v) != jsonscan.String {
			return best, shapeErr(field+".role", "a string")
		}
		r, ok := roleOf(x.t.Str(v))
		if ok {
			x.taken[v] = true
		} else {
			x.emit(v, pipeline.RoleUnknown, prov, field+".role")
		}
		if !found || r.rank < best.rank {
			best, found = r, true
		}
	}
	return best, nil
}

// responseRoles marks a response message's known roles as structural and
// scans any other role value as text (the role itself is not used: a
// response is model output).
func (x *extractor) responseRoles(m int32, field string) {
	for v := x.t.Member(m, "role", -1); v >= 0; v = x.t.Member(m, "role", v) {
		if x.kind(v) != jsonscan.String {
			continue
		}
		if _, ok := roleOf(x.t.Str(v)); ok {
			x.taken[v] = true
		} else {
			x.emit(v, pipeline.RoleUnknown, pipeline.FromModel, field+".role")
		}
	}
}

// arrayMembers calls fn for every element of every value of key, after
// checking each is an array (null counts as absent).
func (x *extractor) arrayMembers(obj int32, key, field string, fn func(i int, el int32, field string) error) (int, error) {
	count := 0
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		switch x.kind(v) {
		case jsonscan.Null:
			continue
		case jsonscan.Array:
		default:
			return 0, shapeErr(field, "an array")
		}
		count = max(count, int(x.t.Nodes[v].Count))
		for i, el := 0, x.t.First(v); el >= 0; i, el = i+1, x.t.Nodes[el].Next {
			if err := fn(i, el, idx(field, i)); err != nil {
				return 0, err
			}
		}
	}
	return count, nil
}

// objectMembers calls fn for every value of key that is an object.
func (x *extractor) objectMembers(obj int32, key, field string, fn func(o int32, field string) error) error {
	for v := x.t.Member(obj, key, -1); v >= 0; v = x.t.Member(obj, key, v) {
		switch x.kind(v) {
		case jsonscan.Null:
		case jsonscan.Object:
			if err := fn(v, field); err != nil {
				return err
			}
		default:
			return shapeErr(field, "an object")
		}
	}
	return nil
}

// toolDescriptions scans the descriptions of declared tools (OpenAI
// tools[].function, Responses and Anthropic flat tools): they are
// instructions to the model, written by whoever serves the tool
// (provenance tool_definition).
func (x *extractor) toolDescriptions() error {
	_, err := x.arrayMembers(0, "tools", "tools", func(_ int, tool int32, field string) error {
		if x.kind(tool) != jsonscan.Object {
			return nil // left to the sweep
		}
		x.toolDecl(tool, field)
		return x.objectMembers(tool, "function", field+".function", func(fn int32, f string) error {
			x.toolDecl(fn, f)
			return nil
		})
	})
	return err
}

func (x *extractor) toolDecl(tool int32, field string) {
	for v := x.t.Member(tool, "description", -1); v >= 0; v = x.t.Member(tool, "description", v) {
		if x.kind(v) == jsonscan.String {
			x.emit(v, pipeline.RoleTool, pipeline.FromToolDefinition, field+".description")
		}
	}
	// The parameter descriptions of a schema are read together, as one
	// text: a fragment alone ("At most this many rows.") says little.
	_ = x.inGroup(func() error {
		x.paramDescriptions(tool, field)
		return nil
	})
}

func (x *extractor) paramDescriptions(tool int32, field string) {
	for _, k := range [...]string{"parameters", "input_schema"} {
		for v := x.t.Member(tool, k, -1); v >= 0; v = x.t.Member(tool, k, v) {
			x.walkStrings(v, pathBuf(field+"."+k), "", func(s int32, path []byte, effKey string) {
				if jsonscan.KeyIs(effKey, "description") && !x.taken[s] {
					x.emit(s, pipeline.RoleTool, pipeline.FromToolDefinition, string(path))
				}
			})
		}
	}
}

// schemaKeywords are JSON Schema (and response_format wrapper) keys, lower
// case (matched case-insensitively, as upstream decoders read them): the
// grammar of a schema, not text for the model. Every other key under a
// schema is a property name, which the model reads.
var schemaKeywords = map[string]bool{
	"type": true, "properties": true, "required": true, "items": true, "description": true,
	"enum": true, "default": true, "additionalproperties": true, "patternproperties": true,
	"$schema": true, "$ref": true, "$defs": true, "definitions": true, "$id": true, "title": true,
	"format": true, "minimum": true, "maximum": true, "exclusiveminimum": true, "exclusivemaximum": true,
	"minlength": true, "maxlength": true, "minitems": true, "maxitems": true, "uniqueitems": true,
	"pattern": true, "anyof": true, "oneof": true, "allof": true, "not": true, "const": true,
	"examples": true, "nullable": true, "multipleof": true, "prefixitems": true, "propertynames": true,
	"minproperties": true, "maxproperties": true, "if": true, "then": true, "else": true,
	"json_schema": true, "schema": true, "name": true, "strict": true,
}

// schemaKeys scans the keys of the schemas a request declares — tool
// parameters (OpenAI tools[].function.parameters, Responses and Anthropic
// tools[].parameters / input_schema) and structured-output schemas
// (response_format, Responses text.format) — as text: property names are
// read by the model like descriptions are. Tool schemas keep the
// provenance of tool declarations; an output schema is the client's.
func (x *extractor) schemaKeys() {
	x.eachTool(func(i int, tool int32) {
		f := idx("tools", i)
		for _, k := range [...]string{"parameters", "input_schema"} {
			for v := x.t.Member(tool, k, -1); v >= 0; v = x.t.Member(tool, k, v) {
				x.objectKeys(v, pathBuf(f+"."+k), pipeline.RoleTool, pipeline.FromToolDefinition, true)
			}
		}
		for fn := x.t.Member(tool, "function", -1); fn >= 0; fn = x.t.Member(tool, "function", fn) {
			for v := x.t.Member(fn, "parameters", -1); v >= 0; v = x.t.Member(fn, "parameters", v) {
				x.objectKeys(v, pathBuf(f+".function.parameters"), pipeline.RoleTool, pipeline.FromToolDefinition, true)
			}
		}
	})
	for v := x.t.Member(0, "response_format", -1); v >= 0; v = x.t.Member(0, "response_format", v) {
		x.objectKeys(v, pathBuf("response_format"), pipeline.RoleUser, pipeline.FromUser, true)
	}
	for t := x.t.Member(0, "text", -1); t >= 0; t = x.t.Member(0, "text", t) {
		if x.kind(t) == jsonscan.Object {
			for v := x.t.Member(t, "format", -1); v >= 0; v = x.t.Member(t, "format", v) {
				x.objectKeys(v, pathBuf("text.format"), pipeline.RoleUser, pipeline.FromUser, true)
			}
		}
	}
}

// objectKeys emits every object key under n (of two bytes or more) as a
// segment at path + "{key}"; in a schema, its keywords are skipped, but
// not the keys of properties, patternProperties or $defs, which are names.
func (x *extractor) objectKeys(n int32, path []byte, role pipeline.Role, prov pipeline.Provenance, schema bool) {
	x.objectKeysIn(n, path, role, prov, schema, false)
}

func (x *extractor) objectKeysIn(n int32, path []byte, role pipeline.Role, prov pipeline.Provenance, schema, names bool) {
	switch x.kind(n) {
	case jsonscan.Object:
		i := 0
		for c := x.t.First(n); c >= 0; c = x.t.Nodes[c].Next {
			key := x.t.Key(c)
			p := appendKey(path, key, i)
			if len(key) >= 2 && (!schema || names || !schemaKeywords[strings.ToLower(key)]) {
				cn := &x.t.Nodes[c]
				x.d.segments = append(x.d.segments, pipeline.Segment{Text: key, Role: role, Provenance: prov, Field: string(p) + "{key}", Kind: x.segKind})
				x.d.locs = append(x.d.locs, location{start: cn.KeyStart, end: cn.KeyEnd})
			}
			// The members of these are names of the schema's own making.
			lk := strings.ToLower(key)
			childNames := schema && !names && (lk == "properties" || lk == "patternproperties" || lk == "$defs" || lk == "definitions")
			x.objectKeysIn(c, p, role, prov, schema, childNames)
			i++
		}
	case jsonscan.Array:
		i := 0
		for c := x.t.First(n); c >= 0; c = x.t.Nodes[c].Next {
			x.objectKeysIn(c, appendIndex(path, i), role, prov, schema, false)
			i++
		}
	}
}

// pathBuf starts a path buffer with room to grow in place.
func pathBuf(field string) []byte {
	return append(make([]byte, 0, len(field)+128), field...)
}
