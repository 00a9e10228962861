// Package injection is the prompt-attack detector family: direct prompt
// injection, jailbreaks, system-prompt extraction and indirect injection in
// tool results and documents. It combines precise multilingual rules
// (subpackage rules) with a trained classifier (subpackage classifier), both
// reading the normalized view of each segment and every payload decoded out
// of it, and turns obfuscation signals (Unicode tag or variation-selector
// smuggling) into findings of their own.
//
// Scores are calibrated so that 0.5 is the detector's decision boundary for
// the segment's provenance: the policy's threshold (0.5 by default) then
// means the same thing for user turns and for tool results, and a stricter
// profile lowers it.
//
// It must not import Envoy, gRPC or extproc.
package injection
