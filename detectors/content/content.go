package content

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/detectors/content/internal/model"
	"github.com/llm-firewall/llm-firewall/detectors/internal/harm"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Family is the detector family name in policies and findings.
const Family = "content"

func init() { pipeline.Register(Family, New) }

// Preset thresholds on the raw category score (see lexicon_en.go for the
// scale). 0 disables a category.
const (
	defaultThreshold = 0.6
	kidsThreshold    = 0.4
)

// Presets maps a preset name to its per-category thresholds.
var Presets = map[string][harm.NumCategories]float64{
	// default: clearly harmful requests and content; casual swearing and
	// the kids-only categories are off.
	"default": {
		Sexual: defaultThreshold, SelfHarm: defaultThreshold, Violence: defaultThreshold, Hate: defaultThreshold,
		Weapons: defaultThreshold, Drugs: defaultThreshold, Crime: defaultThreshold, Cybercrime: defaultThreshold,
		Harassment: defaultThreshold, Other: defaultThreshold,
	},
	// kids: strict on everything, profanity included, plus contact
	// requests, grooming, a child's personal data and links.
	"kids": {
		Sexual: kidsThreshold, SelfHarm: kidsThreshold, Violence: kidsThreshold, Hate: kidsThreshold,
		Weapons: kidsThreshold, Drugs: kidsThreshold, Profanity: kidsThreshold, Crime: kidsThreshold,
		Cybercrime: kidsThreshold, Harassment: kidsThreshold, Other: kidsThreshold,
		ContactRequest: 0.6, Grooming: 0.6, PersonalInfo: 0.6, Link: 0.5,
	},
}

// Detector is one configured instance; immutable and safe for concurrent use.
type Detector struct {
	th         [harm.NumCategories]float64 // 0: category off
	classifier bool
	responses  bool
	scanSystem bool
	anyKids    bool
}

var knownKeys = map[string]bool{"preset": true, "categories": true, "classifier": true, "responses": true, "scan_system": true}

// New builds the detector from its policy section (nil for defaults).
//
//	preset: default | kids
//	categories: {sexual: 0.5, profanity: off, link: on, ...}
//	classifier: true
//	responses: true
//	scan_system: false
func New(node *yaml.Node) (pipeline.Detector, error) {
	d := &Detector{th: Presets["default"], classifier: true, responses: true}
	if node != nil && node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node == nil || node.Kind == 0 || (node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		return d, nil
	}
	if node.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("content: line %d: want a mapping such as preset: kids", node.Line)
	}
	var cats *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if !knownKeys[k.Value] {
			return nil, fmt.Errorf("content: line %d: unknown key %q (want preset, categories, classifier, responses or scan_system)", k.Line, k.Value)
		}
		if seen[k.Value] {
			return nil, fmt.Errorf("content: line %d: duplicate key %q", k.Line, k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "preset":
			p, ok := Presets[v.Value]
			if v.Kind != yaml.ScalarNode || !ok {
				return nil, fmt.Errorf("content: line %d: preset %q: want default or kids", v.Line, v.Value)
			}
			d.th = p
		case "categories":
			cats = v
		case "classifier", "responses", "scan_system":
			var b bool
			if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
				return nil, fmt.Errorf("content: line %d: %s: want true or false, got %q", v.Line, k.Value, v.Value)
			}
			switch k.Value {
			case "classifier":
				d.classifier = b
			case "responses":
				d.responses = b
			default:
				d.scanSystem = b
			}
		}
	}
	if cats != nil {
		if err := d.categories(cats); err != nil {
			return nil, err
		}
	}
	d.anyKids = d.th[ContactRequest] > 0 || d.th[Grooming] > 0 || d.th[PersonalInfo] > 0 || d.th[Link] > 0
	return d, nil
}

// categories applies per-category overrides: a threshold in (0, 1], or
// off/false to disable, or on/true for the preset's value (the strict
// value for a category the preset leaves off).
func (d *Detector) categories(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("content: line %d: categories: want a mapping such as {profanity: off, sexual: 0.5}", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		c, ok := categoryByName(k.Value)
		if !ok {
			return fmt.Errorf("content: line %d: unknown category %q (want one of %s)", k.Line, k.Value, strings.Join(harm.Names(), ", "))
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("content: line %d: %s: want a threshold in (0, 1], on or off", v.Line, k.Value)
		}
		switch strings.ToLower(v.Value) {
		case "off", "false", "no":
			d.th[c] = 0
			continue
		case "on", "true", "yes":
			if d.th[c] == 0 {
				d.th[c] = Presets["kids"][c]
			}
			continue
		}
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return fmt.Errorf("content: line %d: %s: %q: want a threshold in (0, 1], on or off", v.Line, k.Value, v.Value)
		}
		d.th[c] = f
	}
	return nil
}

func categoryByName(s string) (Category, bool) {
	s = strings.TrimPrefix(s, "kids.")
	for i, n := range harm.Names() {
		if n == s {
			return Category(i), true
		}
	}
	return 0, false
}

// Family implements pipeline.Detector.
func (d *Detector) Family() string { return Family }

// UsesViews implements pipeline.ViewUser.
func (d *Detector) UsesViews(dir pipeline.Direction) bool {
	return dir == pipeline.Request || d.responses
}

// Thresholds returns the per-category thresholds in effect (0: off), by
// category name; for docs and scan output.
func (d *Detector) Thresholds() map[string]float64 {
	m := make(map[string]float64, harm.NumCategories)
	for i, n := range harm.Names() {
		m[n] = d.th[i]
	}
	return m
}

// Detect implements pipeline.Detector.
func (d *Detector) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	if in.Direction == pipeline.Response && !d.responses {
		return nil, nil
	}
	var out []pipeline.Finding
	for i := range in.Segments {
		seg := &in.Segments[i]
		if seg.Kind == pipeline.KindToolName || (seg.Role == pipeline.RoleSystem && !d.scanSystem) || seg.Text == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("content: %w", err)
		}
		var v *pipeline.View
		if i < len(in.Views) {
			v = &in.Views[i]
		}
		out = d.segment(out, i, seg.Text, v)
	}
	return out, nil
}

// catState accumulates one category's evidence in a segment.
type catState struct {
	score float64
	hits  int
	spans [maxSpans]pipeline.Span
	n     int
}

const maxSpans = 8

func (c *catState) add(score float64, sp pipeline.Span) {
	if c.hits == 0 || score > c.score {
		if c.hits > 0 {
			// more than one piece of evidence adds a little
			score = min(1, score+0.05)
		}
		c.score = score
	} else {
		c.score = min(1, c.score+0.05*score)
	}
	c.hits++
	for k := 0; k < c.n; k++ {
		if c.spans[k] == sp {
			return
		}
	}
	if c.n < maxSpans {
		c.spans[c.n] = sp
		c.n++
	}
}

func (d *Detector) segment(out []pipeline.Finding, seg int, orig string, v *pipeline.View) []pipeline.Finding {
	var text string
	var offsets func(s, e int) (int, int)
	if v != nil && len(v.Offsets) == len(v.Text)+1 {
		text = v.Text
		offsets = v.OriginalSpan
	} else {
		text = asciiLower(orig)
		offsets = func(s, e int) (int, int) { return s, e }
	}
	text = model.Deleet(text)

	var st [harm.NumCategories]catState
	var buf [64]harm.Hit
	for _, h := range harm.Scan(text, buf[:0]) {
		s, e := offsets(h.Start, h.End)
		st[h.Cat].add(h.Score, pipeline.Span{Segment: seg, Start: s, End: e})
	}
	if d.th[Link] > 0 {
		findLinks(text, func(s, e int) {
			s, e = offsets(s, e)
			st[Link].add(0.75, pipeline.Span{Segment: seg, Start: s, End: e})
		})
	}
	if v != nil {
		for _, l := range v.Layers {
			if l.Encoding == "leetspeak" || l.Text == "" {
				continue
			}
			lt := model.Deleet(l.Text)
			for _, h := range harm.Scan(lt, buf[:0]) {
				// Hidden or encoded harmful words are more suspicious.
				st[h.Cat].add(min(1, h.Score+0.05), pipeline.Span{Segment: seg, Start: l.Start, End: l.End})
			}
		}
	}
	if d.classifier && len(text) >= minClassifierText {
		d.classify(text, &st, seg, len(orig))
	}
	// A child's data is worse in combination (age with a place, a school
	// with a phone number).
	if st[PersonalInfo].hits > 1 {
		st[PersonalInfo].score = min(1, st[PersonalInfo].score+0.15)
	}
	for c := range harm.NumCategories {
		t := d.th[c]
		s := &st[c]
		if t == 0 || s.hits == 0 || s.score < t {
			continue
		}
		spans := make([]pipeline.Span, s.n)
		copy(spans, s.spans[:s.n])
		if len(spans) == 0 {
			spans = []pipeline.Span{{Segment: seg, Start: 0, End: len(orig)}}
		}
		out = append(out, pipeline.Finding{Rule: harm.Category(c).Rule(), Family: Family, Score: calibrate(s.score, t), Spans: spans})
	}
	return out
}

// minClassifierText: shorter texts carry too few n-grams for the model.
const minClassifierText = 12

// classify adds the classifier's evidence: P(harmful) mapped onto the raw
// score scale, credited to the categories the category heads favour.
func (d *Detector) classify(text string, st *[harm.NumCategories]catState, seg, origLen int) {
	var p [model.NumHeads]float64
	clf.Scores(text, &p)
	raw := classifierScore(p[0])
	if raw < 0.3 {
		return
	}
	best, bestP := -1, 0.0
	for h := 1; h < model.NumHeads; h++ {
		c := headCategory[h]
		if d.th[c] == 0 {
			continue
		}
		if p[h] > bestP {
			best, bestP = h, p[h]
		}
	}
	if best < 0 {
		return
	}
	for h := 1; h < model.NumHeads; h++ {
		c := headCategory[h]
		if d.th[c] == 0 || (h != best && p[h] < 0.5) {
			continue
		}
		s := &st[c]
		if s.hits > 0 {
			// lexicon and model agree
			s.score = min(1, max(s.score, raw)+0.1*min(s.score, raw))
			s.hits++
			continue
		}
		s.score, s.hits = raw, 1
	}
}

// headCategory maps model heads to categories.
var headCategory = func() (m [model.NumHeads]Category) {
	for h, name := range model.Heads {
		if c, ok := categoryByName(name); ok {
			m[h] = c
		}
	}
	return m
}()

// classifierScore maps P(harmful) onto the raw score scale: the strict
// (kids) threshold chosen on out-of-fold scores lands on kidsThreshold, the
// default one on defaultThreshold, linearly in between.
func classifierScore(p float64) float64 {
	ts, td := clfReport.ThresholdStrict, clfReport.ThresholdDefault
	switch {
	case p < ts:
		return kidsThreshold * p / ts
	case p < td:
		return kidsThreshold + (defaultThreshold-kidsThreshold)*(p-ts)/(td-ts)
	default:
		return defaultThreshold + (1-defaultThreshold)*(p-td)/(1-td)
	}
}

// calibrate maps a raw score s >= threshold t onto [0.5, 1], so the
// pipeline's default threshold of 0.5 means "the category's threshold".
func calibrate(s, t float64) float64 {
	if t >= 1 {
		return 1
	}
	return min(1, 0.5+0.5*(s-t)/(1-t))
}

// asciiLower lower-cases ASCII letters only, keeping byte offsets.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
