package wasm

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Defaults of a rule's policy keys.
const (
	DefaultMemoryPages = 256                   // 16 MiB: a Go rule needs about 2.5 MiB to start
	DefaultTimeout     = 25 * time.Millisecond // for one message, all its segments; the server budget is 150ms
	DefaultFailures    = 5
	DefaultWindow      = 30 * time.Second
	DefaultOpenFor     = 10 * time.Second
	maxTimeout         = 10 * time.Second
	maxRules           = 64
)

// ruleSpec is one entry of the section's rules list, validated.
type ruleSpec struct {
	Name         string
	Module       []byte // the module's bytes
	Source       string // path or "module_base64", for messages
	MemoryPages  uint32
	Timeout      time.Duration
	FailureBlock bool // on_failure: block (else skip with an alert)
	Breaker      breakerSpec
	Config       []byte // the config as JSON; nil when absent
	Clock        bool
	Random       bool
	Directions   [3]bool // indexed by pipeline.Direction
	Roles        map[pipeline.Role]bool
	Layers       bool // also check payloads decoded out of the text
	PoolSize     int  // idle instances kept; 0 = a fresh instance per call
	MaxInstances int  // instances alive at once
}

type breakerSpec struct {
	Failures  int // 0 disables the breaker
	Window    time.Duration
	OpenFor   time.Duration
	OpenBlock bool // when_open: block (else skip with an alert)
}

var ruleNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,47}$`)

// errAt formats a policy error with the line it is about.
func errAt(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("wasm: line %d: %s", n.Line, fmt.Sprintf(format, args...))
}

// mapping walks a mapping node, rejecting keys not in known and duplicates.
func mapping(n *yaml.Node, what string, known []string, f func(k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, "%s: want a mapping with keys %s", what, strings.Join(known, ", "))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok := false
		for _, kk := range known {
			ok = ok || kk == k.Value
		}
		if !ok {
			return errAt(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(known, ", "))
		}
		if seen[k.Value] {
			return errAt(k, "%s: %s given twice", what, k.Value)
		}
		seen[k.Value] = true
		if err := f(k, v); err != nil {
			return err
		}
	}
	return nil
}

func parseSection(node *yaml.Node) ([]ruleSpec, error) {
	if node != nil && node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node == nil || node.Kind == 0 || (node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		return nil, fmt.Errorf("wasm: no rules: list them under rules (see docs/wasm-rules.md)")
	}
	var rulesNode *yaml.Node
	err := mapping(node, "wasm", []string{"rules"}, func(_, v *yaml.Node) error {
		rulesNode = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rulesNode == nil || rulesNode.Kind != yaml.SequenceNode || len(rulesNode.Content) == 0 {
		return nil, errAt(node, "rules: want a non-empty list of rules")
	}
	if len(rulesNode.Content) > maxRules {
		return nil, errAt(rulesNode, "rules: %d rules, at most %d per policy", len(rulesNode.Content), maxRules)
	}
	var specs []ruleSpec
	names := map[string]int{}
	for _, rn := range rulesNode.Content {
		s, err := parseRule(rn)
		if err != nil {
			return nil, err
		}
		if line, dup := names[s.Name]; dup {
			return nil, errAt(rn, "rule %q is already defined on line %d", s.Name, line)
		}
		names[s.Name] = rn.Line
		specs = append(specs, s)
	}
	return specs, nil
}

var ruleKeys = []string{
	"name", "module", "module_base64", "sha256", "memory_pages", "timeout", "on_failure",
	"breaker", "config", "grants", "directions", "roles", "layers", "pool_size", "max_instances",
}

func parseRule(n *yaml.Node) (ruleSpec, error) {
	s := ruleSpec{
		MemoryPages: DefaultMemoryPages, Timeout: DefaultTimeout, FailureBlock: true,
		Breaker:      breakerSpec{Failures: DefaultFailures, Window: DefaultWindow, OpenFor: DefaultOpenFor},
		Directions:   [3]bool{pipeline.Request: true, pipeline.Response: true},
		Layers:       true,
		PoolSize:     min(runtime.GOMAXPROCS(0), 8),
		MaxInstances: max(4, 2*runtime.GOMAXPROCS(0)),
	}
	var (
		modulePath, moduleB64, pin string
		whenOpen                   *yaml.Node
		sourceNode                 *yaml.Node
	)
	err := mapping(n, "rule", ruleKeys, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "name":
			s.Name = v.Value
			if v.Kind != yaml.ScalarNode || !ruleNameRE.MatchString(s.Name) {
				return errAt(v, "rule name %q: want 1-48 of a-z, 0-9, '_', '-' (it becomes the rule ID wasm.<name>)", v.Value)
			}
		case "module":
			modulePath, err = str(v, "module")
			sourceNode = v
		case "module_base64":
			moduleB64, err = str(v, "module_base64")
			sourceNode = v
		case "sha256":
			pin, err = str(v, "sha256")
			if err == nil {
				if b, herr := hex.DecodeString(pin); herr != nil || len(b) != 32 {
					return errAt(v, "sha256: want 64 hex digits (sha256sum of the module)")
				}
			}
		case "memory_pages":
			var p int
			if p, err = integer(v, "memory_pages"); err == nil && (p < 1 || p > 65536) {
				err = errAt(v, "memory_pages %d: want 1..65536 pages of 64 KiB", p)
			}
			s.MemoryPages = uint32(p)
		case "timeout":
			s.Timeout, err = duration(v, "timeout")
			if err == nil && s.Timeout > maxTimeout {
				err = errAt(v, "timeout %s: at most %s (the rule runs in the request path)", s.Timeout, maxTimeout)
			}
		case "on_failure":
			s.FailureBlock, err = blockOrSkip(v, "on_failure")
		case "breaker":
			err = parseBreaker(v, &s.Breaker, &whenOpen)
		case "config":
			s.Config, err = configJSON(v)
		case "grants":
			err = seq(v, "grants", func(e *yaml.Node) error {
				switch e.Value {
				case "clock":
					s.Clock = true
				case "random":
					s.Random = true
				case "fs", "filesystem", "network", "net", "env":
					return errAt(e, "grants: %q cannot be granted: rules run in the request path with no file system, network or environment; pass data through config", e.Value)
				default:
					return errAt(e, "grants: unknown grant %q (known: clock, random)", e.Value)
				}
				return nil
			})
		case "directions":
			s.Directions = [3]bool{}
			err = seq(v, "directions", func(e *yaml.Node) error {
				switch e.Value {
				case "request":
					s.Directions[pipeline.Request] = true
				case "response":
					s.Directions[pipeline.Response] = true
				default:
					return errAt(e, "directions: %q: want request or response", e.Value)
				}
				return nil
			})
		case "roles":
			s.Roles = map[pipeline.Role]bool{}
			err = seq(v, "roles", func(e *yaml.Node) error {
				switch r := pipeline.Role(e.Value); r {
				case pipeline.RoleSystem, pipeline.RoleUser, pipeline.RoleAssistant, pipeline.RoleTool, pipeline.RoleUnknown:
					s.Roles[r] = true
				default:
					return errAt(e, "roles: %q: want system, user, assistant, tool or unknown", e.Value)
				}
				return nil
			})
		case "layers":
			if v.Kind != yaml.ScalarNode || v.Decode(&s.Layers) != nil {
				err = errAt(v, "layers: want true or false, got %q", v.Value)
			}
		case "pool_size":
			if s.PoolSize, err = integer(v, "pool_size"); err == nil && (s.PoolSize < 0 || s.PoolSize > 1024) {
				err = errAt(v, "pool_size %d: want 0 (a fresh instance per call) to 1024", s.PoolSize)
			}
		case "max_instances":
			if s.MaxInstances, err = integer(v, "max_instances"); err == nil && (s.MaxInstances < 1 || s.MaxInstances > 4096) {
				err = errAt(v, "max_instances %d: want 1..4096", s.MaxInstances)
			}
		}
		return err
	})
	if err != nil {
		return s, err
	}
	if s.Name == "" {
		return s, errAt(n, "rule: name is required")
	}
	if s.Directions == [3]bool{} {
		return s, errAt(n, "rule %q: directions is empty", s.Name)
	}
	if s.Roles != nil && len(s.Roles) == 0 {
		return s, errAt(n, "rule %q: roles is empty", s.Name)
	}
	s.PoolSize = min(s.PoolSize, s.MaxInstances)
	s.Breaker.OpenBlock = s.FailureBlock
	if whenOpen != nil {
		if s.Breaker.OpenBlock, err = blockOrSkip(whenOpen, "breaker.when_open"); err != nil {
			return s, err
		}
	}
	switch {
	case modulePath != "" && moduleB64 != "":
		return s, errAt(sourceNode, "rule %q: give module or module_base64, not both", s.Name)
	case modulePath != "":
		path := modulePath
		if !filepath.IsAbs(path) {
			path = filepath.Join(BaseDir(), path)
		}
		s.Source = modulePath
		if s.Module, err = os.ReadFile(path); err != nil {
			return s, errAt(sourceNode, "rule %q: read module: %v (relative paths are resolved against the policy's directory)", s.Name, err)
		}
	case moduleB64 != "":
		s.Source = "module_base64"
		if s.Module, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(moduleB64), "")); err != nil {
			return s, errAt(sourceNode, "rule %q: module_base64: %v", s.Name, err)
		}
	default:
		return s, errAt(n, "rule %q: module (a .wasm path) or module_base64 is required", s.Name)
	}
	if pin != "" {
		if got := moduleSum(s.Module); hex.EncodeToString(got[:]) != strings.ToLower(pin) {
			return s, errAt(n, "rule %q: module %s has sha256 %x, the policy pins %s", s.Name, s.Source, got, pin)
		}
	}
	return s, nil
}

func parseBreaker(n *yaml.Node, b *breakerSpec, whenOpen **yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "off" {
		b.Failures = 0
		return nil
	}
	return mapping(n, "breaker", []string{"failures", "window", "open_for", "when_open"}, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "failures":
			if b.Failures, err = integer(v, "breaker.failures"); err == nil && (b.Failures < 1 || b.Failures > 10000) {
				err = errAt(v, "breaker.failures %d: want 1..10000 (or breaker: off)", b.Failures)
			}
		case "window":
			b.Window, err = duration(v, "breaker.window")
		case "open_for":
			b.OpenFor, err = duration(v, "breaker.open_for")
		case "when_open":
			*whenOpen = v
		}
		return err
	})
}

func str(v *yaml.Node, key string) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
		return "", errAt(v, "%s: want a string", key)
	}
	return v.Value, nil
}

func integer(v *yaml.Node, key string) (int, error) {
	var n int
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Decode(&n) != nil {
		return 0, errAt(v, "%s: want a whole number, got %q", key, v.Value)
	}
	return n, nil
}

func duration(v *yaml.Node, key string) (time.Duration, error) {
	d, err := time.ParseDuration(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil || d <= 0 {
		return 0, errAt(v, "%s: want a positive duration such as 5ms or 30s, got %q", key, v.Value)
	}
	return d, nil
}

func blockOrSkip(v *yaml.Node, key string) (bool, error) {
	switch v.Value {
	case "block":
		return true, nil
	case "skip":
		return false, nil
	}
	return false, errAt(v, "%s: %q: want block or skip", key, v.Value)
}

func seq(v *yaml.Node, key string, f func(*yaml.Node) error) error {
	if v.Kind != yaml.SequenceNode {
		return errAt(v, "%s: want a list", key)
	}
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode {
			return errAt(e, "%s: want a list of names", key)
		}
		if err := f(e); err != nil {
			return err
		}
	}
	return nil
}

// configJSON turns the rule's config into the JSON the module receives.
func configJSON(v *yaml.Node) ([]byte, error) {
	var x any
	if err := v.Decode(&x); err != nil {
		return nil, errAt(v, "config: %v", err)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, errAt(v, "config: cannot be passed as JSON (keys must be strings): %v", err)
	}
	return b, nil
}
