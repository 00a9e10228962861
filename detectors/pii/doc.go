// Package pii is the detector family "pii": it finds personal data in
// request and response text and reports each item as a finding with an
// exact byte span of the original segment, an entity type and a calibrated
// score. It never decides an action; the policy maps entity types to
// block, redact, pseudonymize or log.
//
// Entities, rule IDs, scores and known limits are listed in ENTITIES.md.
// Identifiers that carry a checksum (cards, IBANs, national IDs, crypto
// addresses) are validated; phone numbers are found by a cheap digit-run
// scanner and only then checked with libphonenumber
// (github.com/nyaruka/phonenumbers); the rest rely on layout and nearby
// context words.
//
// The package reads Segment.Text, not normalized views, so spans are exact
// for redaction. It imports only pipeline and libraries, never transport
// (Envoy, gRPC) packages. It keeps no input text after Detect returns; the
// phone-validity cache holds seeded hashes only.
package pii
