package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// scanner evaluates single texts the way the server evaluates a user turn.
type scanner struct {
	engine *pipeline.Engine
	policy *pipeline.Policy
}

// policyFlags are shared by scan and eval.
type policyFlags struct {
	file, profile string
}

func (pf *policyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.file, "policy", "", "policy file (default: the embedded policy set)")
	fs.StringVar(&pf.profile, "profile", "", "policy name in the set, e.g. a built-in profile: balanced, strict, monitor (default: the set's default)")
}

func (pf *policyFlags) load() (*pipeline.Policy, error) {
	var (
		ps  *pipeline.PolicySet
		err error
	)
	if pf.file != "" {
		ps, err = loadPolicyFile(pf.file)
	} else {
		ps, err = pipeline.LoadDefaultPolicySet()
	}
	if err != nil {
		return nil, err
	}
	if pf.profile == "" {
		return ps.Default, nil
	}
	p, ok := ps.Policy(pf.profile)
	if !ok {
		return nil, fmt.Errorf("no policy or profile %q (have %v)", pf.profile, ps.Names())
	}
	return p, nil
}

// scanResult is one output line of `scan`.
type scanResult struct {
	ID       string        `json:"id"`
	Flagged  bool          `json:"flagged"`
	Action   string        `json:"action"`
	Score    float64       `json:"score"`
	Rules    []string      `json:"rules"`
	Findings []scanFinding `json:"findings"`
	Micros   int64         `json:"us"`
	Error    string        `json:"error,omitempty"`
}

type scanFinding struct {
	Rule  string `json:"rule"`
	Type  string `json:"type,omitempty"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

func newScannerFor(p *pipeline.Policy) *scanner {
	return &scanner{engine: pipeline.NewEngine(all.EngineOptions()...), policy: p}
}

// scan evaluates one text as a message of a chat request, with the line's
// role and provenance (a user turn when the line names none).
func (s *scanner) scan(rec inputLine) (pipeline.Verdict, time.Duration) {
	role, prov := rec.segmentRole()
	in := pipeline.Input{
		Direction: pipeline.Request,
		Meta:      pipeline.Meta{API: "text", Messages: 1, BodyBytes: len(rec.Text)},
		Segments:  []pipeline.Segment{{Text: rec.Text, Role: role, Provenance: prov, Field: "text"}},
	}
	start := time.Now()
	v := s.engine.Evaluate(context.Background(), s.policy, &in)
	return v, time.Since(start)
}

func result(id string, v pipeline.Verdict, d time.Duration) scanResult {
	r := scanResult{ID: id, Action: v.WouldBe.String(), Rules: v.Rules(), Micros: d.Microseconds(), Findings: []scanFinding{}}
	if v.Cause != pipeline.CauseNone {
		r.Action, r.Error = "block", string(v.Cause)
	}
	r.Flagged = v.WouldBe != pipeline.Allow
	if r.Rules == nil {
		r.Rules = []string{}
	}
	for _, f := range v.Findings {
		r.Score = max(r.Score, f.Score)
		if len(f.Spans) == 0 {
			r.Findings = append(r.Findings, scanFinding{Rule: f.Rule, Type: f.Entity, Start: 0, End: 0})
		}
		for _, sp := range f.Spans {
			r.Findings = append(r.Findings, scanFinding{Rule: f.Rule, Type: f.Entity, Start: sp.Start, End: sp.End})
		}
	}
	return r
}

// inputLine is one JSON line of scan or eval input; other fields are ignored.
type inputLine struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Label    string `json:"label"`
	Category string `json:"category"`
	Source   string `json:"source"`
	// Role and Provenance say how the text reaches the model, so a
	// document can be scored as a tool result: role user (default),
	// system, assistant or tool; provenance user_input, system,
	// tool_result, document, model_output or tool_definition (default:
	// the role's own).
	Role       string `json:"role"`
	Provenance string `json:"provenance"`
}

var lineProvenances = map[string]pipeline.Role{
	"user_input": pipeline.RoleUser, "system": pipeline.RoleSystem, "tool_result": pipeline.RoleTool,
	"document": pipeline.RoleUser, "model_output": pipeline.RoleAssistant, "tool_definition": pipeline.RoleTool,
}

// check refuses a role or provenance the pipeline does not know.
func (l inputLine) check() error {
	if l.Role != "" && pipeline.Role(l.Role).Provenance() == "" {
		return fmt.Errorf("role %q: want user, system, assistant or tool", l.Role)
	}
	if _, ok := lineProvenances[l.Provenance]; !ok && l.Provenance != "" {
		return fmt.Errorf("provenance %q: want user_input, system, tool_result, document, model_output or tool_definition", l.Provenance)
	}
	return nil
}

// segmentRole is the line's role and provenance: a provenance alone
// brings its usual role (a document is read in a user turn).
func (l inputLine) segmentRole() (pipeline.Role, pipeline.Provenance) {
	role := pipeline.Role(l.Role)
	if l.Role == "" {
		role = pipeline.RoleUser
		if r, ok := lineProvenances[l.Provenance]; ok {
			role = r
		}
	}
	prov := role.Provenance()
	if l.Provenance != "" {
		prov = pipeline.Provenance(l.Provenance)
	}
	return role, prov
}

// lineReader reads JSON Lines (or plain lines with plain set) with bounded
// memory: one line at a time, up to maxLine bytes.
type lineReader struct {
	sc    *bufio.Scanner
	plain bool
	n     int
}

const maxLine = 8 << 20

func newLineReader(r io.Reader, plain bool) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &lineReader{sc: sc, plain: plain}
}

// next returns the next record; io.EOF at the end.
func (lr *lineReader) next() (inputLine, error) {
	for lr.sc.Scan() {
		lr.n++
		line := lr.sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		if lr.plain {
			return inputLine{ID: fmt.Sprint(lr.n), Text: string(line)}, nil
		}
		var in inputLine
		if err := json.Unmarshal(line, &in); err != nil {
			return in, fmt.Errorf("line %d: not a JSON object with \"id\" and \"text\": %v", lr.n, err)
		}
		if in.ID == "" {
			in.ID = fmt.Sprint(lr.n)
		}
		if err := in.check(); err != nil {
			return in, fmt.Errorf("line %d: %w", lr.n, err)
		}
		return in, nil
	}
	if err := lr.sc.Err(); err != nil {
		return inputLine{}, fmt.Errorf("line %d: %w", lr.n+1, err)
	}
	return inputLine{}, io.EOF
}

func openIn(path string) (io.ReadCloser, error) {
	if path == "" || path == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	return os.Open(path)
}

func openOut(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

const scanUsage = `usage: llm-firewall scan [--policy FILE | --profile NAME] [--in FILE|-] [--out FILE|-] [--text]

Reads JSON Lines {"id","text"} with optional "role" (user, system, assistant,
tool) and "provenance" (user_input, system, tool_result, document,
model_output, tool_definition), so a document can be scored as a tool
result (other fields ignored; --text for plain lines, scored as user turns)
and writes one JSON line per input:
  {"id","flagged","action","score","rules":[...],"findings":[{"rule","type","start","end"}],"us"}
flagged is true when the policy would block or redact (also in shadow mode);
start/end are byte offsets into the UTF-8 text; us is the detection time.
`

func scanCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scanUsage); fs.PrintDefaults() }
	var pf policyFlags
	pf.register(fs)
	inPath := fs.String("in", "-", "input file, - for standard input")
	outPath := fs.String("out", "-", "output file, - for standard output")
	plain := fs.Bool("text", false, "input is plain text, one input per line")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p, err := pf.load()
	if err != nil {
		fmt.Fprintln(stderr, "scan:", err)
		return 2
	}
	in, err := openIn(*inPath)
	if err != nil {
		fmt.Fprintln(stderr, "scan:", err)
		return 2
	}
	defer in.Close()
	out, closeOut, err := openOut(*outPath, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "scan:", err)
		return 2
	}
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	s := newScannerFor(p)
	lr := newLineReader(in, *plain)
	for {
		rec, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(stderr, "scan:", err)
			w.Flush()
			closeOut()
			return 1
		}
		v, d := s.scan(rec)
		if err := enc.Encode(result(rec.ID, v, d)); err != nil {
			fmt.Fprintln(stderr, "scan:", err)
			return 1
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, "scan:", err)
		return 1
	}
	if err := closeOut(); err != nil {
		fmt.Fprintln(stderr, "scan:", err)
		return 1
	}
	return 0
}
