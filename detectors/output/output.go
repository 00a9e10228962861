package output

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Family is the detector family name in policies and findings.
const Family = "output"

// Rule IDs. They are stable: policies, dashboards and audit records name them.
const (
	RuleCanaryLeak       = "output.canary_leak"
	RuleSystemPromptLeak = "output.system_prompt_leak"
	RuleExfilLink        = "output.exfil_link"
	RuleExfilImage       = "output.exfil_image"
	RuleInsecureHTML     = "output.insecure_html"
	RuleToolNotAllowed   = "output.tool_not_allowed"
	RuleToolArgsExfil    = "output.tool_args_exfil"
	RuleJailbreakSuccess = "output.jailbreak_success"
)

// Rule describes one rule for docs and scan output.
type Rule struct {
	ID          string
	Check       string // the checks: entry that turns it on
	Description string
}

var rules = []Rule{
	{RuleCanaryLeak, CheckCanary, "the transaction's canary appears in the response: verbatim, case-folded, spaced out, split by invisible characters, reversed, ROT13, hex, base64 or URL/HTML-escaped"},
	{RuleSystemPromptLeak, CheckSystemPromptLeak, "the response reproduces at least leak_threshold of the request's system prompt (5-word shingles)"},
	{RuleExfilLink, CheckExfil, "a link (markdown, HTML <a>, autolink or bare URL) whose URL carries data to a host not on allowed_link_hosts"},
	{RuleExfilImage, CheckExfil, "an auto-loading image or resource (markdown image, <img>, srcset, poster, CSS url()) on a host not on allowed_link_hosts"},
	{RuleInsecureHTML, CheckInsecureHTML, "active markup outside code: <script>, event-handler attributes, javascript:/vbscript:/data:text/html URLs, <iframe>, <object>, <embed>, <meta http-equiv=refresh>, <base>"},
	{RuleToolNotAllowed, CheckTools, "the model calls a tool that is not on allowed_tools"},
	{RuleToolArgsExfil, CheckTools, "tool-call arguments carry a URL with data to a host not on allowed_link_hosts"},
	{RuleJailbreakSuccess, CheckJailbreakSuccess, "the answer shows an adopted attacker persona or dropped rules (DAN/Developer Mode enabled, [🔓JAILBREAK], \"I am now free from my restrictions\", I have been PWNED) in en, de, fr, es, pt, it, zh, ja, ru"},
}

// Rules lists the family's rules.
func Rules() []Rule { return append([]Rule(nil), rules...) }

// Names of the checks: entries.
const (
	CheckCanary           = "canary"
	CheckSystemPromptLeak = "system_prompt_leak"
	CheckExfil            = "exfil"
	CheckInsecureHTML     = "insecure_html"
	CheckTools            = "tools"
	CheckJailbreakSuccess = "jailbreak_success"
)

type checkSet uint8

const (
	chkCanary checkSet = 1 << iota
	chkLeak
	chkExfil
	chkHTML
	chkTools
	chkJailbreak
	chkAll = chkCanary | chkLeak | chkExfil | chkHTML | chkTools | chkJailbreak
)

var checkNames = map[string]checkSet{
	CheckCanary: chkCanary, CheckSystemPromptLeak: chkLeak, CheckExfil: chkExfil,
	CheckInsecureHTML: chkHTML, CheckTools: chkTools, CheckJailbreakSuccess: chkJailbreak,
}

// DefaultLeakThreshold is the share of the system prompt's 5-word shingles
// a response must reproduce to count as a leak.
const DefaultLeakThreshold = 0.5

func init() { pipeline.Register(Family, New) }

// MakeCanary is the pipeline.CanaryMaker of this family's canary format
// (pipeline.WithCanaryMaker): a fresh token and the sentence that carries
// it into a system prompt.
func MakeCanary() (token, instruction string) {
	t := NewCanary()
	return t, CanaryInstruction(t)
}

// Detector is one configured instance; immutable and safe for concurrent use.
type Detector struct {
	checks        checkSet
	hosts         hostList
	toolsOn       bool
	tools         map[string]bool
	toolPrefixes  []string
	leakThreshold float64
	// needles caches the search forms of the last canary seen: a streamed
	// response is checked once per chunk with the same canary.
	needles atomic.Pointer[canaryNeedles]
}

var (
	_ pipeline.Detector = (*Detector)(nil)
	_ pipeline.ViewUser = (*Detector)(nil)
)

// New builds the detector from its policy section (nil for defaults).
// Unknown keys and malformed values are errors that name their line.
func New(node *yaml.Node) (pipeline.Detector, error) {
	d := &Detector{checks: chkAll, leakThreshold: DefaultLeakThreshold}
	if node != nil && node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node == nil || node.Kind == 0 || (node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		return d, nil
	}
	if node.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("output: line %d: want a mapping of options such as allowed_link_hosts: [example.com]", node.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if seen[k.Value] {
			return nil, fmt.Errorf("output: line %d: %s given twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "allowed_link_hosts":
			list, err := stringList(k, v)
			if err != nil {
				return nil, err
			}
			for j, h := range list {
				e, err := hostEntry(h)
				if err != nil {
					return nil, fmt.Errorf("output: line %d: allowed_link_hosts: %w", v.Content[j].Line, err)
				}
				d.hosts = append(d.hosts, e)
			}
		case "allowed_tools":
			list, err := stringList(k, v)
			if err != nil {
				return nil, err
			}
			d.toolsOn = true
			d.tools = map[string]bool{}
			for j, t := range list {
				t = strings.TrimSpace(t)
				switch {
				case t == "" || t == "*":
					return nil, fmt.Errorf("output: line %d: allowed_tools: %q is not a tool name (omit allowed_tools to turn the check off)", v.Content[j].Line, t)
				case strings.HasSuffix(t, "*"):
					d.toolPrefixes = append(d.toolPrefixes, strings.TrimSuffix(t, "*"))
				default:
					d.tools[t] = true
				}
			}
		case "leak_threshold":
			var f float64
			if v.Kind != yaml.ScalarNode || v.Decode(&f) != nil || f <= 0 || f > 1 {
				return nil, fmt.Errorf("output: line %d: leak_threshold: want a number in (0, 1], got %q", v.Line, v.Value)
			}
			d.leakThreshold = f
		case "checks":
			list, err := stringList(k, v)
			if err != nil {
				return nil, err
			}
			d.checks = 0
			for j, c := range list {
				bit, ok := checkNames[c]
				if !ok {
					return nil, fmt.Errorf("output: line %d: checks: unknown check %q (want canary, system_prompt_leak, exfil, insecure_html, tools or jailbreak_success)", v.Content[j].Line, c)
				}
				d.checks |= bit
			}
		default:
			return nil, fmt.Errorf("output: line %d: unknown key %q (want allowed_link_hosts, allowed_tools, leak_threshold or checks)", k.Line, k.Value)
		}
	}
	return d, nil
}

func stringList(k, v *yaml.Node) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("output: line %d: %s: want a list such as [a, b]", v.Line, k.Value)
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			return nil, fmt.Errorf("output: line %d: %s: want a list of names", e.Line, k.Value)
		}
		out = append(out, e.Value)
	}
	return out, nil
}

// Family implements pipeline.Detector.
func (d *Detector) Family() string { return Family }

// UsesViews implements pipeline.ViewUser: the canary and jailbreak checks
// read the normalized views of the response.
func (d *Detector) UsesViews(dir pipeline.Direction) bool {
	return dir == pipeline.Response && d.checks&(chkCanary|chkJailbreak) != 0
}

func (d *Detector) toolAllowed(name string) bool {
	name = strings.TrimSpace(name)
	if d.tools[name] {
		return true
	}
	for _, p := range d.toolPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// scratch holds per-call buffers, pooled so a clean answer costs few
// allocations.
type scratch struct {
	stream  []byte
	soff    []int32
	regions []region
	dests   []region
	attrs   []attr
	opens   []int32
	closes  []int32
	stack   []int32
	words   []word
	shing   []shingle
	hit     []bool // shingle marks merged with the exchange's leak memory
	covered []span
	lower   []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Detect implements pipeline.Detector. Only responses are checked: tool
// calls in request history were checked when they were answers, and the
// request side belongs to the injection family.
func (d *Detector) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	if in.Direction != pipeline.Response {
		return nil, nil
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	var out []pipeline.Finding

	var cn *canaryNeedles
	if d.checks&chkCanary != 0 && in.Exchange != nil && in.Exchange.Canary != "" {
		c := in.Exchange.Canary
		if cn = d.needles.Load(); cn == nil || cn.canary != c {
			cn = newCanaryNeedles(c)
			d.needles.Store(cn)
		}
	}
	for i := range in.Segments {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		seg := &in.Segments[i]
		var v *pipeline.View
		if i < len(in.Views) {
			v = &in.Views[i]
		}
		if cn != nil {
			out = cn.find(out, sc, i, seg.Text, v)
		}
		switch seg.Kind {
		case pipeline.KindToolName:
			if d.checks&chkTools != 0 && d.toolsOn && !d.toolAllowed(seg.Text) {
				f := pipeline.Finding{Rule: RuleToolNotAllowed, Family: Family, Score: 1}
				if seg.Text != "" { // an empty name has nothing to redact: the call as a whole is the problem
					f.Spans = []pipeline.Span{{Segment: i, Start: 0, End: len(seg.Text)}}
				}
				out = append(out, f)
			}
		case pipeline.KindToolArgs:
			if d.checks&chkTools != 0 {
				out = d.toolArgs(out, i, seg.Text)
			}
		default:
			var regions []region
			if d.checks&(chkExfil|chkHTML|chkJailbreak) != 0 {
				regions = fencedRegions(sc.regions[:0], seg.Text)
			}
			if d.checks&(chkExfil|chkHTML) != 0 {
				var err error
				out, regions, err = d.markup(ctx, out, sc, i, seg.Text, regions)
				if err != nil {
					return nil, err
				}
			}
			if d.checks&chkJailbreak != 0 {
				out = jailbreak(out, sc, i, seg.Text, v, regions)
			}
			sc.regions = regions[:0]
		}
	}
	if d.checks&chkLeak != 0 && in.Exchange != nil && len(in.Exchange.System) > 0 {
		if f, ok := d.systemLeak(ctx, sc, in); ok {
			out = append(out, f)
		}
	}
	return out, nil
}
