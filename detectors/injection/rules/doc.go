// Package rules is the hand-written rule set of the prompt-injection detector:
// precise regular-expression rules, one set per attack family (instruction
// override, persona/DAN, system-prompt extraction, refusal suppression, prefix
// injection, payload splitting, role tags, indirect injection, encoded
// payloads), in English, German, French, Spanish, Portuguese, Italian,
// Chinese, Japanese and Russian.
//
// Find takes text that the normalizer has already lower-cased, NFKC-folded
// and cleaned of invisible characters, and returns matches with a stable rule
// ID, family, byte span and score. Rules favour precision: a trained
// classifier complements them for recall. Every rule is listed in RULES.md,
// generated from All (go test -run TestRulesDoc -update).
//
// The package is pure: it imports only the standard library and must not
// import pipeline, extproc, Envoy, gRPC or other detector packages.
package rules
