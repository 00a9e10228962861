package injection

import (
	"context"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/detectors/injection/classifier"
	"github.com/llm-firewall/llm-firewall/detectors/injection/rules"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Family is the detector family name in policies and findings.
const Family = "injection"

// Rule IDs produced besides the rules package's own.
const (
	RuleClassifier   = "injection.classifier"             // the trained model's verdict on a segment
	RuleHiddenTags   = "injection.hidden.tag_characters"  // text smuggled in Unicode tag characters
	RuleHiddenVS     = "injection.hidden.variation_bytes" // bytes smuggled in variation selectors
	RuleEncodedLayer = "injection.encoded.payload"        // the classifier flags a decoded payload
	RuleSplit        = "injection.split.across_messages"  // an attack assembled from several user turns
)

// maxJoined bounds the text scanned for attacks split across turns.
const maxJoined = 16 << 10

// Short texts carry few n-grams, so the classifier's evidence is thin and
// a single trigger word can dominate. Below shortText bytes its threshold
// is raised to at least shortThreshold. Chosen on the out-of-fold scores
// of the whole-source validation (docs/detectors.md): for texts under 200
// bytes it cuts benign false positives from 50 to 16 of 4,157 at a cost of
// 22 of 1,243 short attacks, most of which the rules still catch.
const (
	shortText      = 200
	shortThreshold = 0.7
)

func init() { pipeline.Register(Family, New) }

// config is the family's policy section.
type config struct {
	Rules      *bool `yaml:"rules"`      // run the rule set (default true)
	Classifier *bool `yaml:"classifier"` // run the classifier (default true)
	// Classifier probability thresholds by provenance; 0 means the
	// calibrated default shipped with the model.
	Thresholds struct {
		User     float64 `yaml:"user"`
		Tool     float64 `yaml:"tool"`
		Document float64 `yaml:"document"`
		Model    float64 `yaml:"model"`
		// ToolDefinition is for declared tools' descriptions and schema
		// keys; 0 means the tool threshold.
		ToolDefinition float64 `yaml:"tool_definition"`
	} `yaml:"thresholds"`
	// ScanSystem also scans system/developer instructions. Off by default: a
	// system prompt is the application's own instruction and is never
	// flagged for sounding like one.
	ScanSystem bool `yaml:"scan_system"`
	// Responses also scans response text (model output). Off by default;
	// output checks belong to the output family.
	Responses bool `yaml:"responses"`
}

// Detector is one configured instance; immutable and safe for concurrent use.
type Detector struct {
	rules, classifier bool
	thUser, thTool    float64
	thDoc, thModel    float64
	thToolDef         float64
	scanSystem        bool
	responses         bool
}

// New builds the detector from its policy section (nil for defaults).
func New(node *yaml.Node) (pipeline.Detector, error) {
	var c config
	if node != nil {
		if err := decodeStrict(node, &c); err != nil {
			return nil, err
		}
	}
	d := &Detector{
		rules: true, classifier: true,
		thUser: classifier.ThresholdUser, thTool: classifier.ThresholdTool,
		thDoc: classifier.ThresholdTool, thModel: classifier.ThresholdUser,
		scanSystem: c.ScanSystem, responses: c.Responses,
	}
	if c.Rules != nil {
		d.rules = *c.Rules
	}
	if c.Classifier != nil {
		d.classifier = *c.Classifier
	}
	for _, t := range []struct {
		v   float64
		dst *float64
		key string
	}{{c.Thresholds.User, &d.thUser, "user"}, {c.Thresholds.Tool, &d.thTool, "tool"},
		{c.Thresholds.Document, &d.thDoc, "document"}, {c.Thresholds.Model, &d.thModel, "model"},
		{c.Thresholds.ToolDefinition, &d.thToolDef, "tool_definition"}} {
		if t.v < 0 || t.v >= 1 {
			return nil, fmt.Errorf("injection: thresholds.%s %v: want a probability in (0, 1)", t.key, t.v)
		}
		if t.v > 0 {
			*t.dst = t.v
		}
	}
	if d.thToolDef == 0 {
		d.thToolDef = d.thTool
	}
	return d, nil
}

// decodeStrict decodes a mapping, rejecting unknown keys with their line.
func decodeStrict(node *yaml.Node, out *config) error {
	allowed := map[string]bool{"rules": true, "classifier": true, "thresholds": true, "scan_system": true, "responses": true}
	if node.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(node.Content); i += 2 {
			k := node.Content[i]
			if !allowed[k.Value] {
				return fmt.Errorf("injection: line %d: unknown key %q", k.Line, k.Value)
			}
			if k.Value == "thresholds" {
				v := node.Content[i+1]
				for j := 0; j+1 < len(v.Content); j += 2 {
					switch v.Content[j].Value {
					case "user", "tool", "document", "model", "tool_definition":
					default:
						return fmt.Errorf("injection: line %d: unknown threshold %q (want user, tool, document, model or tool_definition)", v.Content[j].Line, v.Content[j].Value)
					}
				}
			}
		}
	}
	if err := node.Decode(out); err != nil {
		return fmt.Errorf("injection: %w", err)
	}
	return nil
}

func (d *Detector) Family() string { return Family }

// UsesViews asks for normalized views only where the detector scans.
func (d *Detector) UsesViews(dir pipeline.Direction) bool {
	return dir == pipeline.Request || d.responses
}

// Detect scans every segment the configuration covers.
func (d *Detector) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	if in.Direction == pipeline.Response && !d.responses {
		return nil, nil
	}
	var out []pipeline.Finding
	for i, seg := range in.Segments {
		if seg.Role == pipeline.RoleSystem && !d.scanSystem {
			continue
		}
		if i >= len(in.Views) {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = d.segment(out, i, seg, &in.Views[i])
	}
	return d.split(out, in), nil
}

// split scans the user turns joined together, for attacks whose parts sit
// in different messages ("remember A = ...", "now combine A and B").
// Only what no single turn already showed is reported.
func (d *Detector) split(out []pipeline.Finding, in *pipeline.Input) []pipeline.Finding {
	var idx []int
	size := 0
	for i := len(in.Segments) - 1; i >= 0 && i < len(in.Views); i-- {
		if in.Segments[i].Provenance != pipeline.FromUser || in.Segments[i].Role == pipeline.RoleSystem {
			continue
		}
		if size+len(in.Views[i].Text) > maxJoined {
			break
		}
		size += len(in.Views[i].Text) + 1
		idx = append([]int{i}, idx...)
	}
	if len(idx) < 2 {
		return out
	}
	for _, f := range out {
		for _, sp := range f.Spans {
			for _, i := range idx {
				if sp.Segment == i && f.Score >= 0.5 {
					return out // a single turn is already conclusive
				}
			}
		}
	}
	var b strings.Builder
	starts := make([]int, len(idx))
	for k, i := range idx {
		if k > 0 {
			b.WriteByte('\n')
		}
		starts[k] = b.Len()
		b.WriteString(in.Views[i].Text)
	}
	joined := b.String()
	spans := func(start, end int) []pipeline.Span {
		var sp []pipeline.Span
		for k, i := range idx {
			v := &in.Views[i]
			lo, hi := max(start, starts[k]), min(end, starts[k]+len(v.Text))
			if lo < hi {
				s, e := v.OriginalSpan(lo-starts[k], hi-starts[k])
				sp = append(sp, pipeline.Span{Segment: i, Start: s, End: e})
			}
		}
		return sp
	}
	if d.rules {
		ms := rules.Find(joined)
		for _, m := range ms {
			if isFraming(m) {
				continue
			}
			sp := spans(m.Start, m.End)
			if len(sp) > 1 {
				out = append(out, pipeline.Finding{Rule: m.Rule, Family: Family, Score: m.Score, Spans: sp})
			}
		}
		// a framing in one turn and the harmful request in the next
		if t := gate(ms, joined, pipeline.FromUser); t.disguised {
			if sp := spans(t.start, t.end); len(sp) > 1 {
				out = append(out, pipeline.Finding{Rule: RuleDisguised, Family: Family, Score: t.score, Spans: sp})
			}
		}
	}
	if d.classifier {
		th := d.thUser
		if p := classifier.Score(joined); p >= th {
			out = append(out, pipeline.Finding{Rule: RuleSplit, Family: Family, Score: calibrate(p, th), Spans: spans(0, len(joined))})
		}
	}
	return out
}

func (d *Detector) threshold(p pipeline.Provenance) float64 {
	switch p {
	case pipeline.FromTool:
		return d.thTool
	case pipeline.FromDocument:
		return d.thDoc
	case pipeline.FromToolDefinition:
		return d.thToolDef
	case pipeline.FromModel:
		return d.thModel
	}
	return d.thUser
}

func (d *Detector) segment(out []pipeline.Finding, i int, seg pipeline.Segment, v *pipeline.View) []pipeline.Finding {
	whole := []pipeline.Span{{Segment: i, Start: 0, End: len(seg.Text)}}
	th := effectiveThreshold(d.threshold(seg.Provenance), len(v.Text))
	var t turnFraming // the segment's framing, for its decoded layers too
	if d.rules {
		ms := findRules(v.Text, seg.Provenance)
		t = gate(ms, v.Text, seg.Provenance)
		if t.persona {
			th = personaThreshold(th)
		}
		for _, m := range ms {
			if isFraming(m) {
				continue
			}
			score := m.Score
			if t.persona && score <= softScore {
				score = min(score, personaCap)
			}
			s, e := v.OriginalSpan(m.Start, m.End)
			out = append(out, pipeline.Finding{Rule: m.Rule, Family: Family, Score: score,
				Spans: []pipeline.Span{{Segment: i, Start: s, End: e}}})
		}
		if t.disguised {
			s, e := v.OriginalSpan(t.start, t.end)
			out = append(out, pipeline.Finding{Rule: RuleDisguised, Family: Family, Score: t.score,
				Spans: []pipeline.Span{{Segment: i, Start: s, End: e}}})
		}
	}
	if d.classifier {
		if p := classifier.Score(v.Text); p >= th/2 {
			out = append(out, pipeline.Finding{Rule: RuleClassifier, Family: Family, Score: calibrate(p, th), Spans: whole})
		}
	}
	for _, l := range v.Layers {
		span := []pipeline.Span{{Segment: i, Start: l.Start, End: l.End}}
		switch l.Encoding {
		case "tags":
			// Tag characters have one legitimate use, short flag sequences
			// (🏴 + "gbeng"); a payload that reads as text is smuggling.
			if len(l.Text) >= 8 {
				out = append(out, pipeline.Finding{Rule: RuleHiddenTags, Family: Family, Score: 0.9, Spans: span})
			}
		case "variation_selectors":
			if len(l.Text) >= 4 {
				out = append(out, pipeline.Finding{Rule: RuleHiddenVS, Family: Family, Score: 0.9, Spans: span})
			}
		}
		if d.rules {
			ms := findRules(l.Text, seg.Provenance)
			// a disguised request whose harmful words are written in
			// leetspeak or encoded: the framing is the segment's
			if score, ok := disguisedLayer(t.framing, v.Text, l.Text); ok {
				out = append(out, pipeline.Finding{Rule: RuleDisguised, Family: Family, Score: score, Spans: span})
			}
			for _, m := range ms {
				if isFraming(m) {
					continue
				}
				// An instruction that had to be decoded is more suspicious
				// than the same words in plain sight.
				out = append(out, pipeline.Finding{Rule: m.Rule, Family: Family, Score: min(1, m.Score+0.1), Spans: span})
			}
		}
		if d.classifier && l.Depth >= 1 {
			if p := classifier.Score(l.Text); p >= th {
				out = append(out, pipeline.Finding{Rule: RuleEncodedLayer, Family: Family, Score: min(1, calibrate(p, th)+0.1), Spans: span})
			}
		}
	}
	return out
}

// findRules runs the rules for a text of provenance p: the data family too
// in data the model reads, without the sentences a tool declaration writes
// by design.
func findRules(text string, p pipeline.Provenance) []rules.Match {
	ms := rules.Find(text)
	if readsAsData(p) {
		for _, m := range rules.FindData(text) {
			if p != pipeline.FromToolDefinition || !instructsByDesign[m.Rule] {
				ms = append(ms, m)
			}
		}
	}
	return ms
}

// readsAsData reports provenances whose text is data the model reads, not
// a request of the user's: there, a sentence about the model's answer, "the
// user" or a tool is an injection (the data family of rules).
func readsAsData(p pipeline.Provenance) bool {
	return p == pipeline.FromTool || p == pipeline.FromDocument || p == pipeline.FromToolDefinition
}

// instructsByDesign are data rules whose sentences a tool declaration
// writes by design: a description tells the model what to ask the user,
// what to call and what its answer must hold ("Ask the user to confirm the
// title"). Sending data elsewhere or tampering with the task still counts.
var instructsByDesign = map[string]bool{
	"injection.data.output_directive": true,
	"injection.data.user_directed":    true,
	"injection.data.tool_invocation":  true,
}

func effectiveThreshold(th float64, textLen int) float64 {
	if textLen < shortText {
		return max(th, shortThreshold)
	}
	return th
}

// ClassifierFlags reports whether a classifier probability p on a
// normalized text is a finding at the default policy threshold, with the
// shipped thresholds. The held-out evaluation uses it to apply the
// detector's own decision rule to out-of-fold scores.
func ClassifierFlags(p float64, prov pipeline.Provenance, text string) bool {
	return ClassifierFlagsAt(p, prov, text, classifier.ThresholdUser, classifier.ThresholdTool)
}

// ClassifierFlagsAt is ClassifierFlags with the thresholds of another model
// (a candidate being evaluated).
func ClassifierFlagsAt(p float64, prov pipeline.Provenance, text string, user, tool float64) bool {
	d := &Detector{thUser: user, thTool: tool, thDoc: tool, thModel: user}
	th := effectiveThreshold(d.threshold(prov), len(text))
	if gate(rules.Find(text), text, prov).persona {
		th = personaThreshold(th)
	}
	return calibrate(p, th) >= 0.5
}

// calibrate maps a classifier probability p to a score where the
// provenance's threshold t lands on 0.5, monotonically and piecewise
// linearly, so the policy threshold means the same for every provenance.
func calibrate(p, t float64) float64 {
	if t <= 0 || t >= 1 {
		return p
	}
	if p < t {
		return 0.5 * p / t
	}
	return 0.5 + 0.5*(p-t)/(1-t)
}
