// Package all registers every detector family and the normalizer with the
// pipeline. Import it for its side effects; adding a family is one line here.
package all

import (
	_ "github.com/llm-firewall/llm-firewall/detectors/content"
	_ "github.com/llm-firewall/llm-firewall/detectors/injection"
	_ "github.com/llm-firewall/llm-firewall/detectors/limits"
	_ "github.com/llm-firewall/llm-firewall/detectors/normalize"
	_ "github.com/llm-firewall/llm-firewall/detectors/output"
	_ "github.com/llm-firewall/llm-firewall/detectors/pii"
	_ "github.com/llm-firewall/llm-firewall/detectors/secrets"
	_ "github.com/llm-firewall/llm-firewall/detectors/wasm"
)
