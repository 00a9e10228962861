//go:build race

package wasm

import "github.com/tetratelabs/wazero"

// Under the race detector wazero's compiler is itself instrumented and takes
// 10-20 s to compile one Go rule; the interpreter enforces the same limits,
// traps and deadlines. Tests without -race cover the compiler.
func init() { engineConfig = wazero.NewRuntimeConfigInterpreter }
