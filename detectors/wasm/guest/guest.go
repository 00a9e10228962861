//go:build wasip1

// Package guest makes a Go program a firewall rule (ABI version 1, see
// docs/wasm-rules.md): it exports llmfw_abi_version, llmfw_alloc,
// llmfw_configure and llmfw_detect, and hands each call to the functions a
// rule registers from its init. Build the rule as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o rule.wasm ./myrule
//
// It is only built for GOOS=wasip1 and must import nothing but the standard
// library and detectors/wasm/abi.
package guest

//lint:file-ignore U1000 the llmfw_* functions are used by the host through //go:wasmexport

import (
	"unsafe"

	"github.com/llm-firewall/llm-firewall/detectors/wasm/abi"
)

// DetectFunc looks at one segment and returns a verdict, or nil when it has
// nothing to report. req's strings are valid only until it returns.
type DetectFunc func(req *abi.Request) *abi.Verdict

// ConfigureFunc receives the rule's policy config as JSON, once per
// instance, before the first detect. A non-nil error rejects the policy.
type ConfigureFunc func(config []byte) error

var (
	detect    DetectFunc
	configure ConfigureFunc
	in        = make([]byte, 0, 4096)
	out       []byte
)

// Handle registers the rule's detect function; call it from init.
func Handle(f DetectFunc) { detect = f }

// HandleConfig registers the rule's configure function; call it from init.
// A rule without one rejects any config.
func HandleConfig(f ConfigureFunc) { configure = f }

//go:wasmexport llmfw_abi_version
func abiVersion() uint32 { return abi.Version }

// llmfwAlloc hands out the one input buffer, reused for every call: the host
// writes a request into it and passes it straight back.
//
//go:wasmexport llmfw_alloc
func llmfwAlloc(size uint32) uint32 {
	if cap(in) < int(size) {
		in = make([]byte, size)
	}
	in = in[:max(size, 1)]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(in))))
}

//go:wasmexport llmfw_configure
func llmfwConfigure(ptr, size uint32) uint64 {
	cfg := append([]byte(nil), in[:size]...)
	var err error
	switch {
	case configure != nil:
		err = configure(cfg)
	case string(cfg) != "null":
		return reply([]byte("this rule takes no config"))
	}
	if err != nil {
		return reply([]byte(err.Error()))
	}
	return 0
}

//go:wasmexport llmfw_detect
func llmfwDetect(ptr, size uint32) uint64 {
	if detect == nil {
		return 0
	}
	req, err := abi.DecodeRequestFunc(in[:size], func(b []byte) string {
		return unsafe.String(unsafe.SliceData(b), len(b))
	})
	if err != nil {
		panic(err) // the host broke the ABI: trap rather than guess
	}
	v := detect(&req)
	if v == nil {
		return 0
	}
	out = abi.AppendVerdict(out[:0], v)
	return reply(out)
}

// reply returns b's address and length; b stays reachable from a global
// until the next call, so the host can read it.
func reply(b []byte) uint64 {
	out = b
	return abi.Pack(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))), uint32(len(b)))
}
