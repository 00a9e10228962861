// Package output is the response-side detector family: it reads what the
// model answered and reports system-prompt leakage (by a planted canary or
// by overlap with the request's system prompt), data exfiltration through
// links and auto-loading images, markup that would run script in a client
// that renders the answer as HTML, tool calls outside an allow-list or
// carrying data to foreign hosts, and answers showing that a jailbreak took
// hold. Rule IDs are documented in RULES.md.
//
// It also owns the canary format: NewCanary and CanaryInstruction are what
// the transport plants in the system prompt.
//
// Like every detector package it imports only pipeline and the standard
// library (plus yaml for its policy section); it must not import extproc,
// codecs, Envoy, gRPC or other detector families.
package output
