// Command holdout measures the whole injection detector on the whole-source
// validation split: every row is scored by the default policy's injection
// detector with the classifier replaced by its out-of-fold score (the
// classifier trained without the row's source group, from the trainer's
// -dump output), so no row is judged by a model that saw its source.
//
//	go run ./detectors/injection/classifier/train -data ../shared/data/prompts-dev.jsonl \
//	    -out "$DIR/m.bin" -report "$DIR/r.json" -dump "$DIR/oof.tsv"
//	go run ./detectors/injection/holdout -data ../shared/data/prompts-dev.jsonl -oof "$DIR/oof.tsv"
//
// (`make holdout` runs both.) What it cannot hold out: the rules were
// written by people who had seen this corpus, and decoded layers are not
// scored by fold classifiers (only rules and hidden-text signals see them).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/detectors/injection"
	"github.com/llm-firewall/llm-firewall/detectors/injection/classifier"
	"github.com/llm-firewall/llm-firewall/internal/evalreport"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

type counts struct{ pos, tp, neg, fp int }

// fold is a row's out-of-fold classifier score and the thresholds it is
// judged at (chosen by the trainer without the row's fold).
type fold struct{ score, user, tool float64 }

func main() {
	data := flag.String("data", "../shared/data/prompts-dev.jsonl", "labelled prompts (JSON Lines)")
	oofPath := flag.String("oof", "", "out-of-fold scores from the trainer's -dump (id, source, label, category, score, user and tool thresholds)")
	reportPath := flag.String("report", "", "the trainer's report for these scores, for its document sources (default: the shipped model's)")
	htmlPath := flag.String("html", "", "if set, write the report (ROC curves, per-source bars) as an HTML page here")
	flag.Parse()
	rep := classifier.Metrics
	if *reportPath != "" {
		b, err := os.ReadFile(*reportPath)
		rep = classifier.Report{}
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		if err != nil || len(rep.DocumentSources) == 0 {
			fmt.Fprintln(os.Stderr, "holdout: -report:", err, "(or no document sources in it)")
			os.Exit(1)
		}
	}
	documentSources := map[string]bool{}
	for _, k := range rep.DocumentSources {
		documentSources[k] = true
	}
	if *oofPath == "" {
		fmt.Fprintln(os.Stderr, "holdout: -oof is required (run the trainer with -dump first)")
		os.Exit(2)
	}
	oof, err := readOOF(*oofPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdout:", err)
		os.Exit(1)
	}
	// The default policy's injection settings, with the embedded classifier
	// switched off: its place is taken by the out-of-fold score below.
	ps, err := pipeline.ParsePolicySet([]byte("version: holdout\npolicies:\n  default:\n    detectors:\n      injection: {classifier: false}\n"), "holdout")
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdout:", err)
		os.Exit(1)
	}
	e := pipeline.NewEngine(all.EngineOptions()...)
	f, err := os.Open(*data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdout:", err)
		os.Exit(1)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	byCat, bySrc := map[string]*counts{}, map[string]*counts{}
	var total, tool counts
	var items, toolItems []evalreport.Item
	skipped := 0
	// judge runs the detector on text with provenance prov and returns
	// whether it flags at the row's fold thresholds, and the row's score for
	// the ROC: +Inf when the rules block, else the classifier probability
	// when the classifier can flag the text at some threshold.
	judge := func(text string, role pipeline.Role, prov pipeline.Provenance, fs fold) (bool, float64) {
		in := &pipeline.Input{Direction: pipeline.Request, Meta: pipeline.Meta{Messages: 1},
			Segments: []pipeline.Segment{{Text: text, Role: role, Provenance: prov}}}
		v := e.Evaluate(context.Background(), ps.Default, in)
		n := in.Views[0].Text
		if v.WouldBe == pipeline.Block {
			return true, math.Inf(1)
		}
		score := math.Inf(-1)
		if injection.ClassifierFlagsAt(fs.score, prov, n, fs.score, fs.score) {
			score = fs.score
		}
		return injection.ClassifierFlagsAt(fs.score, prov, n, fs.user, fs.tool), score
	}
	for sc.Scan() {
		var row struct{ ID, Text, Label, Category string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			fmt.Fprintln(os.Stderr, "holdout:", err)
			os.Exit(1)
		}
		fs, ok := oof[row.ID]
		if !ok {
			skipped++ // not used in training (licence), so it has no fold score
			continue
		}
		src := row.ID[:strings.LastIndex(row.ID, "-")]
		attack := row.Label == "attack"
		flagged, score := judge(row.Text, pipeline.RoleUser, pipeline.FromUser, fs)
		for _, c := range []*counts{&total, get(byCat, row.Category), get(bySrc, src)} {
			c.add(attack, flagged)
		}
		items = append(items, evalreport.Item{Source: src, Category: row.Category, Attack: attack, Score: score, Flagged: flagged})
		// Indirect injections and benign documents again, as tool results.
		if row.Category == "indirect_injection" || row.Category == "benign" && documentSources[src] {
			flagged, score := judge(row.Text, pipeline.RoleTool, pipeline.FromTool, fs)
			tool.add(attack, flagged)
			toolItems = append(toolItems, evalreport.Item{Source: src, Category: row.Category, Attack: attack, Score: score, Flagged: flagged})
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "holdout:", err)
		os.Exit(1)
	}
	fmt.Printf("whole-source held-out: %d rows (%d without a fold score skipped); each row judged at its fold's thresholds\n", total.pos+total.neg, skipped)
	fmt.Printf("recall %s  FPR %s\n", pct(total.tp, total.pos), pct(total.fp, total.neg))
	fmt.Printf("as tool results: indirect injections %s caught, benign documents %s flagged (%d and %d rows)\n",
		pct(tool.tp, tool.pos), pct(tool.fp, tool.neg), tool.pos, tool.neg)
	table("category", byCat)
	table("source key", bySrc)

	isAttack := func(it evalreport.Item) bool { return it.Attack }
	negOf := func(cat string) func(evalreport.Item) bool {
		return func(it evalreport.Item) bool { return !it.Attack && (cat == "" || it.Category == cat) }
	}
	curves := []evalreport.Curve{
		evalreport.NewCurve("user turns vs benign", items, isAttack, negOf("benign")),
		evalreport.NewCurve("user turns vs benign_hard", items, isAttack, negOf("benign_hard")),
		evalreport.NewCurve("indirect injections as tool results vs benign documents", toolItems, isAttack, negOf("")),
	}
	fmt.Println("\noperating points (rules fixed, classifier threshold swept; recall at the lowest threshold within the FPR bound):")
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "negatives\t")
	for _, x := range evalreport.FPRs {
		fmt.Fprintf(tw, "FPR %.1f%%\t", 100*x)
	}
	fmt.Fprintln(tw)
	for _, c := range curves {
		fmt.Fprintf(tw, "%s\t", c.Name)
		for _, p := range c.Ops {
			fmt.Fprintf(tw, "%.1f%%\t", 100*p.Recall)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Println("\nrecall by category at benign FPR 1%:")
	for _, cat := range []string{"jailbreak", "injection", "indirect_injection", "extraction"} {
		p := evalreport.RecallAtFPR(items, func(it evalreport.Item) bool { return it.Attack && it.Category == cat },
			func(it evalreport.Item) bool { return !it.Attack && it.Category == "benign" }, 0.01)
		fmt.Printf("  %-20s %.1f%%\n", cat, 100*p.Recall)
	}
	if *htmlPath != "" {
		out, err := os.Create(*htmlPath)
		if err == nil {
			err = evalreport.WriteHTML(out, evalreport.Report{
				Title: "llm-firewall: injection detector, whole-source held-out",
				Notes: []string{
					fmt.Sprintf("%d rows of %s; every row judged by the default policy's injection detector with the classifier replaced by its out-of-fold score (a model trained without the row's source key), at thresholds chosen without the row's fold.", total.pos+total.neg, *data),
					fmt.Sprintf("At those thresholds: recall %s, FPR %s; as tool results, indirect injections %s caught at %s of benign documents flagged.", pct(total.tp, total.pos), pct(total.fp, total.neg), pct(tool.tp, tool.pos), pct(tool.fp, tool.neg)),
					"The rules are not held out: they were written by people who had read this corpus.",
				},
				Curves: curves, Bars: evalreport.Bars(items),
			})
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "holdout: -html:", err)
			os.Exit(1)
		}
		fmt.Println("\nreport:", *htmlPath)
	}
}

func (c *counts) add(attack, flagged bool) {
	if attack {
		c.pos++
		if flagged {
			c.tp++
		}
		return
	}
	c.neg++
	if flagged {
		c.fp++
	}
}

func get(m map[string]*counts, k string) *counts {
	if m[k] == nil {
		m[k] = &counts{}
	}
	return m[k]
}

func pct(a, b int) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

func table(title string, m map[string]*counts) {
	fmt.Printf("\nby %s:\n", title)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, title+"\tattacks\tcaught\trecall\tbenign\tflagged\tFPR\t")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := m[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%s\t\n", k, c.pos, c.tp, pct(c.tp, c.pos), c.neg, c.fp, pct(c.fp, c.neg))
	}
	tw.Flush()
}

// readOOF reads the trainer's dump.
func readOOF(path string) (map[string]fold, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]fold{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		p := strings.Split(sc.Text(), "\t")
		if len(p) != 7 {
			return nil, fmt.Errorf("%s:%d: want 7 tab-separated fields (a dump of this trainer)", path, n)
		}
		var v [3]float64
		for i := 4; i < len(p); i++ {
			x, err := strconv.ParseFloat(p[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, n, err)
			}
			v[i-4] = x
		}
		out[p[0]] = fold{v[0], v[1], v[2]}
	}
	return out, sc.Err()
}
