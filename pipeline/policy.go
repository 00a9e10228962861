package pipeline

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mode says whether a policy acts on its verdicts.
type Mode string

const (
	Enforce Mode = "enforce" // act on verdicts
	Shadow  Mode = "shadow"  // decide and record, then allow
	Off     Mode = "off"     // do not scan
)

// Bounds of a policy's stream_holdback_bytes. The minimum keeps a
// pseudonym token (<ENTITY_N>) whole behind the scan.
const (
	DefaultStreamHoldback = 256
	MinStreamHoldback     = 64
	MaxStreamHoldback     = 64 << 10
)

// Policy is one immutable, validated policy. It is built once by
// LoadPolicySet and shared by every transaction that selects it.
type Policy struct {
	Name    string
	Version string // the policy set's declared version; recorded with every decision
	Digest  string // hash of the policy file's bytes; part of the cache key, so an edit without a version bump cannot serve stale decisions
	Mode    Mode

	BlockStatus      int  // status of a detector block with no status of its own (403)
	FailClosedStatus int  // status for budget, overload, cache and decode failures (503)
	RejectMalformed  bool // malformed JSON on an LLM route → 400 (else scanned as plain text)
	RejectUnscanned  bool // a body Envoy will not send us (body mode NONE) → fail closed
	// AllowTokenPrompts and AllowUnscannedMedia let a body through that
	// carries content no detector can read (token-ID prompts; images,
	// audio, files): counted, never silent. Both default to false: such a
	// body is refused with a 400 naming the field.
	AllowTokenPrompts, AllowUnscannedMedia bool
	// ServerSide is what to do with each kind of server-side content:
	// allow (counted), flag (allowed, with a server_side.<kind> finding
	// in the decision) or refuse (400). Every kind has an action.
	ServerSide map[ServerSideKind]ServerSideAction
	// ToolPin pins each tool's definition the first time a route (and
	// client identity) declares it, and acts when a later request declares
	// the same tool differently (a "rug pull"): off, flag (allowed, rule
	// tools.definition_changed in the decision) or block (403).
	ToolPin ToolPinAction
	// LLMTraffic marks routes that carry only LLM API calls: a request
	// body that is not one of a known API, read as such (an unknown path,
	// a text fallback), is refused (400) instead of scanned as text.
	LLMTraffic bool
	// TrustToolDefinitions reads declared tools' descriptions and schemas
	// (provenance tool_definition) as the application's own system text,
	// which injection and content skip unless they scan system text.
	// Default false (policy tool_definitions: untrusted): they are
	// scanned like tool results, since an MCP server or plugin writes
	// them ("tool poisoning"). Secrets and PII scan them either way.
	TrustToolDefinitions bool
	// StreamHoldback is how many bytes of a streamed answer's text are
	// held back behind the scan: a pattern up to this long is seen whole
	// before any of it is released.
	StreamHoldback int

	// Candidate is a policy evaluated beside this one on the same input
	// without acting (counterfactual shadow): where it would decide
	// differently, the difference is counted per rule and logged.
	Candidate *Policy

	// Canary asks the transport to plant a per-transaction canary in the
	// request's system prompt; the output detector blocks its leak.
	Canary bool

	detectors []configuredDetector
}

type configuredDetector struct {
	Detector
	action    actionSpec
	threshold float64
	// entities overrides the action per entity type or rule ID.
	entities map[string]actionSpec
	// roleThresholds overrides the threshold for findings in segments of
	// a role (tool results may deserve a lower bar than user turns).
	roleThresholds map[Role]float64
}

// thresholdFor is the threshold for a finding whose first span lies in a
// segment of role r ("" when unknown).
func (cd configuredDetector) thresholdFor(r Role) float64 {
	if t, ok := cd.roleThresholds[r]; ok {
		return t
	}
	return cd.threshold
}

// actionSpec is a policy action: pseudonymize is a Redact whose placeholder
// the transport makes reversible.
type actionSpec struct {
	act       Action
	pseudonym bool
}

// actionFor is the action for one finding: its entity's, else its rule's,
// else the detector's.
func (cd configuredDetector) actionFor(f Finding) actionSpec {
	if f.Entity != "" {
		if a, ok := cd.entities[f.Entity]; ok {
			return a
		}
	}
	if a, ok := cd.entities[f.Rule]; ok {
		return a
	}
	return cd.action
}

// Detectors returns the configured detectors in evaluation order.
func (p *Policy) Detectors() []Detector {
	out := make([]Detector, len(p.detectors))
	for i, d := range p.detectors {
		out[i] = d.Detector
	}
	return out
}

// PolicySet is every policy of one loaded file plus the selection rules.
type PolicySet struct {
	Version string
	Digest  string // hash of the source bytes
	Default *Policy
	byName  map[string]*Policy
	routes  []routeRule
}

// Policy returns the named policy, if there is one.
func (s *PolicySet) Policy(name string) (*Policy, bool) {
	p, ok := s.byName[name]
	return p, ok
}

// Names lists the policy names, sorted.
func (s *PolicySet) Names() []string {
	out := make([]string, 0, len(s.byName))
	for k := range s.byName {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Selector carries what a transaction knows that can name its policy, in the
// order they are consulted: gRPC initial metadata (x-llmfw-policy, set per
// route with grpc_initial_metadata), a route-metadata value, the route name.
type Selector struct {
	InitialMetadata string
	RouteMetadata   string
	RouteName       string
	// Host (:authority) and Path (:path) are matched against the policy
	// file's routes list when none of the names above resolves, after
	// NormalizeHost and NormalizePath.
	Host, Path string
}

// routeRule maps requests by host and path prefix to a policy; the first
// matching rule wins.
type routeRule struct {
	host       string // exact, or "*.example.com" for any subdomain; "" for any host
	pathPrefix string // "" for any path
	policy     *Policy
}

func (r routeRule) matches(host, path string) bool {
	if r.host != "" {
		if suffix, ok := strings.CutPrefix(r.host, "*"); ok {
			if !strings.HasSuffix(host, suffix) || len(host) == len(suffix) {
				return false
			}
		} else if host != r.host {
			return false
		}
	}
	return strings.HasPrefix(path, r.pathPrefix)
}

// Select returns the policy for a transaction and whether a selector named
// one that does not exist (the default is used then; callers count it).
func (s *PolicySet) Select(sel Selector) (p *Policy, unknown bool) {
	for _, name := range []string{sel.InitialMetadata, sel.RouteMetadata, sel.RouteName} {
		if name == "" {
			continue
		}
		if p, ok := s.byName[name]; ok {
			return p, false
		}
		// A route name that is not a policy name is ordinary; an explicit
		// policy reference that does not resolve is a misconfiguration.
		if name != sel.RouteName {
			unknown = true
		}
	}
	if len(s.routes) > 0 {
		// Matched on what the upstream routes on, so "API.openai.com.",
		// "//v1/chat" or "/v1/%63hat" do not slip past a rule.
		host, path := NormalizeHost(sel.Host), NormalizePath(sel.Path)
		for _, r := range s.routes {
			if r.matches(host, path) {
				return r.policy, unknown
			}
		}
	}
	return s.Default, unknown
}

//go:embed default_policy.yaml
var defaultPolicyYAML []byte

// DefaultPolicyYAML is the embedded default policy file.
func DefaultPolicyYAML() []byte { return bytes.Clone(defaultPolicyYAML) }

// LoadDefaultPolicySet builds the embedded default policy set.
func LoadDefaultPolicySet() (*PolicySet, error) {
	return ParsePolicySet(defaultPolicyYAML, "embedded default policy")
}

// LoadPolicyFile reads and builds a policy file.
func LoadPolicyFile(path string) (*PolicySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy %q: %w", path, err)
	}
	return ParsePolicySet(b, path)
}

type fileSpec struct {
	Version  string                `yaml:"version"`
	Default  string                `yaml:"default"`
	Policies map[string]policySpec `yaml:"policies"`
	Routes   []yaml.Node           `yaml:"routes"`
}

type routeSpec struct {
	Host       string `yaml:"host"`
	PathPrefix string `yaml:"path_prefix"`
	Policy     string `yaml:"policy"`
}

type policySpec struct {
	Mode             Mode   `yaml:"mode"`
	BlockStatus      int    `yaml:"block_status"`
	FailClosedStatus int    `yaml:"fail_closed_status"`
	Malformed        string `yaml:"malformed"`
	UnscannedBody    string `yaml:"unscanned_body"`
	Canary           bool   `yaml:"canary"`
	// Omitted means false: content we cannot read is refused, never
	// allowed by omission.
	AllowTokenPrompts   bool `yaml:"allow_token_prompts"`
	AllowUnscannedMedia bool `yaml:"allow_unscanned_media"`
	// ServerSide: allow | flag | refuse per kind; omitted kinds take
	// DefaultServerSide.
	ServerSide map[ServerSideKind]string `yaml:"server_side"`
	ToolPin    string                    `yaml:"tool_pin"`
	LLMTraffic bool                      `yaml:"llm_traffic"`
	// ToolDefinitions: untrusted (default) | trusted.
	ToolDefinitions string               `yaml:"tool_definitions"`
	Candidate       string               `yaml:"candidate"`
	StreamHoldback  int                  `yaml:"stream_holdback_bytes"`
	Detectors       map[string]yaml.Node `yaml:"detectors"`
}

// ParsePolicySet builds and validates a policy set from YAML. name is used in
// error messages. Unknown keys are errors, reported with their line.
func ParsePolicySet(src []byte, name string) (*PolicySet, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var spec fileSpec
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	if spec.Version == "" {
		return nil, fmt.Errorf("policy %s: version is required (it is recorded with every decision)", name)
	}
	if len(spec.Policies) == 0 {
		return nil, fmt.Errorf("policy %s: no policies defined", name)
	}
	sum := sha256.Sum256(src)
	digest := hex.EncodeToString(sum[:8])
	set := &PolicySet{Version: spec.Version, Digest: digest, byName: map[string]*Policy{}}
	var errs []error
	for pname, ps := range spec.Policies {
		p, err := buildPolicy(pname, spec.Version, ps)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Digest = digest
		set.byName[pname] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	def := spec.Default
	if def == "" {
		def = "default"
	}
	p, ok := set.byName[def]
	if !ok {
		return nil, fmt.Errorf("policy %s: default policy %q is not defined (have %v)", name, def, set.Names())
	}
	set.Default = p
	for pname, ps := range spec.Policies {
		if ps.Candidate == "" {
			continue
		}
		c, ok := set.byName[ps.Candidate]
		switch {
		case !ok:
			return nil, fmt.Errorf("policy %s: policy %q: candidate %q is not defined (have %v)", name, pname, ps.Candidate, set.Names())
		case ps.Candidate == pname:
			return nil, fmt.Errorf("policy %s: policy %q: a policy cannot be its own candidate", name, pname)
		case spec.Policies[ps.Candidate].Candidate != "":
			return nil, fmt.Errorf("policy %s: policy %q: candidate %q has a candidate of its own; candidates do not chain", name, pname, ps.Candidate)
		}
		set.byName[pname].Candidate = c
	}
	for _, n := range spec.Routes {
		var rs routeSpec
		if err := n.Decode(&rs); err != nil {
			return nil, fmt.Errorf("policy %s: routes: line %d: %w", name, n.Line, err)
		}
		if err := checkKeys(&n, "host", "path_prefix", "policy"); err != nil {
			return nil, fmt.Errorf("policy %s: routes: %w", name, err)
		}
		rp, ok := set.byName[rs.Policy]
		if !ok {
			return nil, fmt.Errorf("policy %s: routes: line %d: policy %q is not defined (have %v)", name, n.Line, rs.Policy, set.Names())
		}
		if rs.Host == "" && rs.PathPrefix == "" {
			return nil, fmt.Errorf("policy %s: routes: line %d: give host, path_prefix or both", name, n.Line)
		}
		if rs.PathPrefix != "" && !strings.HasPrefix(rs.PathPrefix, "/") {
			return nil, fmt.Errorf("policy %s: routes: line %d: path_prefix %q must start with /", name, n.Line, rs.PathPrefix)
		}
		set.routes = append(set.routes, routeRule{host: strings.TrimRight(strings.ToLower(rs.Host), "."), pathPrefix: rs.PathPrefix, policy: rp})
	}
	return set, nil
}

// checkKeys rejects mapping keys outside known, with their line.
func checkKeys(n *yaml.Node, known ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			return fmt.Errorf("line %d: unknown key %q (known: %v)", k.Line, k.Value, known)
		}
	}
	return nil
}

func buildPolicy(name, version string, ps policySpec) (*Policy, error) {
	p := &Policy{
		Name: name, Version: version, Mode: ps.Mode,
		BlockStatus: ps.BlockStatus, FailClosedStatus: ps.FailClosedStatus,
		RejectMalformed: true, RejectUnscanned: true, Canary: ps.Canary,
		AllowTokenPrompts: ps.AllowTokenPrompts, AllowUnscannedMedia: ps.AllowUnscannedMedia,
		ServerSide:     maps.Clone(DefaultServerSide),
		LLMTraffic:     ps.LLMTraffic,
		StreamHoldback: ps.StreamHoldback,
	}
	switch ps.ToolDefinitions {
	case "", "untrusted":
	case "trusted":
		p.TrustToolDefinitions = true
	default:
		return nil, fmt.Errorf("policy %q: tool_definitions %q: want untrusted or trusted", name, ps.ToolDefinitions)
	}
	switch {
	case p.StreamHoldback == 0:
		p.StreamHoldback = DefaultStreamHoldback
	case p.StreamHoldback < MinStreamHoldback || p.StreamHoldback > MaxStreamHoldback:
		return nil, fmt.Errorf("policy %q: stream_holdback_bytes %d: want %d to %d", name, p.StreamHoldback, MinStreamHoldback, MaxStreamHoldback)
	}
	if p.Mode == "" {
		p.Mode = Enforce
	}
	switch p.Mode {
	case Enforce, Shadow, Off:
	default:
		return nil, fmt.Errorf("policy %q: mode %q: want enforce, shadow or off", name, ps.Mode)
	}
	if p.BlockStatus == 0 {
		p.BlockStatus = 403
	}
	if p.FailClosedStatus == 0 {
		p.FailClosedStatus = 503
	}
	if p.BlockStatus < 400 || p.BlockStatus > 599 {
		return nil, fmt.Errorf("policy %q: block_status %d: want a 4xx or 5xx status", name, p.BlockStatus)
	}
	if p.FailClosedStatus < 400 || p.FailClosedStatus > 599 {
		return nil, fmt.Errorf("policy %q: fail_closed_status %d: want a 4xx or 5xx status", name, p.FailClosedStatus)
	}
	if p.Canary {
		if _, listed := ps.Detectors["output"]; !listed {
			return nil, fmt.Errorf("policy %q: canary: true needs the output detector in the policy (it is what blocks a leaked canary)", name)
		}
	}
	switch a := ToolPinAction(ps.ToolPin); a {
	case "", ToolPinOff:
		p.ToolPin = ToolPinOff
	case ToolPinFlag, ToolPinBlock:
		p.ToolPin = a
	default:
		return nil, fmt.Errorf("policy %q: tool_pin: %q: want off, flag or block", name, ps.ToolPin)
	}
	for kind, act := range ps.ServerSide {
		if _, known := DefaultServerSide[kind]; !known {
			return nil, fmt.Errorf("policy %q: server_side: unknown kind %q (want hosted_tool, remote_mcp, stored_state or websocket)", name, kind)
		}
		switch a := ServerSideAction(act); a {
		case ServerAllow, ServerFlag, ServerRefuse:
			p.ServerSide[kind] = a
		default:
			return nil, fmt.Errorf("policy %q: server_side.%s: %q: want allow, flag or refuse", name, kind, act)
		}
	}
	var err error
	if p.RejectMalformed, err = blockOrAllow(name, "malformed", ps.Malformed); err != nil {
		return nil, err
	}
	if p.RejectUnscanned, err = blockOrAllow(name, "unscanned_body", ps.UnscannedBody); err != nil {
		return nil, err
	}

	families := make([]string, 0, len(ps.Detectors))
	for f := range ps.Detectors {
		families = append(families, f)
	}
	sort.Strings(families) // deterministic evaluation order
	for _, fam := range families {
		node := ps.Detectors[fam]
		d, err := buildDetector(name, fam, &node)
		if err != nil {
			return nil, err
		}
		p.detectors = append(p.detectors, d)
	}
	return p, nil
}

func blockOrAllow(policy, key, v string) (bool, error) {
	switch v {
	case "", "block":
		return true, nil
	case "allow":
		return false, nil
	}
	return false, fmt.Errorf("policy %q: %s %q: want block or allow", policy, key, v)
}

// buildDetector takes the policy-level keys (action, threshold) out of a
// detector section and hands the rest to the family's factory.
func buildDetector(policy, family string, node *yaml.Node) (configuredDetector, error) {
	cd := configuredDetector{action: actionSpec{act: Block}, threshold: 0.5}
	f, ok := factory(family)
	if !ok {
		return cd, fmt.Errorf("policy %q: line %d: unknown detector %q (known: %v)", policy, node.Line, family, Families())
	}
	var rest *yaml.Node
	switch node.Kind {
	case 0:
	case yaml.ScalarNode:
		if node.Tag != "!!null" {
			return cd, fmt.Errorf("policy %q: line %d: detector %q: want a mapping of options", policy, node.Line, family)
		}
	case yaml.MappingNode:
		rest = &yaml.Node{Kind: yaml.MappingNode, Tag: node.Tag, Line: node.Line, Column: node.Column}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			switch k.Value {
			case "action":
				a, err := parseActionNode(policy, family, v)
				if err != nil {
					return cd, err
				}
				cd.action = a
			case "threshold":
				if err := v.Decode(&cd.threshold); err != nil || cd.threshold < 0 || cd.threshold > 1 {
					return cd, fmt.Errorf("policy %q: line %d: detector %q: threshold %q: want a number in [0, 1]", policy, v.Line, family, v.Value)
				}
			case "role_thresholds":
				if v.Kind != yaml.MappingNode {
					return cd, fmt.Errorf("policy %q: line %d: detector %q: role_thresholds: want a mapping of role to threshold", policy, v.Line, family)
				}
				cd.roleThresholds = map[Role]float64{}
				for j := 0; j+1 < len(v.Content); j += 2 {
					rk, rv := v.Content[j], v.Content[j+1]
					r := Role(rk.Value)
					switch r {
					case RoleSystem, RoleUser, RoleAssistant, RoleTool, RoleUnknown:
					default:
						return cd, fmt.Errorf("policy %q: line %d: detector %q: role_thresholds: role %q: want system, user, assistant, tool or unknown", policy, rk.Line, family, rk.Value)
					}
					var t float64
					if err := rv.Decode(&t); err != nil || t < 0 || t > 1 {
						return cd, fmt.Errorf("policy %q: line %d: detector %q: role_thresholds: %s: %q: want a number in [0, 1]", policy, rv.Line, family, rk.Value, rv.Value)
					}
					cd.roleThresholds[r] = t
				}
			case "entities":
				if v.Kind != yaml.MappingNode {
					return cd, fmt.Errorf("policy %q: line %d: detector %q: entities: want a mapping of entity type (or rule ID) to action", policy, v.Line, family)
				}
				cd.entities = map[string]actionSpec{}
				for j := 0; j+1 < len(v.Content); j += 2 {
					ek, ev := v.Content[j], v.Content[j+1]
					if ek.Value == "" {
						return cd, fmt.Errorf("policy %q: line %d: detector %q: entities: empty entity name", policy, ek.Line, family)
					}
					if _, dup := cd.entities[ek.Value]; dup {
						return cd, fmt.Errorf("policy %q: line %d: detector %q: entities: %q listed twice", policy, ek.Line, family, ek.Value)
					}
					a, err := parseActionNode(policy, family, ev)
					if err != nil {
						return cd, err
					}
					cd.entities[ek.Value] = a
				}
			default:
				rest.Content = append(rest.Content, k, v)
			}
		}
	default:
		return cd, fmt.Errorf("policy %q: line %d: detector %q: want a mapping of options", policy, node.Line, family)
	}
	d, err := f(rest)
	if err != nil {
		return cd, fmt.Errorf("policy %q: detector %q: %w", policy, family, err)
	}
	cd.Detector = d
	return cd, nil
}

func parseActionNode(policy, family string, v *yaml.Node) (actionSpec, error) {
	a, pseudo, ok := parseActionSpec(v.Value)
	if !ok || v.Kind != yaml.ScalarNode {
		return actionSpec{}, fmt.Errorf("policy %q: line %d: detector %q: action %q: want block, redact, pseudonymize or log", policy, v.Line, family, v.Value)
	}
	return actionSpec{act: a, pseudonym: pseudo}, nil
}

// ServerSideAction is what a policy does with server-side content.
type ServerSideAction string

// The actions on server-side content.
const (
	ServerAllow  ServerSideAction = "allow"  // pass, counted
	ServerFlag   ServerSideAction = "flag"   // pass, with a server_side.<kind> finding in the decision
	ServerRefuse ServerSideAction = "refuse" // 400 naming the field
)

// DefaultServerSide is the action for a kind a policy does not name:
// remote MCP servers and WebSocket upgrades are refused (their content
// reaches the model, or the client, with no scan at all); hosted tools and
// stored state are flagged.
var DefaultServerSide = map[ServerSideKind]ServerSideAction{
	ServerHostedTool: ServerFlag, ServerRemoteMCP: ServerRefuse, ServerStoredState: ServerFlag, ServerWebSocket: ServerRefuse,
}

// ToolPinAction is what a policy does when a pinned tool definition
// changes.
type ToolPinAction string

// The tool-pin actions.
const (
	ToolPinOff   ToolPinAction = "off"
	ToolPinFlag  ToolPinAction = "flag"
	ToolPinBlock ToolPinAction = "block"
)

// RuleToolDefinitionChanged is the finding of a pinned tool declared
// differently.
const RuleToolDefinitionChanged = "tools.definition_changed"
