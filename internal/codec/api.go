package codec

import (
	"bytes"
	"mime"
	"strings"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Provider is "openai", "anthropic" or "" for non-LLM formats.
func (a API) Provider() string {
	switch {
	case strings.HasPrefix(string(a), "openai."):
		return "openai"
	case strings.HasPrefix(string(a), "anthropic."):
		return "anthropic"
	}
	return ""
}

// IsLLM reports whether a is a known LLM API (malformed bodies are refused).
func (a API) IsLLM() bool {
	switch a {
	case OpenAIChat, OpenAIResponses, OpenAICompletions, OpenAIEmbeddings, AnthropicMessages:
		return true
	}
	return false
}

// routes maps path suffixes to APIs, most specific first. Suffixes (not
// whole paths) so gateway prefixes such as /openai/v1/... and Azure's
// /openai/deployments/<name>/... still match.
var routes = []struct {
	suffix string
	api    API
}{
	{"/chat/completions", OpenAIChat},
	{"/completions", OpenAICompletions},
	{"/responses", OpenAIResponses},
	{"/embeddings", OpenAIEmbeddings},
	// Anthropic needs the /v1 so that other APIs' .../messages routes
	// (OpenAI Assistants threads) are not refused as malformed Anthropic.
	{"/v1/messages", AnthropicMessages},
	{"/v1/messages/count_tokens", AnthropicMessages},
}

// ForRequest picks the API from the request path (query ignored) and content type.
func ForRequest(path, contentType string) API {
	// The path as a normalizing upstream resolves it ("//v1/./chat",
	// "/v1/%63hat"), and case-insensitively: both only ever widen what is
	// parsed as an LLM payload; a lenient upstream must not get
	// /V1/Chat/Completions past the role-aware scan.
	path = strings.ToLower(strings.TrimRight(pipeline.NormalizePath(path), "/"))
	for _, r := range routes {
		if strings.HasSuffix(path, r.suffix) {
			return r.api
		}
	}
	if IsJSONContentType(contentType) {
		return GenericJSON
	}
	return PlainText
}

// mediaType is the media type of a content-type value, lower case, without
// parameters (also for sloppy headers mime refuses).
func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt
}

// IsJSONContentType reports a JSON media type: application/json,
// text/json or any +json suffix.
func IsJSONContentType(ct string) bool {
	mt := mediaType(ct)
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// IsEventStream reports the text/event-stream media type.
func IsEventStream(ct string) bool { return mediaType(ct) == "text/event-stream" }

// LooksLikeSSE reports whether a body begins like a server-sent event
// stream (a field or a comment line) rather than a JSON document.
func LooksLikeSSE(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return bytes.HasPrefix(b, []byte("data:")) || bytes.HasPrefix(b, []byte("event:")) || bytes.HasPrefix(b, []byte(":"))
}
