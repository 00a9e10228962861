// Package all links every detector family into the binary (each registers
// itself with the pipeline) and gives the engine options that wire the
// shared pieces explicitly: the text normalizer and the canary maker.
// Adding a family is one line here.
package all

import (
	_ "github.com/llm-firewall/llm-firewall/detectors/content"
	_ "github.com/llm-firewall/llm-firewall/detectors/injection"
	_ "github.com/llm-firewall/llm-firewall/detectors/limits"
	"github.com/llm-firewall/llm-firewall/detectors/normalize"
	"github.com/llm-firewall/llm-firewall/detectors/output"
	_ "github.com/llm-firewall/llm-firewall/detectors/pii"
	_ "github.com/llm-firewall/llm-firewall/detectors/secrets"
	_ "github.com/llm-firewall/llm-firewall/detectors/wasm"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// EngineOptions are the options every engine of this build gets besides
// its cache, metrics and logger: the normalizer the detectors' views come
// from and the canary format the output family checks for.
func EngineOptions(opts ...pipeline.EngineOption) []pipeline.EngineOption {
	return append([]pipeline.EngineOption{
		pipeline.WithNormalizer(normalize.Normalize),
		pipeline.WithCanaryMaker(output.MakeCanary),
	}, opts...)
}
