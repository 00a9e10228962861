package wasm

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestConfigErrors(t *testing.T) {
	buildExamples(t)
	src, err := os.ReadFile("testdata/config_errors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Cases []struct {
			Name    string `yaml:"name"`
			Section string `yaml:"section"`
			Error   string `yaml:"error"`
		} `yaml:"cases"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(src)))
	dec.KnownFields(true)
	if err := dec.Decode(&table); err != nil || len(table.Cases) == 0 {
		t.Fatalf("testdata/config_errors.yaml: %v (%d cases)", err, len(table.Cases))
	}
	for _, tc := range table.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := newFromYAML(tc.Section)
			if err == nil {
				t.Fatalf("accepted; want an error mentioning %q", tc.Error)
			}
			if !strings.Contains(err.Error(), tc.Error) {
				t.Fatalf("error %q, want it to mention %q", err, tc.Error)
			}
		})
	}
}

func TestConfigDefaultsAndInlineModule(t *testing.T) {
	buildExamples(t)
	section := "rules:\n  - name: inline\n    module_base64: " + base64.StdEncoding.EncodeToString(trapModule()) + "\n"
	d := newDetector(t, section)
	s := d.rules[0].spec
	if s.MemoryPages != DefaultMemoryPages || s.Timeout != DefaultTimeout || !s.FailureBlock ||
		s.Breaker.Failures != DefaultFailures || s.Breaker.Window != DefaultWindow ||
		s.Breaker.OpenFor != DefaultOpenFor || !s.Breaker.OpenBlock || s.Clock || s.Random ||
		s.Roles != nil || s.Config != nil {
		t.Fatalf("defaults: %+v", s)
	}
	if fs := detect(t, d, request("boom")); len(fs) != 1 || fs[0].Rule != "wasm.inline.failure" {
		t.Fatalf("inline module: findings %v", rules(fs))
	}
}

// when_open follows on_failure unless given: a rule the operator lets fail
// open also stays open-for-traffic when its breaker trips.
func TestWhenOpenDefaultsToOnFailure(t *testing.T) {
	buildExamples(t)
	d := newDetector(t, "rules:\n  - {name: w, module: trap.wasm, on_failure: skip}\n")
	if d.rules[0].spec.Breaker.OpenBlock {
		t.Fatal("on_failure skip: when_open defaulted to block")
	}
}
