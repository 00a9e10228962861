package wasm

import (
	"encoding/base64"
	"strings"
	"testing"
)

// Modules that break ABI version 1's shape are refused when the policy
// loads, with a message that says what to fix.
func TestLoadRefusesModulesOutsideTheABI(t *testing.T) {
	noop := func(name string, params, results []byte) wfn {
		code := []byte{}
		for _, r := range results {
			if r == tI64 {
				code = cat(code, i64c(0))
			} else {
				code = cat(code, i32c(0))
			}
		}
		return wfn{name: name, params: params, results: results, code: code}
	}
	version := func(v int32) wfn {
		return wfn{name: "llmfw_abi_version", results: []byte{tI32}, code: i32c(v)}
	}
	alloc := wfn{name: "llmfw_alloc", params: []byte{tI32}, results: []byte{tI32}, code: i32c(1024)}
	detectFn := noop("llmfw_detect", []byte{tI32, tI32}, []byte{tI64})
	for _, tc := range []struct {
		name string
		mod  []byte
		want string
	}{
		{"command module", assemble(1, true, noop("_start", nil, nil), version(1), alloc), "build a reactor"},
		{"missing detect", assemble(1, true, version(1), alloc), "does not export llmfw_detect"},
		{"wrong detect signature", assemble(1, true, version(1), alloc,
			noop("llmfw_detect", []byte{tI32, tI32}, []byte{tI32})), "wrong signature"},
		{"memory not exported", assemble(1, false, version(1), alloc, detectFn), `does not export its memory as "memory"`},
		{"foreign import", assemble(1, true,
			wfn{name: "fetch", importFrom: "env", params: []byte{tI32}}, version(1), alloc, detectFn), "imports env.fetch"},
		{"other ABI version", assemble(1, true, version(2), alloc, detectFn), "speaks ABI version 2"},
		{"configure without config is fine, config without configure is not", assemble(1, true, version(1), alloc, detectFn), "takes no config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			section := "rules:\n  - name: m\n    module_base64: " + base64.StdEncoding.EncodeToString(tc.mod) + "\n"
			if strings.Contains(tc.name, "config without configure") {
				section += "    config: {a: 1}\n"
			}
			_, err := newFromYAML(section)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// A module that answers with a malformed verdict is a failing module: its
// failure action applies and the failure is counted as "abi".
func TestMalformedVerdictIsAnABIFailure(t *testing.T) {
	// llmfw_detect returns 8 bytes at address 0: too short for a verdict.
	detectFn := wfn{name: "llmfw_detect", params: []byte{tI32, tI32}, results: []byte{tI64}, code: i64c(8)}
	mod := assemble(1, true, watVersion, watAlloc, detectFn)
	d := newDetector(t, "rules:\n  - name: bad-abi\n    breaker: off\n    module_base64: "+base64.StdEncoding.EncodeToString(mod)+"\n")
	before := failures("wasm.bad-abi", kindABI)
	if fs := detect(t, d, request("anything")); len(fs) != 1 || fs[0].Rule != "wasm.bad-abi.failure" {
		t.Fatalf("findings %v, want wasm.bad-abi.failure", rules(fs))
	}
	if got := failures("wasm.bad-abi", kindABI) - before; got != 1 {
		t.Fatalf("abi failures +%v, want +1", got)
	}
}
