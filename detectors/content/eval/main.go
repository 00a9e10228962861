// Command eval measures the content detector on labelled data:
//
//	go run ./detectors/content/eval -data ../shared/data/content-dev.jsonl -preset kids
//
// It prints recall on harmful rows (overall, per category, per source key)
// and the false-positive rate on benign and benign_hard rows (per source
// key). A row counts as flagged when the detector reports any finding with
// a score of at least 0.5 (the pipeline's default threshold). -prompts adds
// the benign rows of prompts-dev.jsonl as further false-positive sets.
//
// Rows of sources the shipped classifier was trained on are scored
// in-sample. For held-out figures, train a model without some sources and
// evaluate it on them only:
//
//	go run ./detectors/content/train -holdout sst,pair-advbench,surge-toxicity,xstest-unsafe,multijail%5 \
//	    -out "$TMPDIR"/ho.bin -report "$TMPDIR"/ho.json
//	go run ./detectors/content/eval -model "$TMPDIR"/ho.bin -model-report "$TMPDIR"/ho.json \
//	    -heldout sst,pair-advbench,surge-toxicity,xstest-unsafe,multijail%5 -preset kids
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/detectors/content"
	"github.com/llm-firewall/llm-firewall/detectors/content/internal/model"
	"github.com/llm-firewall/llm-firewall/detectors/normalize"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Count is flagged out of n.
type Count struct {
	N       int     `json:"n"`
	Flagged int     `json:"flagged"`
	Rate    float64 `json:"rate"`
}

// Result is the -json output.
type Result struct {
	Preset            string            `json:"preset"`
	Split             string            `json:"split"`
	Recall            Count             `json:"recall_harmful"`
	RecallMacroSource float64           `json:"recall_macro_by_source"`
	RecallByCategory  map[string]Count  `json:"recall_by_category"`
	RecallBySource    map[string]Count  `json:"recall_by_source"`
	FPBenign          Count             `json:"fp_benign"`
	FPBenignHard      Count             `json:"fp_benign_hard"`
	FPBySource        map[string]Count  `json:"fp_by_source"`
	Rules             map[string]int    `json:"findings_by_rule"`
	FPRules           map[string]int    `json:"benign_findings_by_rule"`
	Examples          map[string]string `json:"-"`
	MeanMicros        float64           `json:"mean_micros_per_row"`
}

func main() {
	data := flag.String("data", "../shared/data/content-dev.jsonl", "content-dev.jsonl")
	prompts := flag.String("prompts", "", "prompts-dev.jsonl: also report false positives on its benign rows")
	preset := flag.String("preset", "kids", "preset: default or kids")
	cats := flag.String("categories", "", "extra categories overrides as YAML flow mapping, e.g. {profanity: off}")
	modelPath := flag.String("model", "", "evaluate with this model.bin instead of the embedded one")
	modelReport := flag.String("model-report", "", "report.json of -model")
	heldout := flag.String("heldout", "", "only rows the model was not trained on, given the -holdout list it was trained with")
	jsonOut := flag.Bool("json", false, "print JSON")
	misses := flag.Int("misses", 0, "print up to N missed harmful and N flagged benign row ids (no text)")
	flag.Parse()
	log.SetFlags(0)

	if *modelPath != "" {
		bin, err := os.ReadFile(*modelPath)
		if err != nil {
			log.Fatal(err)
		}
		rep, err := os.ReadFile(*modelReport)
		if err != nil {
			log.Fatal(err)
		}
		if err := content.LoadModel(bin, rep); err != nil {
			log.Fatal(err)
		}
	}
	src := "preset: " + *preset
	if *cats != "" {
		src += "\ncategories: " + *cats
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(src), &node); err != nil {
		log.Fatal(err)
	}
	det, err := content.New(&node)
	if err != nil {
		log.Fatal(err)
	}
	rows, err := model.Load(*data)
	if err != nil {
		log.Fatal(err)
	}
	if *prompts != "" {
		pr, err := model.Load(*prompts)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range pr {
			if r.Label == "benign" {
				r.Key = "prompts:" + r.Key
				rows = append(rows, r)
			}
		}
	}
	split := "all rows (rows of trained sources are in-sample)"
	if *heldout != "" {
		rows = heldOut(rows, *heldout)
		split = "held out from -heldout " + *heldout + " plus evaluation-only sources"
	}
	res := Result{Preset: *preset, Split: split, RecallByCategory: map[string]Count{}, RecallBySource: map[string]Count{}, FPBySource: map[string]Count{}, Rules: map[string]int{}, FPRules: map[string]int{}}
	ctx := context.Background()
	var missed, fps []string
	start := time.Now()
	for _, r := range rows {
		in := &pipeline.Input{Direction: pipeline.Request,
			Segments: []pipeline.Segment{{Text: r.Text, Role: pipeline.RoleUser, Provenance: pipeline.FromUser}},
			Views:    []pipeline.View{normalize.Normalize(r.Text)}}
		fs, err := det.Detect(ctx, in)
		if err != nil {
			log.Fatal(err)
		}
		flagged := false
		for _, f := range fs {
			if f.Score >= 0.5 {
				flagged = true
				res.Rules[f.Rule]++
				if r.Label != "harmful" {
					res.FPRules[f.Rule]++
				}
			}
		}
		bump := func(m map[string]Count, k string) {
			c := m[k]
			c.N++
			if flagged {
				c.Flagged++
			}
			m[k] = c
		}
		switch {
		case r.Label == "harmful":
			res.Recall.N++
			if flagged {
				res.Recall.Flagged++
			} else if len(missed) < *misses {
				missed = append(missed, r.ID)
			}
			bump(res.RecallByCategory, r.Category)
			bump(res.RecallBySource, r.Key)
		default:
			if r.Category == "benign_hard" {
				res.FPBenignHard.N++
				if flagged {
					res.FPBenignHard.Flagged++
				}
			} else {
				res.FPBenign.N++
				if flagged {
					res.FPBenign.Flagged++
				}
			}
			if flagged && len(fps) < *misses {
				fps = append(fps, r.ID)
			}
			bump(res.FPBySource, r.Key+"/"+r.Category)
		}
	}
	res.MeanMicros = float64(time.Since(start).Microseconds()) / float64(max(1, len(rows)))
	fin := func(c *Count) {
		if c.N > 0 {
			c.Rate = float64(c.Flagged) / float64(c.N)
		}
	}
	fin(&res.Recall)
	fin(&res.FPBenign)
	fin(&res.FPBenignHard)
	for _, m := range []map[string]Count{res.RecallByCategory, res.RecallBySource, res.FPBySource} {
		for k, c := range m {
			fin(&c)
			m[k] = c
		}
	}
	for _, c := range res.RecallBySource {
		res.RecallMacroSource += c.Rate / float64(len(res.RecallBySource))
	}
	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return
	}
	fmt.Printf("preset %s; %s\n", res.Preset, res.Split)
	fmt.Printf("recall harmful      %5d/%5d  %.1f%%  (macro over sources %.1f%%)\n", res.Recall.Flagged, res.Recall.N, 100*res.Recall.Rate, 100*res.RecallMacroSource)
	fmt.Printf("FP benign           %5d/%5d  %.1f%%\n", res.FPBenign.Flagged, res.FPBenign.N, 100*res.FPBenign.Rate)
	fmt.Printf("FP benign_hard      %5d/%5d  %.1f%%\n", res.FPBenignHard.Flagged, res.FPBenignHard.N, 100*res.FPBenignHard.Rate)
	table := func(title string, m map[string]Count) {
		fmt.Println(title)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c := m[k]
			fmt.Printf("  %-40s %5d/%5d  %5.1f%%\n", k, c.Flagged, c.N, 100*c.Rate)
		}
	}
	table("recall by category", res.RecallByCategory)
	table("recall by source", res.RecallBySource)
	table("false positives by source", res.FPBySource)
	fmt.Println("findings on benign rows by rule")
	for k, n := range res.FPRules {
		fmt.Printf("  %-40s %5d\n", k, n)
	}
	fmt.Printf("mean %.1f µs per row (normalization included)\n", res.MeanMicros)
	if len(missed)+len(fps) > 0 {
		fmt.Println("missed:", strings.Join(missed, " "))
		fmt.Println("false positives:", strings.Join(fps, " "))
	}
}

// heldOut keeps the rows a model trained with -holdout spec never saw.
func heldOut(rows []model.Row, spec string) []model.Row {
	held := map[string]bool{}
	mj := 0
	for _, h := range strings.Split(spec, ",") {
		h = strings.TrimSpace(h)
		if strings.HasPrefix(h, "multijail%") {
			fmt.Sscanf(h, "multijail%%%d", &mj)
		} else if h != "" {
			held[h] = true
		}
	}
	var out []model.Row
	for _, r := range rows {
		key := strings.TrimPrefix(r.Key, "prompts:")
		if !model.Shippable[key] || held[key] || (mj > 0 && r.Group >= 0 && r.Group%mj == 0) {
			out = append(out, r)
		}
	}
	return out
}
