// Package audit owns the tamper-evident audit log: one JSON Lines record per
// decision (never the scanned text: rule IDs and keyed hashes of the matched
// text only), hash-chained record to record, signed with Ed25519 at
// intervals, written off the data path by one writer goroutine, reopened
// for log rotation; and Verify, which finds edited, removed, inserted and
// reordered records.
//
// It depends on pipeline's value types only; it must not import extproc,
// guard, codecs, detectors, Envoy or gRPC packages. The transports call
// Log.WriteVerdict; cmd/llm-firewall opens the log and runs `audit verify`.
package audit
