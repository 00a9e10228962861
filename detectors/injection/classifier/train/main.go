// Command train fits the prompt-attack classifier from prompts-dev.jsonl:
// source-grouped cross-validation for the held-out report and thresholds,
// then the final model on every row whose licence allows shipping weights.
//
//	go run ./detectors/injection/classifier/train \
//	    -data ../shared/data/prompts-dev.jsonl \
//	    -out detectors/injection/classifier/model.bin \
//	    -report detectors/injection/classifier/report.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llm-firewall/llm-firewall/detectors/injection/classifier/internal/model"
)

func main() {
	data := flag.String("data", "../shared/data/prompts-dev.jsonl", "prompts-dev.jsonl to train on")
	out := flag.String("out", "detectors/injection/classifier/model.bin", "model file to write")
	reportPath := flag.String("report", "detectors/injection/classifier/report.json", "validation report to write")
	o := defaultOptions()
	flag.Float64Var(&o.lambda, "lambda", o.lambda, "L2 regularization strength")
	flag.Float64Var(&o.sourceCap, "cap", o.sourceCap, "per (source key, label) cap on total sample weight; 0 = none")
	flag.IntVar(&o.iterations, "iters", o.iterations, "L-BFGS iterations")
	bits := flag.Int("bits", int(o.features.HashBits), "hash bits (2^bits buckets)")
	flag.IntVar(&o.augment, "augment", o.augment, "composed rows per label: attacks and benign requests placed inside benign documents (0 = none)")
	flag.Float64Var(&o.augmentCap, "augment-cap", o.augmentCap, "total sample weight of each label's composed rows, in rows")
	flag.Float64Var(&o.semantic, "semantic", o.semantic, "gain of the semantic features (mean static token embedding); 0 = n-grams only")
	enc := flag.String("encoder", "minilm", "encoder of the semantic features: minilm (English, embedded table) or e5 (multilingual; table from `make semantic-e5`)")
	flag.StringVar(&o.tablePath, "table", o.tablePath, "the e5 token table (with -encoder e5)")
	flag.Float64Var(&o.langBias, "lang-bias", o.langBias, "value of a training-only feature per language that absorbs its class prior (not shipped); 0 = none")
	flag.StringVar(&o.folds, "folds", o.folds, "held-out folds: source (every source key in turn) or groups (six groups of related keys)")
	flag.IntVar(&o.workers, "workers", o.workers, "parallel training jobs (results do not depend on it)")
	dump := flag.String("dump", "", "if set, write out-of-fold scores as TSV here (id, source key, label, category, score, and the user and tool thresholds of the row's fold)")
	flag.Parse()
	o.features.HashBits = uint8(*bits)
	switch *enc {
	case "minilm":
		o.features.Encoder = model.EncoderMiniLM
	case "e5":
		o.features.Encoder = model.EncoderE5
	default:
		fmt.Fprintf(os.Stderr, "train: -encoder %q: want minilm or e5\n", *enc)
		os.Exit(2)
	}
	o.logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

	start := time.Now()
	if err := trainFiles(*data, *out, *reportPath, *dump, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
	fmt.Printf("\ntraining took %s\n", time.Since(start).Round(100*time.Millisecond))
}

func defaultOptions() options {
	return options{
		features:   model.DefaultConfig,
		normalizer: normalizerName,
		lambda:     1e-4,
		sourceCap:  100,
		iterations: 200,
		augment:    1500,
		augmentCap: 100,
		semantic:   0,
		tablePath:  "bin/tools/semantic/table-e5.bin",
		folds:      "groups",
		workers:    min(runtime.NumCPU(), 2),
		logf:       func(string, ...any) {},
	}
}

func trainFiles(dataPath, outPath, reportPath, dumpPath string, o options, stdout io.Writer) error {
	rows, err := readRows(dataPath)
	if err != nil {
		return err
	}
	res, err := run(rows, o)
	if err != nil {
		return err
	}
	bin, err := res.model.MarshalBinary()
	if err != nil {
		return err
	}
	rep, err := json.MarshalIndent(res.report, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(outPath, bin, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := os.WriteFile(reportPath, append(rep, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if dumpPath != "" {
		var b strings.Builder
		for i, r := range res.rows {
			f := &res.report.Validation.Folds[res.fold[i]]
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%.6f\t%.6f\t%.6f\n", r.ID, r.key, r.Label, r.Category, res.oof[i], f.ThresholdUser, f.ThresholdTool)
		}
		if err := os.WriteFile(dumpPath, []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("write dump: %w", err)
		}
	}
	printReport(stdout, &res.report)
	fmt.Fprintf(stdout, "\nmodel %s: %d bytes; report %s\n", outPath, len(bin), reportPath)
	return nil
}

func readRows(path string) ([]*row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open training data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var rows []*row
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		r := &row{}
		if err := json.Unmarshal(sc.Bytes(), r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if r.Label != "attack" && r.Label != "benign" {
			return nil, fmt.Errorf("%s:%d: label %q is neither attack nor benign", path, n, r.Label)
		}
		r.key = sourceKey(r.ID)
		r.norm = normalizeText(r.Text)
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}

func printReport(w io.Writer, r *model.Report) {
	v := &r.Validation
	fmt.Fprintf(w, "held-out (%s)\n", v.Protocol)
	fmt.Fprintf(w, "AUC %.4f (vs benign_hard %.4f)\n\n", v.AUC, v.AUCBenignHard)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operating point\tthreshold\trecall\tFPR benign\tFPR benign_hard\tFPR documents\tFPR source-macro\t")
	for _, p := range []struct {
		name string
		op   *model.OperatingPoint
	}{{"user", &v.User}, {"tool/document", &v.Tool}} {
		fmt.Fprintf(tw, "%s\t%.4f\t%.2f%%\t%.2f%%\t%.2f%%\t%.2f%%\t%.2f%%\t\n", p.name, p.op.Threshold, 100*p.op.Recall,
			100*p.op.FPRBenign, 100*p.op.FPRBenignHard, 100*p.op.FPRDocuments, 100*p.op.FPRSourceMacro)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "category\trecall user\trecall tool\t")
	for _, c := range []string{"jailbreak", "injection", "indirect_injection", "extraction"} {
		fmt.Fprintf(tw, "%s\t%.2f%%\t%.2f%%\t\n", c, 100*v.User.RecallByCategory[c], 100*v.Tool.RecallByCategory[c])
	}
	tw.Flush()
	fmt.Fprintln(w)
	fold := map[string]string{}
	for _, f := range v.Folds {
		for _, s := range f.Sources {
			fold[s] = f.Name
		}
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tfold\tlabel\trows\tflagged user\tflagged tool\t")
	bs := slices.Clone(v.User.BySource)
	for i, s := range bs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.2f%%\t%.2f%%\t\n", s.Source, fold[s.Source], s.Label, s.Rows, 100*s.Rate, 100*v.Tool.BySource[i].Rate)
	}
	tw.Flush()
	fmt.Fprintln(w, "\n(flagged = recall for attack rows, false-positive rate for benign rows)")
	for _, e := range r.Excluded {
		fmt.Fprintf(w, "excluded %s (%d rows): %s\n", e.Key, e.Rows, e.Reason)
	}
}
