// Package secrets is the secrets detector family (OWASP LLM02, sensitive
// information disclosure): cloud keys, provider API tokens, JWTs, private key
// blocks and generic high-entropy assignments in prompts, tool results and
// model output.
//
// Its rules are gitleaks' default rule set (github.com/zricethezav/gitleaks/v8,
// MIT), loaded once from the module gitleaks.toml and run by this package's
// own matcher: one case-insensitive Aho-Corasick pass finds the rules' keywords
// (gitleaks' prefilter, unchanged) and the literal prefixes the rules' secrets
// start with; each rule's regular expression is then tried only where such a
// prefix occurs, on a window bounded by the longest match it can make. Rule
// IDs are gitleaks' prefixed with "secrets.".
//
// It owns only its rule IDs, the entity mapping and their configuration. Like
// every detector it imports pipeline for the shared types and must not import
// extproc, codecs, Envoy, gRPC or other detector families.
package secrets
