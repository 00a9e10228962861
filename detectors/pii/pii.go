package pii

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/llm-firewall/llm-firewall/detectors/pii/internal/gazetteer"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Family is the detector family name in policies and findings.
const Family = "pii"

// maxFindings bounds the findings of one evaluation so that a hostile body
// made of nothing but e-mail addresses cannot make the verdict unbounded.
// Past it the detector returns the first maxFindings: a policy that blocks
// still blocks; one that redacts leaves the rest in place.
const maxFindings = 10_000

// defaultPhoneRegions are the regions whose national formats are tried for
// numbers written without a country code.
var defaultPhoneRegions = []string{"US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "AU"}

// defaultMinScore matches the pipeline's default threshold: weaker
// findings (a bare number passing only a 1-in-10 checksum) are dropped
// unless a policy lowers it.
const defaultMinScore = 0.5

func init() { pipeline.Register(Family, New) }

type config struct {
	Types        []string `yaml:"types"`
	PhoneRegions []string `yaml:"phone_regions"`
	MinScore     *float64 `yaml:"min_score"`
	PrivateIPs   bool     `yaml:"private_ips"`
}

var knownKeys = map[string]string{
	"types":         "a list of entity types such as [EMAIL, PHONE]",
	"phone_regions": "a list of ISO 3166 region codes such as [US, GB, DE]",
	"min_score":     "a number in [0, 1]",
	"private_ips":   "true or false",
}

// Detector is one configured instance; immutable after New and safe for
// concurrent use.
type Detector struct {
	enabled      [numEntities]bool
	phoneRegions []string
	minScore     float64
	privateIPs   bool
	cache        *validityCache
}

var _ pipeline.Detector = (*Detector)(nil)

// New builds the detector from its policy section (nil for defaults).
func New(node *yaml.Node) (pipeline.Detector, error) {
	d, err := newDetector(node)
	if err != nil {
		return nil, err
	}
	if d.enabled[Person] || d.enabled[Location] || d.enabled[Organization] {
		gazetteer.Load() // at policy load, never inside a request's budget
	}
	return d, nil
}

func newDetector(node *yaml.Node) (*Detector, error) {
	var c config
	if node != nil && node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node != nil && node.Kind != 0 && !(node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		if node.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("pii: line %d: want a mapping of options such as types: [EMAIL, PHONE]", node.Line)
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			want, ok := knownKeys[k.Value]
			if !ok {
				if k.Value == "entities" {
					return nil, fmt.Errorf("pii: line %d: entities is a policy-level key (entity type to action) that the pipeline should have consumed; this build does not support it here", k.Line)
				}
				return nil, fmt.Errorf("pii: line %d: unknown key %q (known: types, phone_regions, min_score, private_ips)", k.Line, k.Value)
			}
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				return nil, fmt.Errorf("pii: line %d: %s has no value; want %s", v.Line, k.Value, want)
			}
		}
		if err := node.Decode(&c); err != nil {
			return nil, fmt.Errorf("pii: %w", err)
		}
	}
	d := &Detector{minScore: defaultMinScore, privateIPs: c.PrivateIPs, cache: &validityCache{seed: maphash.MakeSeed()}}
	if c.Types == nil {
		for i := range d.enabled {
			d.enabled[i] = true
		}
	} else {
		if len(c.Types) == 0 {
			return nil, fmt.Errorf("pii: types is empty; list entity types to detect or drop the key for all (known: %s)", strings.Join(entityNames[:], ", "))
		}
		for _, t := range c.Types {
			e, ok := ParseEntity(t)
			if !ok {
				return nil, fmt.Errorf("pii: types: unknown entity type %q (known: %s)", t, strings.Join(entityNames[:], ", "))
			}
			d.enabled[e] = true
		}
	}
	if c.PhoneRegions == nil {
		d.phoneRegions = defaultPhoneRegions
	} else {
		for _, r := range c.PhoneRegions {
			r = strings.ToUpper(strings.TrimSpace(r))
			if !knownRegion(r) {
				return nil, fmt.Errorf("pii: phone_regions: unknown region %q; want ISO 3166-1 alpha-2 codes such as US, GB, DE", r)
			}
			d.phoneRegions = append(d.phoneRegions, r)
		}
	}
	if c.MinScore != nil {
		if *c.MinScore < 0 || *c.MinScore > 1 {
			return nil, fmt.Errorf("pii: min_score %v: want a number in [0, 1]", *c.MinScore)
		}
		d.minScore = *c.MinScore
	}
	return d, nil
}

// Family implements pipeline.Detector.
func (d *Detector) Family() string { return Family }

// hit is one detected entity in one segment, before conversion to a Finding.
type hit struct {
	start, end int
	entity     Entity
	score      float64
}

// scanner appends the hits of one entity group found in text.
type scanner struct {
	d     *Detector
	text  string
	hits  []hit
	names *nameScratch // while scanNames runs
}

func (s *scanner) add(start, end int, e Entity, score float64) {
	if !s.d.enabled[e] || score < s.d.minScore || start >= end {
		return
	}
	s.hits = append(s.hits, hit{start, end, e, min(score, 1)})
}

// Detect implements pipeline.Detector. It reads the original segment text
// so that spans are exact byte offsets for redaction.
func (d *Detector) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	var out []pipeline.Finding
	var buf [16]hit
	sc := scanner{d: d, hits: buf[:0]}
	for i := range in.Segments {
		seg := &in.Segments[i]
		if seg.Kind == pipeline.KindToolName || len(seg.Text) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pii: %w", err)
		}
		sc.text, sc.hits = seg.Text, sc.hits[:0]
		if err := sc.scan(ctx); err != nil {
			return nil, err
		}
		hits := resolve(sc.hits)
		if len(hits) == 0 {
			continue
		}
		// One backing array for the spans of this segment's findings.
		spans := make([]pipeline.Span, len(hits))
		for j, h := range hits {
			if len(out) >= maxFindings {
				return out, nil
			}
			spans[j] = pipeline.Span{Segment: i, Start: h.start, End: h.end}
			out = append(out, pipeline.Finding{
				Rule:   h.entity.Rule(),
				Family: Family,
				Score:  h.score,
				Spans:  spans[j : j+1 : j+1],
				Entity: h.entity.String(),
			})
		}
	}
	return out, nil
}

// scan runs every scanner over s.text.
func (s *scanner) scan(ctx context.Context) error {
	t := s.text
	if strings.IndexByte(t, '@') >= 0 && s.d.enabled[Email] {
		s.scanEmails()
	}
	if hasDigit(t) {
		s.scanNumbers()
		s.scanIPv4()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pii: %w", err)
		}
	}
	if strings.IndexByte(t, ':') >= 0 {
		s.scanIPv6()
	}
	s.scanWords()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pii: %w", err)
	}
	if s.d.enabled[DateOfBirth] {
		s.scanDOB()
	}
	if s.d.enabled[Address] {
		s.scanAddresses()
	}
	s.scanNames()
	return nil
}

// resolve sorts hits by position and removes overlaps: of two overlapping
// hits the higher score wins, then the longer one. It works in place.
func resolve(hits []hit) []hit {
	if len(hits) < 2 {
		return hits
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	out := hits[:1]
	for _, h := range hits[1:] {
		last := &out[len(out)-1]
		if h.start >= last.end {
			out = append(out, h)
			continue
		}
		if h.score > last.score || (h.score == last.score && h.end-h.start > last.end-last.start) {
			*last = h
		}
	}
	return out
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}
