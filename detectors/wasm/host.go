package wasm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/llm-firewall/llm-firewall/detectors/wasm/abi"
)

var baseDir atomic.Pointer[string]

// engineConfig picks wazero's engine: the compiler where wazero has one
// (amd64, arm64), else its interpreter. Tests under the race detector use the
// interpreter: a race-instrumented compiler needs 10-20 s per Go rule.
var engineConfig = wazero.NewRuntimeConfig

// SetBaseDir sets the directory that relative module paths in a policy are
// resolved against; the server sets it to the policy file's directory before
// each load. The default is the process's working directory.
func SetBaseDir(dir string) {
	if dir != "" {
		dir = filepath.Clean(dir)
	}
	baseDir.Store(&dir)
}

// BaseDir returns the directory relative module paths are resolved against.
func BaseDir() string {
	if p := baseDir.Load(); p != nil && *p != "" {
		return *p
	}
	return "."
}

// host owns what is shared by every rule of every policy: one wazero runtime
// per memory limit (the limit is a runtime setting), one compilation cache
// behind them all, and the compiled modules keyed by content hash, so a
// policy reload that keeps a module's bytes reuses its compiled code.
type host struct {
	mu       sync.Mutex
	cache    wazero.CompilationCache
	runtimes map[uint32]wazero.Runtime
	modules  map[moduleKey]*compiled
}

var shared = &host{
	cache:    wazero.NewCompilationCache(),
	runtimes: map[uint32]wazero.Runtime{},
	modules:  map[moduleKey]*compiled{},
}

type moduleKey struct {
	sum   [32]byte
	pages uint32
}

// compiled is a compiled module shared by the rules that load the same bytes
// with the same memory limit; it is closed when the last of them goes.
type compiled struct {
	key   moduleKey
	rt    wazero.Runtime
	cm    wazero.CompiledModule
	ready chan struct{}
	err   error
	refs  int
	idle  *time.Timer // closes it compiledLinger after the last release
}

// compiledLinger keeps a compiled module that no rule uses for a while: a
// reload that drops the old policy before building the new one, or flips
// back, does not pay for compiling again (about a second for a Go rule).
var compiledLinger = time.Minute

func moduleSum(b []byte) [32]byte { return sha256.Sum256(b) }

// runtime returns the runtime for a memory limit, creating it on first use.
// Runtimes live as long as the process: there are as many as distinct
// memory_pages values, and each costs little more than its WASI host module.
func (h *host) runtime(pages uint32) (wazero.Runtime, error) {
	if rt, ok := h.runtimes[pages]; ok {
		return rt, nil
	}
	ctx := context.Background()
	cfg := engineConfig().
		WithCompilationCache(h.cache).
		WithCloseOnContextDone(true). // the per-call deadline interrupts running code
		WithMemoryLimitPages(pages)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	h.runtimes[pages] = rt
	return rt, nil
}

// acquire returns the compiled module for b under a memory limit, compiling
// it once however many rules and reloads ask for it.
func (h *host) acquire(b []byte, pages uint32) (*compiled, error) {
	key := moduleKey{moduleSum(b), pages}
	h.mu.Lock()
	if c, ok := h.modules[key]; ok {
		c.refs++
		if c.idle != nil {
			c.idle.Stop() // if it already fired, it will find refs > 0
			c.idle = nil
		}
		h.mu.Unlock()
		<-c.ready
		if c.err != nil {
			h.release(c)
			return nil, c.err
		}
		return c, nil
	}
	rt, err := h.runtime(pages)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	c := &compiled{key: key, rt: rt, ready: make(chan struct{}), refs: 1}
	h.modules[key] = c
	h.mu.Unlock()

	c.cm, c.err = rt.CompileModule(context.Background(), b)
	if c.err != nil {
		hint := ""
		if strings.Contains(c.err.Error(), "over limit") {
			hint = ": raise memory_pages"
		}
		c.err = fmt.Errorf("compile: %w%s", c.err, hint)
	}
	close(c.ready)
	if c.err != nil {
		h.release(c)
		return nil, c.err
	}
	return c, nil
}

func (h *host) release(c *compiled) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.refs--
	if c.refs > 0 {
		return
	}
	if c.err != nil || compiledLinger <= 0 {
		h.drop(c)
		return
	}
	c.idle = time.AfterFunc(compiledLinger, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if c.refs == 0 {
			h.drop(c)
		}
	})
}

// drop forgets and closes an unused compiled module; h.mu is held.
func (h *host) drop(c *compiled) {
	if h.modules[c.key] == c {
		delete(h.modules, c.key)
	}
	if c.cm != nil {
		_ = c.cm.Close(context.Background())
		c.cm = nil
	}
}

// compiledModules reports how many compiled modules are held (for tests).
func (h *host) compiledModules() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.modules)
}

// checkModule enforces ABI version 1's shape before anything runs: the
// exports with their signatures, WASI as the only import, and a memory that
// fits the limit.
func checkModule(cm wazero.CompiledModule, pages uint32) error {
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != wasi_snapshot_preview1.ModuleName {
			return fmt.Errorf("imports %s.%s: a rule may import only %s (see docs/wasm-rules.md)", mod, name, wasi_snapshot_preview1.ModuleName)
		}
	}
	if len(cm.ImportedMemories()) > 0 {
		return errors.New("imports its memory: a rule must define and export its own memory")
	}
	mems := cm.ExportedMemories()
	mem, ok := mems[abi.ExportMemory]
	if !ok {
		return fmt.Errorf("does not export its memory as %q", abi.ExportMemory)
	}
	if mem.Min() > pages {
		return fmt.Errorf("needs at least %d memory pages to start, the rule allows %d: raise memory_pages", mem.Min(), pages)
	}
	fns := cm.ExportedFunctions()
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []struct {
		name            string
		params, results []api.ValueType
		optional        bool
	}{
		{abi.ExportVersion, nil, []api.ValueType{i32}, false},
		{abi.ExportAlloc, []api.ValueType{i32}, []api.ValueType{i32}, false},
		{abi.ExportDetect, []api.ValueType{i32, i32}, []api.ValueType{i64}, false},
		{abi.ExportConfigure, []api.ValueType{i32, i32}, []api.ValueType{i64}, true},
	}
	for _, w := range want {
		f, ok := fns[w.name]
		if !ok {
			if w.optional {
				continue
			}
			if _, cmd := fns["_start"]; cmd {
				return fmt.Errorf("is a WASI command (exports _start) without %s: build a reactor (Go: go build -buildmode=c-shared)", w.name)
			}
			return fmt.Errorf("does not export %s (ABI version %d)", w.name, abi.Version)
		}
		if !sameTypes(f.ParamTypes(), w.params) || !sameTypes(f.ResultTypes(), w.results) {
			return fmt.Errorf("exports %s with the wrong signature %v -> %v", w.name, f.ParamTypes(), f.ResultTypes())
		}
	}
	if _, cmd := fns["_start"]; cmd {
		if _, reactor := fns["_initialize"]; !reactor {
			return errors.New("is a WASI command (exports _start): build a reactor (Go: go build -buildmode=c-shared); _start would run main and exit")
		}
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pool keeps a rule's idle instances. An instance serves one call at a time;
// one that failed in any way is closed, never reused.
type pool struct {
	c            *compiled
	modCfg       wazero.ModuleConfig
	config       []byte // JSON handed to llmfw_configure; nil when absent
	hasConfigure bool
	reuse        bool // pool_size > 0; else a fresh instance per call
	pages        uint32
	rule         string // for metrics
	idle         chan *instance
	slots        chan struct{} // one token per live instance
	closed       atomic.Bool
	closeOnce    sync.Once
}

type instance struct {
	mod    api.Module
	mem    api.Memory
	alloc  api.Function
	detect api.Function
	stack  [2]uint64
}

// instantiateGuard bounds creating an instance (module start, _initialize,
// llmfw_configure) when the caller's context has no deadline.
const instantiateGuard = 5 * time.Second

var errClosed = errors.New("rule unloaded")

func newPool(c *compiled, s *ruleSpec, rule string) *pool {
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: the same module is instantiated many times
		WithStartFunctions("_initialize")
	// No args, env, stdin, stdout, stderr or file system: wazero's defaults.
	// Without a grant, clocks are fake (they advance 1ms per reading),
	// sleeping returns at once and randomness is deterministic.
	if s.Clock {
		cfg = cfg.WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	}
	if s.Random {
		cfg = cfg.WithRandSource(rand.Reader)
	}
	_, hasConfigure := c.cm.ExportedFunctions()[abi.ExportConfigure]
	size := max(s.PoolSize, 1)
	return &pool{
		c: c, modCfg: cfg, config: s.Config, hasConfigure: hasConfigure, reuse: s.PoolSize > 0,
		pages: s.MemoryPages, rule: rule,
		idle:  make(chan *instance, size),
		slots: make(chan struct{}, s.MaxInstances),
	}
}

// get returns an idle instance or makes one; it waits, bounded by ctx, when
// max_instances are busy.
func (p *pool) get(ctx context.Context) (*instance, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.closed.Load() {
		<-p.slots
		return nil, errClosed
	}
	select {
	case in := <-p.idle:
		return in, nil
	default:
	}
	in, err := p.instantiate(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return in, nil
}

// put gives an instance back: kept when healthy and there is room (and the
// pool reuses instances), closed otherwise.
func (p *pool) put(in *instance, healthy bool) {
	defer func() { <-p.slots }()
	if healthy && p.reuse && !p.closed.Load() {
		select {
		case p.idle <- in:
			if p.closed.Load() { // raced with close: drain what we just added
				p.drain()
			}
			return
		default:
		}
	}
	p.discard(in)
}

func (p *pool) discard(in *instance) {
	_ = in.mod.Close(context.Background())
	metrics.instances.WithLabelValues(p.rule).Dec()
}

func (p *pool) drain() {
	for {
		select {
		case in := <-p.idle:
			p.discard(in)
		default:
			return
		}
	}
}

func (p *pool) close() {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.drain()
		shared.release(p.c)
	})
}

func (p *pool) instantiate(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, instantiateGuard)
	defer cancel()
	mod, err := p.c.rt.InstantiateModule(ctx, p.c.cm, p.modCfg)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	metrics.instances.WithLabelValues(p.rule).Inc()
	in := &instance{
		mod:    mod,
		mem:    mod.Memory(),
		alloc:  mod.ExportedFunction(abi.ExportAlloc),
		detect: mod.ExportedFunction(abi.ExportDetect),
	}
	fail := func(err error) (*instance, error) {
		p.discard(in)
		return nil, err
	}
	v, err := mod.ExportedFunction(abi.ExportVersion).Call(ctx)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", abi.ExportVersion, err))
	}
	if uint32(v[0]) != abi.Version {
		return fail(fmt.Errorf("speaks ABI version %d; this firewall speaks %d", uint32(v[0]), abi.Version))
	}
	if p.config != nil {
		if !p.hasConfigure {
			return fail(fmt.Errorf("takes no config (it does not export %s)", abi.ExportConfigure))
		}
		if err := in.configure(ctx, p.config); err != nil {
			return fail(err)
		}
	}
	return in, nil
}

// write copies b into memory the module allocated for it.
func (in *instance) write(ctx context.Context, n int) (uint32, []byte, error) {
	in.stack[0] = uint64(n)
	if err := in.alloc.CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, nil, err
	}
	ptr := uint32(in.stack[0])
	if ptr == 0 {
		return 0, nil, errAllocRefused
	}
	buf, ok := in.mem.Read(ptr, uint32(n))
	if !ok {
		return 0, nil, fmt.Errorf("%w: %s returned %d bytes at %#x, outside its memory", errABI, abi.ExportAlloc, n, ptr)
	}
	return ptr, buf, nil
}

var (
	errAllocRefused = errors.New("llmfw_alloc returned 0")
	errABI          = errors.New("ABI violation")
)

func (in *instance) configure(ctx context.Context, cfg []byte) error {
	ptr, buf, err := in.write(ctx, len(cfg))
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	copy(buf, cfg)
	res, err := in.mod.ExportedFunction(abi.ExportConfigure).Call(ctx, uint64(ptr), uint64(len(cfg)))
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	if res[0] == 0 {
		return nil
	}
	mptr, mlen := abi.Unpack(res[0])
	msg, _ := in.mem.Read(mptr, min(mlen, 256))
	return fmt.Errorf("rejected its config: %q", msg)
}

// call runs llmfw_detect on one request. The verdict is nil when the module
// has nothing to report.
func (in *instance) call(ctx context.Context, req *abi.Request) (*abi.Verdict, error) {
	n := req.RequestLen()
	ptr, buf, err := in.write(ctx, n)
	if err != nil {
		return nil, err
	}
	abi.PutRequest(buf, req)
	in.stack[0], in.stack[1] = uint64(ptr), uint64(n)
	if err := in.detect.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, err
	}
	if in.stack[0] == 0 {
		return nil, nil
	}
	optr, olen := abi.Unpack(in.stack[0])
	out, ok := in.mem.Read(optr, olen)
	if !ok {
		return nil, fmt.Errorf("%w: verdict at %#x+%d is outside the module's memory", errABI, optr, olen)
	}
	v, err := abi.DecodeVerdict(out, len(req.Text))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errABI, err)
	}
	return &v, nil
}
