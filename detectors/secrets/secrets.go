package secrets

import (
	"context"
	"fmt"
	"math"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Family is the detector family name used in policies and findings.
const Family = "secrets"

// RulePrefix starts every rule ID of this family; the rest is gitleaks' ID.
const RulePrefix = Family + "."

func init() { pipeline.Register(Family, New) }

// Rule describes one rule for docs and scan output.
type Rule struct {
	ID          string // "secrets.<gitleaks id>"
	Entity      string
	Tier        string // format, context or generic: how much the shape alone tells
	Description string // gitleaks' description
}

// Rules lists the family's rules in gitleaks' order.
func Rules() ([]Rule, error) {
	rs, err := defaultRules()
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(rs.rules))
	for _, r := range rs.rules {
		out = append(out, Rule{ID: r.ruleID, Entity: r.entity, Tier: r.tier.String(), Description: r.description})
	}
	return out, nil
}

// Excluded lists gitleaks' default rules this family cannot run (they need a
// file path), by gitleaks ID, with the reason.
func Excluded() (map[string]string, error) {
	rs, err := defaultRules()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rs.excluded))
	for k, v := range rs.excluded {
		out[k] = v
	}
	return out, nil
}

// config is the family's policy section (action, threshold and entities are
// taken out by the pipeline before the factory sees it).
type config struct {
	Rules      []string `yaml:"rules"`       // run only these (gitleaks IDs, with or without "secrets.")
	Disable    []string `yaml:"disable"`     // run all but these
	MinEntropy *float64 `yaml:"min_entropy"` // Shannon entropy a generic rule's secret must exceed
}

var knownKeys = map[string]bool{"rules": true, "disable": true, "min_entropy": true}

// Detector finds secrets for one policy. It is immutable after New and safe
// for concurrent use; the compiled rules are shared by every policy.
type Detector struct {
	rs      *ruleSet
	enabled ruleMask
	// entropy[i] is rule i's entropy floor (gitleaks' value, or min_entropy
	// for generic rules when the policy sets it).
	entropy []float64
}

var _ pipeline.Detector = (*Detector)(nil)

// New builds the detector from its policy section; a nil or empty node runs
// every rule with gitleaks' entropy floors. Unknown keys and unknown rule IDs
// are errors.
func New(node *yaml.Node) (pipeline.Detector, error) {
	rs, err := defaultRules()
	if err != nil {
		return nil, err
	}
	cfg, err := parse(node)
	if err != nil {
		return nil, err
	}
	return newDetector(rs, cfg)
}

func newDetector(rs *ruleSet, cfg config) (*Detector, error) {
	d := &Detector{rs: rs, entropy: make([]float64, len(rs.rules))}
	resolve := func(key, id string) (int, error) {
		id = strings.TrimPrefix(strings.TrimSpace(id), RulePrefix)
		if i, ok := rs.byID[id]; ok {
			return i, nil
		}
		if why, ok := rs.excluded[id]; ok {
			return 0, fmt.Errorf("secrets: %s: rule %q is not available here (%s)", key, id, why)
		}
		return 0, fmt.Errorf("secrets: %s: unknown rule %q; rule IDs are gitleaks %s IDs such as aws-access-token (see detectors/secrets/README.md)", key, id, GitleaksVersion)
	}
	if cfg.Rules == nil {
		for i := range rs.rules {
			d.enabled.set(i)
		}
	} else {
		for _, id := range cfg.Rules {
			i, err := resolve("rules", id)
			if err != nil {
				return nil, err
			}
			d.enabled.set(i)
		}
	}
	for _, id := range cfg.Disable {
		i, err := resolve("disable", id)
		if err != nil {
			return nil, err
		}
		d.enabled[i>>6] &^= 1 << (uint(i) & 63)
	}
	for i, r := range rs.rules {
		d.entropy[i] = r.entropy
		if r.generic && cfg.MinEntropy != nil {
			d.entropy[i] = *cfg.MinEntropy
		}
	}
	return d, nil
}

func parse(node *yaml.Node) (config, error) {
	var cfg config
	if node != nil && node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node == nil || node.Kind == 0 || (node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		return cfg, nil
	}
	if node.Kind != yaml.MappingNode {
		return cfg, fmt.Errorf("secrets: line %d: want a mapping of options such as disable: [generic-api-key]", node.Line)
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if !knownKeys[k.Value] {
			return cfg, fmt.Errorf("secrets: line %d: unknown key %q (known: rules, disable, min_entropy)", k.Line, k.Value)
		}
		switch k.Value {
		case "rules", "disable":
			if v.Kind != yaml.SequenceNode {
				return cfg, fmt.Errorf("secrets: line %d: %s: want a list of rule IDs such as [aws-access-token, github-pat]", v.Line, k.Value)
			}
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode || item.Tag != "!!str" || strings.TrimSpace(item.Value) == "" {
					return cfg, fmt.Errorf("secrets: line %d: %s: want rule IDs as strings", item.Line, k.Value)
				}
			}
		case "min_entropy":
			var f float64
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Decode(&f) != nil || math.IsNaN(f) || f < 0 || f > 8 {
				return cfg, fmt.Errorf("secrets: line %d: min_entropy: want a number of bits per character in [0, 8] (gitleaks uses 3.5), got %q", v.Line, v.Value)
			}
		}
	}
	// Every key is known; Decode also rejects duplicate keys.
	if err := node.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("secrets: %w", err)
	}
	if cfg.Rules != nil && len(cfg.Rules) == 0 {
		return cfg, fmt.Errorf("secrets: line %d: rules is empty, which would turn the family off; remove the detector instead", node.Line)
	}
	return cfg, nil
}

// Family implements pipeline.Detector.
func (d *Detector) Family() string { return Family }

// Detect implements pipeline.Detector. It reads the segments' original text
// (secrets are case-sensitive; the normalized views are lower-cased) and
// allocates only for what it finds.
func (d *Detector) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	var out []pipeline.Finding
	sc := getScratch(d.rs)
	defer putScratch(sc)
	for i := range in.Segments {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		text := in.Segments[i].Text
		if len(text) < minSecretLen {
			continue
		}
		if err := d.scanText(ctx, text, sc); err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		for _, c := range sc.cands {
			if c.dropped {
				continue
			}
			r := d.rs.rules[c.rule]
			out = append(out, pipeline.Finding{
				Rule:   r.ruleID,
				Family: Family,
				Score:  c.score,
				Spans:  []pipeline.Span{{Segment: i, Start: c.start, End: c.end}},
				Entity: r.entity,
			})
		}
	}
	return out, nil
}

// minSecretLen skips texts shorter than the shortest secret any rule finds
// worth reporting (gitleaks' shortest formats are about ten characters).
const minSecretLen = 8
