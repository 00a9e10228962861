// Command eval scores the pii detector on a labelled corpus:
//
//	go run ./detectors/pii/eval -data ../shared/data/pii-dev.jsonl
//
// It prints precision, recall and F1 per entity type (span level: same type
// and overlapping spans; see internal/evaluate), or JSON with -json.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/llm-firewall/llm-firewall/detectors/pii"
	"github.com/llm-firewall/llm-firewall/detectors/pii/internal/evaluate"
)

func main() {
	data := flag.String("data", "../shared/data/pii-dev.jsonl", "labelled corpus (JSON Lines: text, spans in code points)")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	threshold := flag.Float64("threshold", 0.5, "minimum finding score, as the pipeline's threshold")
	errs := flag.Int("errors", 0, "also list up to this many false positives and negatives (shows corpus text)")
	only := flag.String("type", "", "list errors of this entity type only")
	alarms := flag.String("alarms", "", "instead, count findings per type on a JSON Lines corpus without PII labels (e.g. ../shared/data/prompts-dev.jsonl)")
	flag.Parse()
	if *alarms != "" {
		if err := countAlarms(*alarms, *threshold, *asJSON, *errs, *only); err != nil {
			fmt.Fprintln(os.Stderr, "eval:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*data, *asJSON, *threshold, *errs, *only); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

func run(path string, asJSON bool, threshold float64, maxErrors int, only string) error {
	recs, err := evaluate.Load(path)
	if err != nil {
		return err
	}
	det, err := pii.New(nil)
	if err != nil {
		return err
	}
	rep, err := evaluate.Run(context.Background(), det, recs, threshold)
	if err != nil {
		return err
	}
	if only != "" {
		kept := rep.Errors[:0]
		for _, e := range rep.Errors {
			if e.Type == only {
				kept = append(kept, e)
			}
		}
		rep.Errors = kept
	}
	if len(rep.Errors) > maxErrors {
		rep.Errors = rep.Errors[:maxErrors]
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Printf("records: %d, threshold: %.2f, match: same type and overlapping span\n\n", rep.Records, rep.Threshold)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "type\tgold\tpredicted\tprecision\trecall\tF1\texact\t")
	for _, t := range rep.Types {
		if t.Gold == 0 {
			fmt.Fprintf(w, "%s\t-\t%d\t-\t-\t-\t-\t(not labelled in corpus; overlaps %v)\n", t.Type, t.Predicted, t.Overlaps)
			continue
		}
		if t.Predicted == 0 {
			fmt.Fprintf(w, "%s\t%d\t0\t-\t%.3f\t-\t-\t(not detected)\n", t.Type, t.Gold, t.Recall)
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%d\t\n", t.Type, t.Gold, t.Predicted, t.Precision, t.Recall, t.F1, t.Exact)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, e := range rep.Errors {
		fmt.Printf("%s %s %s [%d,%d) %q\n", e.Kind, e.ID, e.Type, e.Start, e.End, e.Value)
	}
	return nil
}

// countAlarms reports how often each entity type fires on texts that carry
// no PII labels: an upper bound on false alarms for a corpus assumed to hold
// little personal data.
func countAlarms(path string, threshold float64, asJSON bool, maxErrors int, only string) error {
	recs, err := evaluate.Load(path)
	if err != nil {
		return err
	}
	for i := range recs {
		recs[i].Spans = nil
	}
	det, err := pii.New(nil)
	if err != nil {
		return err
	}
	rep, err := evaluate.Run(context.Background(), det, recs, threshold)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, t := range rep.Types {
		counts[t.Type] = t.Predicted
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"records": rep.Records, "threshold": threshold, "findings": counts})
	}
	fmt.Printf("records: %d, threshold: %.2f, findings per type (no labels: every finding is a candidate false alarm)\n", rep.Records, threshold)
	for _, t := range rep.Types {
		fmt.Printf("  %-16s %d\n", t.Type, t.Predicted)
	}
	for _, e := range rep.Errors {
		if maxErrors == 0 {
			break
		}
		if only == "" || e.Type == only {
			fmt.Printf("%s %s [%d,%d) %q\n", e.ID, e.Type, e.Start, e.End, e.Value)
			maxErrors--
		}
	}
	return nil
}
