package codec

// TEMPORARY stub so dependants compile; replaced by the real implementation.

import "github.com/llm-firewall/llm-firewall/pipeline"

type location struct{ start, end int }

// Provider is "openai", "anthropic" or "" for non-LLM formats.
func (a API) Provider() string { return "" }

// IsLLM reports whether a is a known LLM API (malformed bodies are refused).
func (a API) IsLLM() bool { return false }

// ForRequest picks the API from the request path (query ignored) and content type.
func ForRequest(path, contentType string) API { return PlainText }

func DecodeRequest(api API, body []byte, lim Limits) (*Document, error) {
	return nil, ErrMalformed
}

func DecodeResponse(api API, body []byte, lim Limits) (*Document, error) {
	return nil, ErrMalformed
}

func (d *Document) Rewrite(reps []pipeline.Redaction) ([]byte, error) { return nil, ErrMalformed }

func Decompress(encoding string, body []byte, maxBytes int) ([]byte, error) {
	return nil, ErrUnsupportedEncoding
}

func ErrorBody(api API, status int, code, message string) []byte { return nil }
