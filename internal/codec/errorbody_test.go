package codec

import (
	"encoding/json"
	"testing"
)

func TestErrorBody(t *testing.T) {
	type openAI struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	type anthropic struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	for _, tt := range []struct {
		api              API
		status           int
		wantType         string
		wantAnthropicTyp string
	}{
		{OpenAIChat, 400, "invalid_request_error", ""},
		{OpenAIResponses, 413, "invalid_request_error", ""},
		{GenericJSON, 403, "invalid_request_error", ""},
		{PlainText, 503, "server_error", ""},
		{AnthropicMessages, 400, "", "invalid_request_error"},
		{AnthropicMessages, 413, "", "request_too_large"},
		{AnthropicMessages, 415, "", "invalid_request_error"},
		{AnthropicMessages, 403, "", "permission_error"},
		{AnthropicMessages, 429, "", "rate_limit_error"},
		{AnthropicMessages, 500, "", "api_error"},
		{AnthropicMessages, 503, "", "overloaded_error"},
		{AnthropicMessages, 529, "", "overloaded_error"},
		{AnthropicMessages, 502, "", "api_error"},
		{AnthropicMessages, 504, "", "timeout_error"},
		{AnthropicMessages, 401, "", "authentication_error"},
		{AnthropicMessages, 404, "", "not_found_error"},
	} {
		msg := `blocked "by" <policy>`
		b := ErrorBody(tt.api, tt.status, "policy_violation", msg)
		if tt.api.Provider() == "anthropic" {
			var v anthropic
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if v.Type != "error" || v.Error.Type != tt.wantAnthropicTyp || v.Error.Message != msg {
				t.Errorf("%s %d: %s", tt.api, tt.status, b)
			}
			continue
		}
		var v openAI
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if v.Error.Type != tt.wantType || v.Error.Message != msg || v.Error.Code == nil || *v.Error.Code != "policy_violation" || v.Error.Param != nil {
			t.Errorf("%s %d: %s", tt.api, tt.status, b)
		}
	}
	var v map[string]map[string]any
	if err := json.Unmarshal(ErrorBody(OpenAIChat, 400, "", ""), &v); err != nil {
		t.Fatal(err)
	}
	if v["error"]["code"] != nil || v["error"]["message"] != "Bad Request" {
		t.Errorf("empty code/message: %v", v)
	}
	if _, ok := v["error"]["param"]; !ok {
		t.Errorf("param must be present as null: %v", v)
	}
}
