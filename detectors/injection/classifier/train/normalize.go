package main

import "github.com/llm-firewall/llm-firewall/detectors/normalize"

// normalizerName is recorded in the report and hashed into the model's
// provenance, so a change of normalizer changes the data hash.
const normalizerName = "detectors/normalize.Normalize(text).Text"

// normalizeText must be exactly what inference feeds Score: the pipeline
// hands detectors normalize.Normalize(segment).Text.
func normalizeText(s string) string {
	return normalize.Normalize(s).Text
}
