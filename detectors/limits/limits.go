package limits

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Family is the detector family name used in policies and findings.
const Family = "limits"

// Rule IDs. They are stable: policies, dashboards and audit records name them.
const (
	RuleBodyBytes         = "limits.body_bytes"
	RuleResponseBodyBytes = "limits.response_body_bytes"
	RuleMessages          = "limits.messages"
	RuleEstimatedTokens   = "limits.estimated_tokens"
	RuleRequestedTokens   = "limits.requested_tokens"
)

// Rule describes one rule for docs and scan output.
type Rule struct {
	ID          string
	Status      int // HTTP status suggested when the rule blocks
	Description string
}

var rules = []Rule{
	{RuleBodyBytes, 413, "request body larger than max_body_bytes (raw, and again after decoding or decompression)"},
	{RuleResponseBodyBytes, 502, "response body larger than max_response_body_bytes"},
	{RuleMessages, 400, "more messages, turns or inputs than max_messages"},
	{RuleEstimatedTokens, 400, "estimated prompt tokens above max_estimated_tokens (about 4 bytes or 1 word per token)"},
	{RuleRequestedTokens, 400, "max_tokens (or max_output_tokens, max_completion_tokens) above max_requested_tokens"},
}

// Rules lists the family's rules.
func Rules() []Rule { return append([]Rule(nil), rules...) }

func init() { pipeline.Register(Family, New) }

// config holds the limits; 0 means no limit.
type config struct {
	MaxBodyBytes         int `yaml:"max_body_bytes"`
	MaxResponseBodyBytes int `yaml:"max_response_body_bytes"`
	MaxMessages          int `yaml:"max_messages"`
	// Generous by default: refusing a legitimate long context costs more
	// than the compute a slightly-too-long one burns.
	MaxEstimatedTokens int `yaml:"max_estimated_tokens"`
	MaxRequestedTokens int `yaml:"max_requested_tokens"`
}

func defaults() config {
	return config{
		MaxBodyBytes:         1 << 20,
		MaxResponseBodyBytes: 8 << 20,
		MaxMessages:          1000,
		MaxEstimatedTokens:   1_000_000,
		MaxRequestedTokens:   128_000,
	}
}

// knownKeys is checked by hand: yaml.v3's Node.Decode cannot reject unknown
// fields, and a misspelt limit silently falling back to its default would
// leave the operator believing a limit is set.
var knownKeys = map[string]bool{
	"max_body_bytes":          true,
	"max_response_body_bytes": true,
	"max_messages":            true,
	"max_estimated_tokens":    true,
	"max_requested_tokens":    true,
}

// Detector enforces one policy's limits. It is immutable after New and safe
// for concurrent use.
type Detector struct{ cfg config }

var (
	_ pipeline.Detector        = (*Detector)(nil)
	_ pipeline.BodySizeChecker = (*Detector)(nil)
)

// New builds the detector from its policy section; a nil or empty node gives
// the defaults. Unknown keys, missing values and negative limits are errors.
func New(node *yaml.Node) (pipeline.Detector, error) {
	cfg, err := parse(node)
	if err != nil {
		return nil, err
	}
	return &Detector{cfg: cfg}, nil
}

func parse(node *yaml.Node) (config, error) {
	cfg := defaults()
	if node != nil && node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node == nil || node.Kind == 0 || (node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		return cfg, nil
	}
	if node.Kind != yaml.MappingNode {
		return cfg, fmt.Errorf("limits: line %d: want a mapping of limits such as max_body_bytes: 1048576", node.Line)
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if !knownKeys[k.Value] {
			return cfg, fmt.Errorf("limits: line %d: unknown key %q", k.Line, k.Value)
		}
		// yaml.v3 decodes a null into an int as 0, which here means "no
		// limit": an empty value must not quietly switch a limit off.
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			return cfg, fmt.Errorf("limits: line %d: %s has no value; give a number (0 means no limit)", v.Line, k.Value)
		}
		var n int
		if err := v.Decode(&n); err != nil {
			return cfg, fmt.Errorf("limits: line %d: %s: want a whole number (0 means no limit), got %q", v.Line, k.Value, v.Value)
		}
		if n < 0 {
			return cfg, fmt.Errorf("limits: line %d: %s is %d; want 0 (no limit) or a positive number", v.Line, k.Value, n)
		}
	}
	// Every key and value is known good; Decode also rejects duplicate keys.
	if err := node.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("limits: %w", err)
	}
	return cfg, nil
}

// Family implements pipeline.Detector.
func (d *Detector) Family() string { return Family }

// Detect implements pipeline.Detector. It allocates only when a limit trips.
func (d *Detector) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	c := &d.cfg
	var out []pipeline.Finding
	switch in.Direction {
	case pipeline.Request:
		if over(in.Meta.Messages, c.MaxMessages) {
			out = append(out, finding(RuleMessages, 400))
		}
		if c.MaxEstimatedTokens > 0 {
			// Counting words walks every byte of the prompt.
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("limits: estimate tokens: %w", err)
			}
			if tokensOver(in.Segments, c.MaxEstimatedTokens) {
				out = append(out, finding(RuleEstimatedTokens, 400))
			}
		}
		if over(in.Meta.RequestedTokens, c.MaxRequestedTokens) {
			out = append(out, finding(RuleRequestedTokens, 400))
		}
		if over(in.Meta.BodyBytes, c.MaxBodyBytes) {
			// Backstop for the decoded size: CheckBodySize only saw the
			// raw, possibly compressed, body.
			out = append(out, finding(RuleBodyBytes, 413))
		}
	case pipeline.Response:
		if over(in.Meta.BodyBytes, c.MaxResponseBodyBytes) {
			out = append(out, finding(RuleResponseBodyBytes, 502))
		}
	}
	return out, nil
}

// CheckBodySize implements pipeline.BodySizeChecker: the raw body is refused
// before it is decoded.
func (d *Detector) CheckBodySize(dir pipeline.Direction, n int) []pipeline.Finding {
	switch dir {
	case pipeline.Request:
		if over(n, d.cfg.MaxBodyBytes) {
			return []pipeline.Finding{finding(RuleBodyBytes, 413)}
		}
	case pipeline.Response:
		if over(n, d.cfg.MaxResponseBodyBytes) {
			return []pipeline.Finding{finding(RuleResponseBodyBytes, 502)}
		}
	}
	return nil
}

func over(n, limit int) bool { return limit > 0 && n > limit }

func finding(rule string, status int) pipeline.Finding {
	return pipeline.Finding{Rule: rule, Family: Family, Score: 1, Status: status}
}

// tokensOver reports whether pipeline.Input.EstimatedTokens exceeds limit,
// without its allocations (strings.Fields builds a slice per segment) and
// without counting words when byte lengths alone decide the answer.
func tokensOver(segs []pipeline.Segment, limit int) bool {
	// A segment of n bytes holds at most (n+1)/2 words, so its estimate is
	// at most max((n+3)/4, (n+1)/2) tokens; if even that sum fits, no scan.
	byBytes, upper := 0, 0
	for i := range segs {
		n := len(segs[i].Text)
		byBytes += (n + 3) / 4
		upper += max((n+3)/4, (n+1)/2)
	}
	if byBytes > limit {
		return true
	}
	if upper <= limit {
		return false
	}
	total := 0
	for i := range segs {
		s := segs[i].Text
		total += max((len(s)+3)/4, countWords(s))
		if total > limit {
			return true
		}
	}
	return false
}

// asciiSpace mirrors the table strings.Fields uses.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// countWords returns len(strings.Fields(s)) without allocating.
func countWords(s string) int {
	n := 0
	inWord := false
	for i := 0; i < len(s); {
		var space bool
		if b := s[i]; b < utf8.RuneSelf {
			space = asciiSpace[b]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if !space && !inWord {
			n++
		}
		inWord = !space
	}
	return n
}
