// Package normalize produces the normalized view (pipeline.View) that every
// detector reads: the canonical text of a segment (NFKC, lower case,
// confusables folded, invisible characters removed, whitespace and letter
// spacing collapsed), an exact byte map from that text back to the original,
// the obfuscation signals found on the way, and the payloads decoded out of
// the text (base64, base32, hex, URL and HTML escapes, ROT13, reversed text,
// leetspeak, Unicode tag characters, variation-selector smuggling, hidden
// markup), each normalized again within depth and size limits.
//
// The engine gets it explicitly (pipeline.WithNormalizer(Normalize), wired
// by detectors/all EngineOptions); importing the package installs nothing.
// It owns no rule IDs: hidden or encoded content
// is reported as signals and layers, and detectors decide what they mean.
// Like every detector package it imports only pipeline and the standard
// library (plus golang.org/x/text); it must not import extproc, codecs,
// Envoy, gRPC or other detector families.
package normalize
