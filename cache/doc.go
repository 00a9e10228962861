// Package cache owns the decision store behind the pipeline's decision cache:
// a bigcache-backed map from a 32-byte decision key to an encoded verdict,
// with a hard memory cap and a time-to-live, plus its Prometheus metrics.
//
// It stores opaque bytes and knows nothing about verdicts or policies, so it
// must not import pipeline, detectors, extproc, Envoy or gRPC packages: the
// pipeline depends on the cache, never the other way round.
package cache
