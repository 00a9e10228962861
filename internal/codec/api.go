package codec

import (
	"mime"
	"strings"
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
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	// Matching case-insensitively only ever widens what is parsed as an
	// LLM payload; a lenient upstream must not get /V1/Chat/Completions
	// past the role-aware scan.
	path = strings.ToLower(strings.TrimRight(path, "/"))
	for _, r := range routes {
		if strings.HasSuffix(path, r.suffix) {
			return r.api
		}
	}
	if isJSONContentType(contentType) {
		return GenericJSON
	}
	return PlainText
}

func isJSONContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		// Fall back to the part before any parameters for sloppy headers.
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
