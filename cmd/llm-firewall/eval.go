package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llm-firewall/llm-firewall/internal/evalreport"
)

// confusion counts one group's outcomes.
type confusion struct {
	TP, FN, FP, TN int
}

func (c *confusion) add(positive, flagged bool) {
	switch {
	case positive && flagged:
		c.TP++
	case positive:
		c.FN++
	case flagged:
		c.FP++
	default:
		c.TN++
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func (c confusion) Recall() float64    { return ratio(c.TP, c.TP+c.FN) }
func (c confusion) FPR() float64       { return ratio(c.FP, c.FP+c.TN) }
func (c confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }
func (c confusion) F1() float64 {
	p, r := c.Precision(), c.Recall()
	return 2 * p * r / (p + r)
}

// latencyHist keeps percentiles in bounded memory: log-spaced buckets of
// about 2 % width from 100 ns to 10 s.
type latencyHist struct {
	counts [1000]int
	n      int
}

const histBase = 1.02

func (h *latencyHist) add(d time.Duration) {
	ns := max(float64(d.Nanoseconds()), 100)
	i := min(int(math.Log(ns/100)/math.Log(histBase)), len(h.counts)-1)
	h.counts[i]++
	h.n++
}

func (h *latencyHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	target := int(math.Ceil(q * float64(h.n)))
	seen := 0
	for i, c := range h.counts {
		seen += c
		if seen >= target {
			return time.Duration(100 * math.Pow(histBase, float64(i+1)))
		}
	}
	return 0
}

type evalReport struct {
	Overall    confusion             `json:"overall"`
	ByCategory map[string]*confusion `json:"by_category"`
	BySource   map[string]*confusion `json:"by_source"`
	BySubset   map[string]*confusion `json:"by_source_key"`
	P50, P99   time.Duration         `json:"-"`
	P50us      float64               `json:"p50_us"`
	P99us      float64               `json:"p99_us"`
	Errors     int                   `json:"fail_closed"`
	// Operating points: recall at false-positive rates 0.5/1/2/5 % against
	// ordinary benign rows and against hard negatives (category
	// benign_hard), with the threshold swept over each verdict's MaxScore.
	OpsBenign   []evalreport.Point `json:"operating_points_benign,omitempty"`
	OpsHard     []evalreport.Point `json:"operating_points_hard_negatives,omitempty"`
	CategoryAt1 map[string]float64 `json:"recall_by_category_at_benign_fpr_1pct,omitempty"`
	SourceAt1   map[string]float64 `json:"recall_by_source_key_at_benign_fpr_1pct,omitempty"`
	items       []evalreport.Item
	curves      []evalreport.Curve
}

// sourceKey is the id without its trailing "-N" (the data README's source key).
var sourceKey = regexp.MustCompile(`^(.+)-\d+$`)

func isPositive(label string) (positive, known bool) {
	switch strings.ToLower(label) {
	case "attack", "harmful", "injection", "jailbreak", "1", "true", "unsafe":
		return true, true
	case "benign", "safe", "0", "false":
		return false, true
	}
	return false, false
}

const evalUsage = `usage: llm-firewall eval --in labelled.jsonl [--policy FILE | --profile NAME] [--json] [--html FILE]

Reads JSON Lines {"id","text","label"} (label attack|harmful or benign; optional
"category", "source", and "role"/"provenance" as scan takes them) and prints
recall, false-positive rate, precision and F1, per category, per source and per
source key (the id without its "-N"), the detection latency p50/p99, and
operating points: recall at false-positive rates 0.5/1/2/5 % against ordinary
benign rows and against hard negatives (category benign_hard), the threshold
swept over each verdict's highest finding score, and recall per category and
per source key at a benign false-positive rate of 1 %. --html writes a report
with the ROC curves and per-source bars. The operating points keep one small
record per input line (about 50 bytes); the rest stays bounded.
`

func evalCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, evalUsage); fs.PrintDefaults() }
	var pf policyFlags
	pf.register(fs)
	inPath := fs.String("in", "", "labelled JSON Lines file, - for standard input")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	htmlPath := fs.String("html", "", "also write an HTML report (ROC curves, per-source bars) to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *inPath == "" {
		fs.Usage()
		return 2
	}
	p, err := pf.load()
	if err != nil {
		fmt.Fprintln(stderr, "eval:", err)
		return 2
	}
	in, err := openIn(*inPath)
	if err != nil {
		fmt.Fprintln(stderr, "eval:", err)
		return 2
	}
	defer in.Close()

	rep := evalReport{ByCategory: map[string]*confusion{}, BySource: map[string]*confusion{}, BySubset: map[string]*confusion{}}
	var hist latencyHist
	names := interner{}
	s := newScannerFor(p)
	lr := newLineReader(in, false)
	prog := newProgress(stderr)
	for {
		rec, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(stderr, "eval:", err)
			return 1
		}
		positive, known := isPositive(rec.Label)
		if !known {
			fmt.Fprintf(stderr, "eval: line %d: label %q: want attack, harmful or benign\n", lr.n, rec.Label)
			return 1
		}
		v, d := s.scan(rec)
		hist.add(d)
		if v.Cause != "" {
			rep.Errors++
		}
		flagged := v.WouldBe != 0
		rep.Overall.add(positive, flagged)
		for _, g := range []struct {
			m   map[string]*confusion
			key string
		}{{rep.ByCategory, rec.Category}, {rep.BySource, rec.Source}, {rep.BySubset, subsetOf(rec.ID)}} {
			if g.key == "" {
				continue
			}
			if g.m[g.key] == nil {
				g.m[g.key] = &confusion{}
			}
			g.m[g.key].add(positive, flagged)
		}
		score := v.MaxScore
		if v.Cause != "" {
			score = math.Inf(1) // fail closed: flagged at any threshold
		}
		rep.items = append(rep.items, evalreport.Item{Source: names.intern(subsetOf(rec.ID)), Category: names.intern(rec.Category),
			Attack: positive, Score: score, Flagged: flagged})
		prog.tick(lr.n)
	}
	prog.done()
	rep.operatingPoints()
	if *htmlPath != "" {
		if err := rep.writeHTML(*htmlPath, p.Name, *inPath); err != nil {
			fmt.Fprintln(stderr, "eval: --html:", err)
			return 1
		}
	}
	rep.P50, rep.P99 = hist.quantile(0.50), hist.quantile(0.99)
	rep.P50us, rep.P99us = float64(rep.P50.Nanoseconds())/1e3, float64(rep.P99.Nanoseconds())/1e3
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "eval:", err)
			return 1
		}
		return 0
	}
	printReport(stdout, &rep, p.Name)
	printOps(stdout, &rep)
	if *htmlPath != "" {
		fmt.Fprintln(stdout, "\nreport:", *htmlPath)
	}
	return 0
}

// interner keeps one copy of each source key and category.
type interner map[string]string

func (in interner) intern(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}

func isAttack(it evalreport.Item) bool { return it.Attack }

// negatives selects benign rows: ordinary ones (hard false) or hard
// negatives (category benign_hard).
func negatives(hard bool) func(evalreport.Item) bool {
	return func(it evalreport.Item) bool { return !it.Attack && (it.Category == "benign_hard") == hard }
}

// operatingPoints builds the two curves (positives against ordinary benign
// rows and against hard negatives) and takes their operating points and the
// per-category and per-source-key recall at benign FPR 1 % from them.
func (r *evalReport) operatingPoints() {
	for _, c := range []struct {
		name string
		hard bool
		ops  *[]evalreport.Point
	}{{"positives vs ordinary benign", false, &r.OpsBenign}, {"positives vs hard negatives (benign_hard)", true, &r.OpsHard}} {
		cv := evalreport.NewCurve(c.name, r.items, isAttack, negatives(c.hard))
		if cv.Points == nil {
			continue // no positives or no such negatives
		}
		r.curves = append(r.curves, cv)
		*c.ops = cv.Ops
	}
	if len(r.OpsBenign) == 0 {
		return
	}
	r.CategoryAt1, r.SourceAt1 = map[string]float64{}, map[string]float64{}
	for _, by := range []struct {
		m   map[string]float64
		key func(evalreport.Item) string
	}{{r.CategoryAt1, func(it evalreport.Item) string { return it.Category }}, {r.SourceAt1, func(it evalreport.Item) string { return it.Source }}} {
		keys := map[string]bool{}
		for _, it := range r.items {
			if it.Attack && by.key(it) != "" {
				keys[by.key(it)] = true
			}
		}
		for k := range keys {
			p := evalreport.RecallAtFPR(r.items, func(it evalreport.Item) bool { return it.Attack && by.key(it) == k }, negatives(false), 0.01)
			by.m[k] = p.Recall
		}
	}
}

func (r *evalReport) writeHTML(path, policy, in string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	o := r.Overall
	err = evalreport.WriteHTML(f, evalreport.Report{
		Title: "llm-firewall eval: policy " + policy,
		Notes: []string{
			fmt.Sprintf("%d inputs of %s scored by policy %s: recall %s, false-positive rate %s at the policy's thresholds.", o.TP+o.FN+o.FP+o.TN, filepath.Base(in), policy, pct(o.Recall()), pct(o.FPR())),
			"Operating points sweep one threshold over each verdict's highest finding score; the policy's own thresholds differ per detector and role.",
		},
		Curves: r.curves, Bars: evalreport.Bars(r.items),
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func subsetOf(id string) string {
	if m := sourceKey.FindStringSubmatch(id); m != nil {
		return m[1]
	}
	return ""
}

func printOps(w io.Writer, r *evalReport) {
	if len(r.OpsBenign) == 0 && len(r.OpsHard) == 0 {
		return
	}
	fmt.Fprintln(w, "\noperating points (threshold swept over each verdict's highest finding score):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "negatives\t")
	for _, x := range evalreport.FPRs {
		fmt.Fprintf(tw, "FPR %.1f%%\t", 100*x)
	}
	fmt.Fprintln(tw)
	for _, row := range []struct {
		name string
		ops  []evalreport.Point
	}{{"ordinary benign", r.OpsBenign}, {"hard negatives", r.OpsHard}} {
		if len(row.ops) == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t", row.name)
		for _, p := range row.ops {
			fmt.Fprintf(tw, "%s\t", pct(p.Recall))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, by := range []struct {
		title string
		m     map[string]float64
	}{{"category", r.CategoryAt1}, {"source key", r.SourceAt1}} {
		if len(by.m) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nrecall by %s at ordinary-benign FPR 1%%:\n", by.title)
		keys := make([]string, 0, len(by.m))
		for k := range by.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-24s %s\n", k, pct(by.m[k]))
		}
	}
}

func printReport(w io.Writer, r *evalReport, policy string) {
	o := r.Overall
	fmt.Fprintf(w, "policy %s: %d inputs (%d positive, %d benign)\n", policy, o.TP+o.FN+o.FP+o.TN, o.TP+o.FN, o.FP+o.TN)
	fmt.Fprintf(w, "recall %s  false-positive rate %s  precision %s  F1 %s\n", pct(o.Recall()), pct(o.FPR()), pct(o.Precision()), pct(o.F1()))
	fmt.Fprintf(w, "latency p50 %s  p99 %s  (detection only, one core)\n", r.P50, r.P99)
	if r.Errors > 0 {
		fmt.Fprintf(w, "fail-closed verdicts: %d (counted as flagged)\n", r.Errors)
	}
	for _, t := range []struct {
		title string
		m     map[string]*confusion
	}{{"category", r.ByCategory}, {"source", r.BySource}, {"source key", r.BySubset}} {
		if len(t.m) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nby %s:\n", t.title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, t.title+"\tpositive\tcaught\trecall\tbenign\tflagged\tFPR\t")
		keys := make([]string, 0, len(t.m))
		for k := range t.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c := t.m[k]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%s\t\n", k, c.TP+c.FN, c.TP, pct(c.Recall()), c.FP+c.TN, c.FP, pct(c.FPR()))
		}
		tw.Flush()
	}
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*f)
}

// progress draws a line count on a terminal, at most five times a second.
type progress struct {
	w    io.Writer
	on   bool
	last time.Time
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	on := false
	if ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, on: on}
}

func (p *progress) tick(n int) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%d inputs scanned", n)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
