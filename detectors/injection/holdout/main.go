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
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/detectors/injection"
	"github.com/llm-firewall/llm-firewall/detectors/injection/classifier"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

type counts struct{ pos, tp, neg, fp int }

func main() {
	data := flag.String("data", "../shared/data/prompts-dev.jsonl", "labelled prompts (JSON Lines)")
	oofPath := flag.String("oof", "", "out-of-fold scores from the trainer's -dump (id, source, label, category, score)")
	reportPath := flag.String("report", "", "the trainer's report for these scores: its thresholds are applied (default: the shipped model's)")
	flag.Parse()
	thUser, thTool := classifier.ThresholdUser, classifier.ThresholdTool
	if *reportPath != "" {
		b, err := os.ReadFile(*reportPath)
		var rep classifier.Report
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		if err != nil || rep.ThresholdUser <= 0 || rep.ThresholdTool <= 0 {
			fmt.Fprintln(os.Stderr, "holdout: -report:", err, "(or no thresholds in it)")
			os.Exit(1)
		}
		thUser, thTool = rep.ThresholdUser, rep.ThresholdTool
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
	var all counts
	skipped := 0
	for sc.Scan() {
		var row struct{ ID, Text, Label, Category string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			fmt.Fprintln(os.Stderr, "holdout:", err)
			os.Exit(1)
		}
		score, ok := oof[row.ID]
		if !ok {
			skipped++ // not used in training (licence), so it has no fold score
			continue
		}
		in := &pipeline.Input{Direction: pipeline.Request, Meta: pipeline.Meta{Messages: 1},
			Segments: []pipeline.Segment{{Text: row.Text, Role: pipeline.RoleUser, Provenance: pipeline.FromUser}}}
		v := e.Evaluate(context.Background(), ps.Default, in)
		flagged := v.WouldBe == pipeline.Block || injection.ClassifierFlagsAt(score, pipeline.FromUser, len(in.Views[0].Text), thUser, thTool)
		src := row.ID[:strings.LastIndex(row.ID, "-")]
		for _, c := range []*counts{&all, get(byCat, row.Category), get(bySrc, src)} {
			if row.Label == "attack" {
				c.pos++
				if flagged {
					c.tp++
				}
			} else {
				c.neg++
				if flagged {
					c.fp++
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "holdout:", err)
		os.Exit(1)
	}
	fmt.Printf("whole-source held-out: %d rows (%d without a fold score skipped)\n", all.pos+all.neg, skipped)
	fmt.Printf("recall %s  FPR %s\n", pct(all.tp, all.pos), pct(all.fp, all.neg))
	table("category", byCat)
	table("source key", bySrc)
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

func readOOF(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		p := strings.Split(sc.Text(), "\t")
		if len(p) < 5 {
			return nil, fmt.Errorf("%s:%d: want 5 tab-separated fields", path, n)
		}
		v, err := strconv.ParseFloat(p[4], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		out[p[0]] = v
	}
	return out, sc.Err()
}
