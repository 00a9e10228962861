package wasm

import (
	"context"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
)

// A tiny WebAssembly assembler: enough to write examples/trap/trap.wat and
// the malformed modules the load checks must refuse, without wat2wasm.

const (
	tI32 = 0x7f
	tI64 = 0x7e
)

func uleb(n uint64) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

func sleb(n int64) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		done := (n == 0 && c&0x40 == 0) || (n == -1 && c&0x40 != 0)
		if !done {
			c |= 0x80
		}
		b = append(b, c)
		if done {
			return b
		}
	}
}

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

func vec(items ...[]byte) []byte { return cat(uleb(uint64(len(items))), cat(items...)) }

func wname(s string) []byte { return cat(uleb(uint64(len(s))), []byte(s)) }

func section(id byte, content []byte) []byte {
	return cat([]byte{id}, uleb(uint64(len(content))), content)
}

// Instructions used by the modules below.
func i32c(v int32) []byte { return cat([]byte{0x41}, sleb(int64(v))) }
func i64c(v int64) []byte { return cat([]byte{0x42}, sleb(v)) }
func get(i uint32) []byte { return cat([]byte{0x20}, uleb(uint64(i))) }
func set(i uint32) []byte { return cat([]byte{0x21}, uleb(uint64(i))) }
func tee(i uint32) []byte { return cat([]byte{0x22}, uleb(uint64(i))) }
func load(align, offset uint32) []byte {
	return cat([]byte{0x28}, uleb(uint64(align)), uleb(uint64(offset)))
}

var (
	opEnd         = []byte{0x0b}
	opIf          = []byte{0x04, 0x40}
	opBlock       = []byte{0x02, 0x40}
	opLoop        = []byte{0x03, 0x40}
	opReturn      = []byte{0x0f}
	opUnreachable = []byte{0x00}
	opAdd         = []byte{0x6a}
	opSub         = []byte{0x6b}
	opShrU        = []byte{0x76}
	opEq          = []byte{0x46}
	opGtU         = []byte{0x4b}
	opMemSize     = []byte{0x3f, 0x00}
	opMemGrow     = []byte{0x40, 0x00}
	opBrIf1       = []byte{0x0d, 0x01}
	opBr0         = []byte{0x0c, 0x00}
)

type wfn struct {
	name            string // export name ("" = not exported)
	importFrom      string // module to import it from; then it has no body
	params, results []byte
	locals          uint32 // extra i32 locals
	code            []byte // without the final end
}

// assemble builds a module with one memory of memMin pages (exported as
// "memory" when exportMem) and fns: imports first, as wasm requires.
func assemble(memMin uint32, exportMem bool, fns ...wfn) []byte {
	var imports, defined []wfn
	for _, f := range fns {
		if f.importFrom != "" {
			imports = append(imports, f)
		} else {
			defined = append(defined, f)
		}
	}
	all := append(slices.Clone(imports), defined...)
	var types, imps, funcs, exports, codes [][]byte
	for i, f := range all {
		types = append(types, cat([]byte{0x60}, vec(splitBytes(f.params)...), vec(splitBytes(f.results)...)))
		if f.importFrom != "" {
			imps = append(imps, cat(wname(f.importFrom), wname(f.name), []byte{0x00}, uleb(uint64(i))))
			continue
		}
		funcs = append(funcs, uleb(uint64(i)))
		if f.name != "" {
			exports = append(exports, cat(wname(f.name), []byte{0x00}, uleb(uint64(i))))
		}
		locals := vec()
		if f.locals > 0 {
			locals = vec(cat(uleb(uint64(f.locals)), []byte{tI32}))
		}
		body := cat(locals, f.code, opEnd)
		codes = append(codes, cat(uleb(uint64(len(body))), body))
	}
	if exportMem {
		exports = append(exports, cat(wname("memory"), []byte{0x02}, uleb(0)))
	}
	out := cat([]byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00},
		section(1, vec(types...)))
	if len(imps) > 0 {
		out = cat(out, section(2, vec(imps...)))
	}
	return cat(out,
		section(3, vec(funcs...)),
		section(5, vec(cat([]byte{0x00}, uleb(uint64(memMin))))),
		section(7, vec(exports...)),
		section(10, vec(codes...)))
}

func splitBytes(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// The three functions of examples/trap/trap.wat, instruction for instruction.
var (
	watVersion = wfn{name: "llmfw_abi_version", results: []byte{tI32}, code: i32c(1)}
	watAlloc   = wfn{name: "llmfw_alloc", params: []byte{tI32}, results: []byte{tI32}, locals: 1, code: cat(
		get(0), i32c(0x40000000), opGtU, opIf, i32c(0), opReturn, opEnd,
		get(0), i32c(66559), opAdd, i32c(16), opShrU, tee(1), opMemSize, opGtU,
		opIf,
		get(1), opMemSize, opSub, opMemGrow, i32c(-1), opEq,
		opIf, i32c(0), opReturn, opEnd,
		opEnd,
		i32c(1024),
	)}
	watDetect = wfn{name: "llmfw_detect", params: []byte{tI32, tI32}, results: []byte{tI64}, locals: 2, code: cat(
		get(0), i32c(36), opAdd,
		get(0), load(2, 20), opAdd,
		get(0), load(2, 24), opAdd,
		get(0), load(2, 28), opAdd,
		set(2),
		get(0), get(1), opAdd, set(3),
		opBlock, opLoop,
		get(2), i32c(4), opAdd, get(3), opGtU, opBrIf1,
		get(2), load(0, 0), i32c(0x6d6f6f62), opEq,
		opIf, opUnreachable, opEnd,
		get(2), i32c(1), opAdd, set(2),
		opBr0,
		opEnd, opEnd,
		i64c(0),
	)}
)

// trapModule is examples/trap/trap.wat assembled.
func trapModule() []byte { return assemble(1, true, watVersion, watAlloc, watDetect) }

// TestTrapModuleMatchesWAT checks the hand-assembled bytes against the
// documented source: the same exports with the same signatures, and the
// behaviour the comments promise.
func TestTrapModuleMatchesWAT(t *testing.T) {
	src, err := os.ReadFile("examples/trap/trap.wat")
	if err != nil {
		t.Fatal(err)
	}
	var watExports []string
	for _, m := range regexp.MustCompile(`\(export "([^"]+)"\)`).FindAllStringSubmatch(string(src), -1) {
		watExports = append(watExports, m[1])
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, trapModule())
	if err != nil {
		t.Fatalf("assembled module does not compile: %v", err)
	}
	var got []string
	for n := range cm.ExportedFunctions() {
		got = append(got, n)
	}
	for n := range cm.ExportedMemories() {
		got = append(got, n)
	}
	slices.Sort(got)
	slices.Sort(watExports)
	if !slices.Equal(got, watExports) {
		t.Fatalf("exports: assembled %v, trap.wat %v", got, watExports)
	}
	if err := checkModule(cm, 1); err != nil {
		t.Fatalf("checkModule: %v", err)
	}

	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := mod.ExportedFunction("llmfw_abi_version").Call(ctx)
	if v[0] != 1 {
		t.Errorf("llmfw_abi_version = %d, want 1", v[0])
	}
	alloc := mod.ExportedFunction("llmfw_alloc")
	if p, _ := alloc.Call(ctx, 100); p[0] != 1024 {
		t.Errorf("alloc(100) = %d, want 1024", p[0])
	}
	if p, _ := alloc.Call(ctx, 200_000); p[0] != 1024 || mod.Memory().Size() < 1024+200_000 {
		t.Errorf("alloc(200000) = %d with %d bytes of memory, want 1024 and the memory grown to fit", p[0], mod.Memory().Size())
	}
	if p, _ := alloc.Call(ctx, 0x40000001); p[0] != 0 {
		t.Errorf("alloc(1 GiB + 1) = %d, want 0 (refused)", p[0])
	}
}
