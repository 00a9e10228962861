// Package codec knows the LLM API payloads: it finds every text to scan in a
// request or response body (with role, provenance and byte location),
// assembles the texts of a streamed (SSE) response across its events
// (DecodeSSE), decodes the string literals of a body that is not valid JSON
// (DecodeLenient), writes
// a body back with chosen spans replaced while leaving every other byte as it
// was, undoes content-encoding within a size bound, and shapes error bodies
// the way each provider does so SDK clients show a clear message.
//
// It imports pipeline for the Segment/Meta/Redaction value types only; it
// must not import Envoy or gRPC packages.
package codec

import (
	"github.com/llm-firewall/llm-firewall/internal/codec/jsonscan"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// API names a payload format.
type API string

const (
	OpenAIChat        API = "openai.chat"        // POST /v1/chat/completions
	OpenAIResponses   API = "openai.responses"   // POST /v1/responses
	OpenAICompletions API = "openai.completions" // POST /v1/completions (legacy)
	OpenAIEmbeddings  API = "openai.embeddings"  // POST /v1/embeddings
	AnthropicMessages API = "anthropic.messages" // POST /v1/messages
	GenericJSON       API = "json"               // any other JSON body: every string is scanned
	PlainText         API = "text"               // anything else: the body is one text
)

// Errors a decoder returns; callers map them to HTTP statuses (400, 413).
var (
	ErrMalformed = jsonscan.ErrMalformed
	ErrTooLarge  = jsonscan.ErrTooLarge
)

// Limits bound what a decoder accepts.
type Limits struct {
	MaxBytes int // decoded body size; 0 means no limit
	MaxDepth int // JSON nesting depth; 0 means DefaultMaxDepth
	// MaxNodes bounds the JSON values (strings, numbers, containers...) a
	// body may hold, so a body of tiny values cannot cost many times its
	// size in memory; over it a decoder returns ErrTooLarge. 0 means
	// DefaultMaxNodes(body size); negative means no cap.
	MaxNodes int
}

// DefaultMaxDepth bounds JSON nesting when Limits.MaxDepth is 0.
const DefaultMaxDepth = jsonscan.DefaultMaxDepth

// Document is a decoded body: its segments and where each came from.
type Document struct {
	api      API
	body     []byte
	segments []pipeline.Segment
	meta     pipeline.Meta
	// locs[i] is where segments[i] lives in body.
	locs []location
	// noRewrite, when set, says why redactions cannot be written back
	// (an SSE document's texts are assembled across events).
	noRewrite string
	// slots are where a system note can be planted (Rewrite's note); empty
	// when the API has no system prompt (completions, embeddings, text).
	slots []slot
}

func (d *Document) API() API                     { return d.api }
func (d *Document) Body() []byte                 { return d.body }
func (d *Document) Segments() []pipeline.Segment { return d.segments }
func (d *Document) Meta() pipeline.Meta          { return d.meta }

// DefaultMaxNodes is the node cap for a body of n bytes when
// Limits.MaxNodes is 0: one JSON value per 4 body bytes, at least 4096.
// Chat, Responses and Messages bodies carry text and run well under one
// value per 10 bytes; only arrays of tiny numbers come near the cap.
func DefaultMaxNodes(n int) int { return max(4096, n/4) }

// nodeCap resolves Limits.MaxNodes for a body of n bytes (<= 0: no cap).
func (l Limits) nodeCap(n int) int {
	switch {
	case l.MaxNodes == 0:
		return DefaultMaxNodes(n)
	case l.MaxNodes < 0:
		return 0
	}
	return l.MaxNodes
}
