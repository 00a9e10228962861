// Package semantic gives detectors features that do not need their training
// data to have seen the words: the WordPiece tokenizer of a general-purpose
// pretrained sentence encoder (all-MiniLM-L6-v2, Apache-2.0) and, for
// trainers, a static embedding table distilled from that encoder (the
// model2vec method: every vocabulary token encoded alone, reduced with PCA,
// weighted by its smooth inverse Zipf frequency; `make semantic`).
//
// A text's embedding is the mean of its tokens' rows. A linear model over
// that mean is the mean of per-token scores (w·mean(e) = mean(w·e)), so a
// shipped model folds its weights into one number per token and inference
// costs a tokenizer pass and one lookup per token: no encoder, no Python and
// no table in the binary. The table itself (package table) is imported only
// by trainers.
//
// Provenance and licence: PROVENANCE.md.
package semantic
