// Package content is the content-safety detector family "content": sexual
// content, self-harm, violence, hate, weapons, drugs, profanity, crime,
// cybercrime, harassment and other harmful requests, plus the kids preset's
// own rules (contact requests, grooming, a child's personal data, links).
//
// It reads the normalized views (pipeline.View) so that spacing, homoglyph
// and leetspeak obfuscation and encoded payloads do not evade it, matches
// hand-written multilingual lexicons with context rules (request frames,
// quoted or mentioned words, harmless contexts such as "kill a Python
// process"), and adds the evidence of a small embedded hashed-n-gram
// logistic-regression classifier (model.bin, trained by ./train on
// licence-compatible rows only; see README.md). It reports findings with
// rule IDs content.<category> and content.kids.<category>, calibrated
// scores and spans on the triggering words; it never decides actions.
//
// It imports only pipeline, yaml and the standard library (plus
// golang.org/x/text); ./train and ./eval also import detectors/normalize.
// It must not import extproc, codecs, Envoy, gRPC or other detector
// families.
package content
