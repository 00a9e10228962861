package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/llm-firewall/llm-firewall/detectors/wasm"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// policyLoadMu serializes policy builds: relative paths inside a policy
// file (WASM modules) resolve against the file's directory, which the wasm
// family takes as a process-wide setting during the build.
var policyLoadMu sync.Mutex

// parsePolicyFile builds the policy set in src, read from path.
func parsePolicyFile(src []byte, path string) (*pipeline.PolicySet, error) {
	policyLoadMu.Lock()
	defer policyLoadMu.Unlock()
	wasm.SetBaseDir(filepath.Dir(path))
	return pipeline.ParsePolicySet(src, path)
}

// loadPolicyFile reads and builds a policy file.
func loadPolicyFile(path string) (*pipeline.PolicySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy %q: %w", path, err)
	}
	return parsePolicyFile(b, path)
}
