// Package jsonscan is the codec's strict JSON scanner: an iterative
// RFC 8259 parser (no recursion, bounded depth and node count, invalid
// UTF-8 refused) into a flat tree in document order that keeps every
// member of an object, duplicate keys included, with byte offsets into the
// source, so a scan sees what any upstream parser could see and a
// redaction can splice the body in place.
package jsonscan

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Errors the scanner wraps; the codec returns the same values.
var (
	ErrMalformed = errors.New("malformed body")
	ErrTooLarge  = errors.New("body too large")
)

// DefaultMaxDepth bounds nesting when Parse is given a depth of 0.
const DefaultMaxDepth = 64

// Kind is the JSON type of a node.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Object
	Array
)

// Node is one JSON value. The tree is a flat slice in document order so a
// body costs one growing allocation instead of one interface per value, and
// objects keep every member in order, duplicate keys included: the scan must
// see what any upstream parser (first-wins or last-wins) could see.
//
// A node holds offsets only (36 bytes): decoded keys and strings are read
// back from the source or the escape arena on demand, so the worst-case
// body (a long array of one-digit numbers) costs about 18 bytes of nodes per
// body byte, bounded further by Limits.MaxNodes.
type Node struct {
	Kind Kind
	// start and end are the value's byte range in the body; for strings
	// they include the quotes, so a redaction can splice a whole literal.
	Start, End int32
	// keyStart and keyEnd locate the member's key literal when the parent
	// is an object; keyStart is -1 for array elements and the root.
	KeyStart, KeyEnd int32
	// keyRef and strRef are 1 + the index in tree.refs of the decoded text
	// of an escaped key or string; 0 means the text is the literal itself.
	KeyRef, StrRef int32
	// next is the next sibling (-1 for none); a container's first child,
	// when count > 0, is the node right after it.
	Next  int32
	Count int32 // number of children
}

// Tree is a parsed JSON body.
type Tree struct {
	src   string // the body; unescaped strings are substrings, not allocations
	arena string // decoded text of every escaped key and string
	refs  [][2]int32
	Nodes []Node
	Strs  int // string values: an upper bound on segments of an LLM body
	Keys  int // object keys (GenericJSON scans them too)
}

// Str is the decoded value of string node n.
func (t *Tree) Str(n int32) string {
	nd := &t.Nodes[n]
	if nd.StrRef > 0 {
		r := t.refs[nd.StrRef-1]
		return t.arena[r[0]:r[1]]
	}
	return t.src[nd.Start+1 : nd.End-1]
}

// Key is the decoded key of member n ("" for array elements and the root).
func (t *Tree) Key(n int32) string {
	nd := &t.Nodes[n]
	switch {
	case nd.KeyRef > 0:
		r := t.refs[nd.KeyRef-1]
		return t.arena[r[0]:r[1]]
	case nd.KeyStart < 0:
		return ""
	}
	return t.src[nd.KeyStart+1 : nd.KeyEnd-1]
}

// First is the first child of container n, or -1.
func (t *Tree) First(n int32) int32 {
	if t.Nodes[n].Count == 0 {
		return -1
	}
	return n + 1
}

// parser is an iterative (no recursion, so no stack growth on deep input)
// strict RFC 8259 parser.
type parser struct {
	s        string
	i        int
	nodes    []Node
	maxDepth int
	maxNodes int // <= 0: no cap
	// arena holds the decoded text of every string with escapes; it becomes
	// one string at the end, so escaped strings cost no allocation each.
	arena []byte
	refs  [][2]int32 // arena ranges
	strs  int        // string values seen, to size the segment slices
	keys  int        // object keys seen
}

func malformedAt(off int, what string) error {
	return fmt.Errorf("invalid JSON at byte %d: %s: %w", off, what, ErrMalformed)
}

// TooManyNodes is the error for a body over a node cap of limit.
func TooManyNodes(limit int) error {
	return fmt.Errorf("JSON body has more than %d values (arrays of tiny numbers?); raise Limits.MaxNodes if such bodies are legitimate: %w", limit, ErrTooLarge)
}

// Parse builds the tree of body. maxDepth bounds nesting of arrays and
// objects (the root container is depth 1); maxNodes bounds the number of
// values (<= 0: no cap), so memory stays proportional to the body.
func Parse(body []byte, maxDepth, maxNodes int) (*Tree, error) {
	if len(body) > math.MaxInt32 {
		return nil, fmt.Errorf("body of %d bytes cannot be indexed: %w", len(body), ErrTooLarge)
	}
	// Checking UTF-8 once up front is faster than per string and also
	// covers bytes outside strings, which the grammar then rejects anyway.
	if !utf8.Valid(body) {
		return nil, malformedAt(firstInvalidUTF8(body), "invalid UTF-8")
	}
	return ParseString(string(body), maxDepth, maxNodes)
}

// ParseString parses valid UTF-8 text (the caller checks); SSE events
// are substrings of one copy of the stream, so they are parsed without a
// copy each.
func ParseString(src string, maxDepth, maxNodes int) (*Tree, error) {
	return ParseInto(nil, src, maxDepth, maxNodes)
}

// ParseInto is ParseString building the tree in nodes' storage
// when it is large enough (SSE events reuse one slice).
func ParseInto(nodes []Node, src string, maxDepth, maxNodes int) (*Tree, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if len(src) > math.MaxInt32 {
		return nil, fmt.Errorf("body of %d bytes cannot be indexed: %w", len(src), ErrTooLarge)
	}
	p := &parser{s: src, maxDepth: maxDepth, maxNodes: maxNodes}
	// Every value but the first in a container follows a comma, so this
	// bounds the node count (bytes inside strings only loosen it) and
	// saves regrowing the slice.
	want := strings.Count(src, ",") + strings.Count(src, "[") + strings.Count(src, "{") + 1
	if maxNodes > 0 {
		want = min(want, maxNodes+1)
	}
	if cap(nodes) >= want {
		p.nodes = nodes[:0]
	} else {
		p.nodes = make([]Node, 0, want)
	}
	if err := p.run(); err != nil {
		return nil, err
	}
	return &Tree{src: src, arena: string(p.arena), refs: p.refs, Nodes: p.nodes, Strs: p.strs, Keys: p.keys}, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func (p *parser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// frame is an open container on the parser's explicit stack.
type frame struct {
	idx  int32 // container node
	last int32 // last child linked so far; -1 for none
}

func (p *parser) run() error {
	stack := make([]frame, 0, 16)
	keyStart, keyEnd, keyRef := int32(-1), int32(-1), int32(0)
	for {
		// Parse one value at p.i.
		p.ws()
		if p.i >= len(p.s) {
			return malformedAt(p.i, "unexpected end of input")
		}
		idx := int32(len(p.nodes))
		if p.maxNodes > 0 && len(p.nodes) >= p.maxNodes {
			return TooManyNodes(p.maxNodes)
		}
		n := Node{Start: int32(p.i), KeyStart: keyStart, KeyEnd: keyEnd, KeyRef: keyRef, Next: -1}
		keyStart, keyEnd, keyRef = -1, -1, 0
		opened := false
		switch c := p.s[p.i]; {
		case c == '{':
			n.Kind = Object
			p.i++
			opened = true
		case c == '[':
			n.Kind = Array
			p.i++
			opened = true
		case c == '"':
			ref, err := p.str()
			if err != nil {
				return err
			}
			n.Kind, n.StrRef = String, ref
			p.strs++
		case c == 't':
			if err := p.lit("true"); err != nil {
				return err
			}
			n.Kind = Bool
		case c == 'f':
			if err := p.lit("false"); err != nil {
				return err
			}
			n.Kind = Bool
		case c == 'n':
			if err := p.lit("null"); err != nil {
				return err
			}
			n.Kind = Null
		case c == '-' || (c >= '0' && c <= '9'):
			if err := p.num(); err != nil {
				return err
			}
			n.Kind = Number
		default:
			return malformedAt(p.i, "unexpected character where a value should be")
		}
		n.End = int32(p.i)
		p.nodes = append(p.nodes, n)
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.last >= 0 {
				p.nodes[top.last].Next = idx
			}
			top.last = idx
			p.nodes[top.idx].Count++
		}
		if opened {
			if len(stack)+1 > p.maxDepth {
				return malformedAt(int(n.Start), fmt.Sprintf("nesting deeper than %d", p.maxDepth))
			}
			stack = append(stack, frame{idx: idx, last: -1})
			p.ws()
			closer := byte(']')
			if n.Kind == Object {
				closer = '}'
			}
			if p.i < len(p.s) && p.s[p.i] == closer {
				p.i++
				p.nodes[idx].End = int32(p.i)
				stack = stack[:len(stack)-1]
			} else {
				if n.Kind == Object {
					var err error
					if keyStart, keyEnd, keyRef, err = p.member(); err != nil {
						return err
					}
				}
				continue
			}
		}
		// A value is complete: close containers or move to the next element.
		for {
			if len(stack) == 0 {
				p.ws()
				if p.i != len(p.s) {
					return malformedAt(p.i, "data after the top-level value")
				}
				return nil
			}
			top := stack[len(stack)-1]
			p.ws()
			if p.i >= len(p.s) {
				return malformedAt(p.i, "unexpected end of input")
			}
			c := p.s[p.i]
			isObj := p.nodes[top.idx].Kind == Object
			if c == ',' {
				p.i++
				if isObj {
					var err error
					if keyStart, keyEnd, keyRef, err = p.member(); err != nil {
						return err
					}
				}
				break
			}
			if (isObj && c == '}') || (!isObj && c == ']') {
				p.i++
				p.nodes[top.idx].End = int32(p.i)
				stack = stack[:len(stack)-1]
				continue
			}
			return malformedAt(p.i, "expected ',' or a closing bracket")
		}
	}
}

// member reads `"key" :` and leaves p.i at the value.
func (p *parser) member() (start, end, ref int32, err error) {
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return 0, 0, 0, malformedAt(p.i, "expected an object key")
	}
	start = int32(p.i)
	if ref, err = p.str(); err != nil {
		return 0, 0, 0, err
	}
	end = int32(p.i)
	p.keys++
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != ':' {
		return 0, 0, 0, malformedAt(p.i, "expected ':' after an object key")
	}
	p.i++
	return start, end, ref, nil
}

func (p *parser) lit(want string) error {
	if len(p.s)-p.i < len(want) || p.s[p.i:p.i+len(want)] != want {
		return malformedAt(p.i, "invalid literal")
	}
	p.i += len(want)
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// num accepts exactly the RFC 8259 number grammar.
func (p *parser) num() error {
	start := p.i
	b := p.s
	if b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(b) && b[p.i] == '0':
		p.i++
	case p.i < len(b) && b[p.i] >= '1' && b[p.i] <= '9':
		for p.i < len(b) && isDigit(b[p.i]) {
			p.i++
		}
	default:
		return malformedAt(start, "invalid number")
	}
	if p.i < len(b) && b[p.i] == '.' {
		p.i++
		if p.i >= len(b) || !isDigit(b[p.i]) {
			return malformedAt(start, "invalid number")
		}
		for p.i < len(b) && isDigit(b[p.i]) {
			p.i++
		}
	}
	if p.i < len(b) && (b[p.i] == 'e' || b[p.i] == 'E') {
		p.i++
		if p.i < len(b) && (b[p.i] == '+' || b[p.i] == '-') {
			p.i++
		}
		if p.i >= len(b) || !isDigit(b[p.i]) {
			return malformedAt(start, "invalid number")
		}
		for p.i < len(b) && isDigit(b[p.i]) {
			p.i++
		}
	}
	return nil
}

// str reads a string literal at p.i (the opening quote). A string without
// escapes is its own literal (ref 0, no copy); an escaped one is decoded
// into the arena and returned as a ref (1 + index in p.refs).
func (p *parser) str() (int32, error) {
	b := p.s
	start := p.i
	i := start + 1
	for i < len(b) {
		c := b[i]
		if c == '"' {
			p.i = i + 1
			return 0, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return 0, malformedAt(i, "control character in string")
		}
		i++
	}
	if i >= len(b) {
		return 0, malformedAt(start, "unterminated string")
	}
	if p.arena == nil {
		// Decoded text is never longer than its literal.
		p.arena = make([]byte, 0, len(b)-start)
	}
	arenaStart := len(p.arena)
	buf := append(p.arena, b[start+1:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			p.i = i + 1
			p.arena = buf
			p.refs = append(p.refs, [2]int32{int32(arenaStart), int32(len(buf))})
			return int32(len(p.refs)), nil
		case c < 0x20:
			return 0, malformedAt(i, "control character in string")
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		// Escape sequence.
		if i+1 >= len(b) {
			return 0, malformedAt(i, "unterminated escape")
		}
		esc := b[i+1]
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(b, i+2)
			if !ok {
				return 0, malformedAt(i, "invalid \\u escape")
			}
			width := 6
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				// A high surrogate must be followed by an escaped low one;
				// anything else is text no two parsers agree on.
				if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return 0, malformedAt(i, "lone surrogate escape")
				}
				lo, ok := hex4(b, i+8)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return 0, malformedAt(i, "lone surrogate escape")
				}
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				width = 12
			case r >= 0xDC00 && r <= 0xDFFF:
				return 0, malformedAt(i, "lone surrogate escape")
			}
			buf = utf8.AppendRune(buf, r)
			i += width
			continue
		default:
			return 0, malformedAt(i, "invalid escape")
		}
		i += 2
	}
	return 0, malformedAt(start, "unterminated string")
}

func hex4(b string, at int) (rune, bool) { return HexN(b, at, 4) }

// Member returns the next value of key in obj after the child after (-1
// to start), or -1. Callers loop over every duplicate so no text hides
// behind a repeated key. Keys match case-insensitively the way Go's
// encoding/json matches struct fields (Unicode simple folding, so the
// Kelvin sign matches "k" and the long s matches "s"): an upstream that
// decodes into structs reads "Text" or "ROLE" as text or role.
func (t *Tree) Member(obj int32, key string, after int32) int32 {
	var c int32
	if after < 0 {
		if obj < 0 || t.Nodes[obj].Kind != Object {
			return -1
		}
		c = t.First(obj)
	} else {
		c = t.Nodes[after].Next
	}
	for ; c >= 0; c = t.Nodes[c].Next {
		if KeyIs(t.Key(c), key) {
			return c
		}
	}
	return -1
}

// KeyIs reports whether k names the control key want (lower-case ASCII) in
// encoding/json's case-insensitive sense.
func KeyIs(k, want string) bool {
	if len(k) == len(want) && k == want {
		return true
	}
	// Folded forms are never shorter: K and ſ take 3 and 2 bytes.
	if len(k) < len(want) || len(k) > 3*len(want) {
		return false
	}
	return strings.EqualFold(k, want)
}

// Raw returns the bytes of node n as written in the body.
func (t *Tree) Raw(n int32) string { return t.src[t.Nodes[n].Start:t.Nodes[n].End] }

// HexN reads n hex digits at b[at:]; the strict scanner and the lenient
// decoder share it.
func HexN[T string | []byte](b T, at, n int) (rune, bool) {
	if at+n > len(b) {
		return 0, false
	}
	var r rune
	for i := at; i < at+n; i++ {
		c := b[i]
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
