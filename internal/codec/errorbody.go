package codec

import (
	"encoding/json"
	"net/http"
)

// openAIError is the error shape openai-go and the Python SDK parse.
type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// anthropicError is the error shape anthropic-sdk-go parses.
type anthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// ErrorBody builds an error body shaped like the provider's own, so SDK
// clients show message instead of a parse failure. Non-LLM APIs get the
// OpenAI shape, the one most clients recognise.
func ErrorBody(api API, status int, code, message string) []byte {
	if message == "" {
		message = http.StatusText(status)
	}
	var v any
	if api.Provider() == "anthropic" {
		var e anthropicError
		e.Type = "error"
		e.Error.Type = anthropicErrorType(status)
		e.Error.Message = message
		v = e
	} else {
		var e openAIError
		e.Error.Message = message
		e.Error.Type = "invalid_request_error"
		if status >= 500 {
			e.Error.Type = "server_error"
		}
		if code != "" {
			e.Error.Code = &code
		}
		v = e
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings and pointers to strings: cannot fail.
		panic("codec: marshal error body: " + err.Error())
	}
	return b
}

// anthropicErrorType maps a status to the types Anthropic documents (413
// is "request_too_large" in the API docs; anthropic-sdk-go still reads the
// message of a type it has no variant for).
func anthropicErrorType(status int) string {
	switch status {
	case 400, 415, 422:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 503, 529:
		return "overloaded_error"
	case 504:
		return "timeout_error"
	}
	return "api_error"
}
