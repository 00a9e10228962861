// Package classifier is the trained prompt-attack classifier: hashed byte
// and word n-grams scored by a logistic regression whose int8 weights are
// embedded in the binary (model.bin, written by ./train). Score takes text
// that detectors/normalize has already normalized; the thresholds and the
// held-out validation report travel with the weights (report.json).
//
// It owns the model file format and the features (internal/model). It must
// not import pipeline transports, extproc, Envoy, gRPC or other detector
// families; the injection detector calls it.
package classifier
