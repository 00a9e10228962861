package pipeline_test

import (
	"os"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// FuzzParsePolicySet: any bytes give a policy set or an error, never a
// panic, and a set that loads always has a default policy.
func FuzzParsePolicySet(f *testing.F) {
	f.Add(pipeline.DefaultPolicyYAML())
	if b, err := os.ReadFile("testdata/fuzz_seed_policy.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("version: x\npolicies: {p: {detectors: {limits: {entities: {A: block}, role_thresholds: {tool: 0.1}}}}}\ndefault: p\nroutes: [{host: '*.a', policy: p}]\n"))
	f.Add([]byte("version: 1\npolicies:\n  p:\n    candidate: p\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		ps, err := pipeline.ParsePolicySet(src, "fuzz")
		if err != nil {
			return
		}
		if ps.Default == nil {
			t.Fatal("a loaded policy set without a default")
		}
	})
}
