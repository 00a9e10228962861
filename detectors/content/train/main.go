// Command train fits the content classifier embedded by detectors/content:
//
//	go run ./detectors/content/train -data ../shared/data/content-dev.jsonl \
//	    -prompts ../shared/data/prompts-dev.jsonl \
//	    -out detectors/content/model.bin -report detectors/content/report.json
//
// Only rows whose source licence allows shipping derived weights are used
// (model.Shippable); alpaca, maliciousinstruct, oktest and ethos rows are
// never trained on. The decision thresholds are chosen on out-of-fold scores
// of a cross-validation that holds out whole source keys (multijail: whole
// prompts with all their translations), never on rows scored in-sample.
// -holdout names further source keys to leave out entirely, to build a model
// for an honest held-out evaluation (eval -model).
package main

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"sort"
	"strings"

	"github.com/llm-firewall/llm-firewall/detectors/content/internal/model"
	"github.com/llm-firewall/llm-firewall/detectors/normalize"
)

// Report is written next to the model and embedded with it.
type Report struct {
	DataHash string `json:"data_hash"`
	Rows     int    `json:"rows"`
	Holdout  string `json:"holdout,omitempty"`
	// Thresholds on P(harmful) chosen on out-of-fold scores: Strict for
	// the kids preset, Default for the default preset.
	ThresholdDefault float64 `json:"threshold_default"`
	ThresholdStrict  float64 `json:"threshold_strict"`
	// Out-of-fold figures per source key at those thresholds.
	OOF map[string]Rate `json:"oof"`
}

// Rate is a flagged share.
type Rate struct {
	N             int     `json:"n"`
	Label         string  `json:"label"`
	FlagDefault   float64 `json:"flag_default"`
	FlagStrict    float64 `json:"flag_strict"`
	MeanPHarmful  float64 `json:"mean_p_harmful"`
	CategoryRight float64 `json:"category_right,omitempty"`
}

const perSourceCap = 1500

func main() {
	data := flag.String("data", "../shared/data/content-dev.jsonl", "content-dev.jsonl")
	prompts := flag.String("prompts", "../shared/data/prompts-dev.jsonl", "prompts-dev.jsonl (benign rows are used as negatives); empty to skip")
	out := flag.String("out", "detectors/content/model.bin", "model output")
	reportPath := flag.String("report", "detectors/content/report.json", "report output")
	holdout := flag.String("holdout", "", "comma-separated source keys to leave out (\"multijail%5\" leaves out every fifth multijail prompt)")
	cv := flag.Bool("cv", true, "run the grouped cross-validation that chooses thresholds")
	fpDefault := flag.Float64("fp-default", 0.01, "out-of-fold false-positive target (macro over benign source keys) for the default threshold")
	fpStrict := flag.Float64("fp-strict", 0.03, "out-of-fold false-positive target for the strict (kids) threshold")
	epochs := flag.Int("epochs", model.DefaultTrain.Epochs, "training epochs")
	l2 := flag.Float64("l2", model.DefaultTrain.L2, "L2 penalty")
	rate := flag.Float64("rate", model.DefaultTrain.Rate, "AdaGrad learning rate")
	flag.Parse()
	log.SetFlags(0)
	model.DefaultTrain.Epochs, model.DefaultTrain.L2, model.DefaultTrain.Rate = *epochs, *l2, *rate

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
				rows = append(rows, r)
			}
		}
	}
	held := map[string]bool{}
	mjMod := 0
	for _, h := range strings.Split(*holdout, ",") {
		h = strings.TrimSpace(h)
		if strings.HasPrefix(h, "multijail%") {
			fmt.Sscanf(h, "multijail%%%d", &mjMod)
			continue
		}
		if h != "" {
			held[h] = true
		}
	}
	var train []model.Row
	perKey := map[string]int{}
	rng := rand.New(rand.NewPCG(7, 11))
	for _, r := range rows {
		if !model.Shippable[r.Key] || held[r.Key] || (mjMod > 0 && r.Group >= 0 && r.Group%mjMod == 0) {
			continue
		}
		train = append(train, r)
	}
	// Cap very large sources with a seeded sample so they do not swamp the rest.
	rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	capped := train[:0]
	for _, r := range train {
		if perKey[r.Key+r.Label] >= perSourceCap {
			continue
		}
		perKey[r.Key+r.Label]++
		capped = append(capped, r)
	}
	train = capped
	sort.SliceStable(train, func(i, j int) bool { return train[i].ID < train[j].ID })

	cfg := model.DefaultConfig
	ex := featurize(cfg, train)
	h := sha256.New()
	fmt.Fprintf(h, "%+v|%+v|%d|", cfg, model.DefaultTrain, perSourceCap)
	for _, r := range train {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\n", r.ID, r.Label, r.Category, r.Text)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))

	rep := Report{DataHash: fmt.Sprintf("%x", sum), Rows: len(train), Holdout: *holdout, OOF: map[string]Rate{}}
	if *cv {
		rep.ThresholdDefault, rep.ThresholdStrict = crossValidate(cfg, train, ex, *fpDefault, *fpStrict, rep.OOF)
	}
	w, bias := model.Train(cfg, ex, model.DefaultTrain)
	m := model.Quantize(cfg, w, bias)
	m.DataHash = sum
	if err := os.WriteFile(*out, m.Encode(), 0o644); err != nil {
		log.Fatal(err)
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(*reportPath, append(js, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("trained on %d rows; thresholds default %.3f strict %.3f; wrote %s", len(train), rep.ThresholdDefault, rep.ThresholdStrict, *out)
}

// Prepare is the text the classifier sees: the normalized view, de-leeted.
func Prepare(text string) string { return model.Deleet(normalize.Normalize(text).Text) }

func featurize(cfg model.Config, rows []model.Row) []model.Example {
	s := model.NewScratch(cfg)
	n := map[string]int{}
	for _, r := range rows {
		n[r.Key+r.Label]++
	}
	ex := make([]model.Example, len(rows))
	var wh, wb float64
	for i, r := range rows {
		e := &ex[i]
		e.Idx, e.Val = cfg.Vector(s, Prepare(r.Text))
		// Weigh per source key rather than per row.
		e.Weight = float32(min(1, 400/float64(n[r.Key+r.Label])))
		for k := range e.Y {
			e.Y[k] = -1
		}
		if r.Harmful() {
			e.Y[0] = 1
			wh += float64(e.Weight)
			c := model.HeadOf(r.Category)
			for k := 1; k < model.NumHeads; k++ {
				if c > 0 {
					e.Y[k] = 0
				}
			}
			if c > 0 {
				e.Y[c] = 1
			}
		} else {
			e.Y[0] = 0
			wb += float64(e.Weight)
		}
	}
	// Balance the two labels' total weight.
	for i := range ex {
		if ex[i].Y[0] == 1 {
			ex[i].Weight *= float32((wh + wb) / (2 * wh))
		} else {
			ex[i].Weight *= float32((wh + wb) / (2 * wb))
		}
	}
	return ex
}

func foldOf(r *model.Row) string {
	if r.Group >= 0 {
		return fmt.Sprintf("multijail/%d", r.Group%5)
	}
	return r.Key
}

func crossValidate(cfg model.Config, rows []model.Row, ex []model.Example, fpDef, fpStrict float64, oof map[string]Rate) (float64, float64) {
	folds := map[string][]int{}
	var names []string
	for i := range rows {
		f := foldOf(&rows[i])
		if folds[f] == nil {
			names = append(names, f)
		}
		folds[f] = append(folds[f], i)
	}
	sort.Strings(names)
	p := make([]float64, len(rows))
	catOK := make([]bool, len(rows))
	for _, f := range names {
		in := map[int]bool{}
		for _, i := range folds[f] {
			in[i] = true
		}
		var tr []model.Example
		for i := range ex {
			if !in[i] {
				tr = append(tr, ex[i])
			}
		}
		w, b := model.Train(cfg, tr, model.DefaultTrain)
		m := model.Quantize(cfg, w, b)
		var sc [model.NumHeads]float64
		for _, i := range folds[f] {
			m.Scores(Prepare(rows[i].Text), &sc)
			p[i] = sc[0]
			best := 1
			for k := 2; k < model.NumHeads; k++ {
				if sc[k] > sc[best] {
					best = k
				}
			}
			catOK[i] = best == model.HeadOf(rows[i].Category)
		}
		log.Printf("fold %-20s %5d rows", f, len(folds[f]))
	}
	// Macro false-positive rate over benign source keys at threshold t.
	byKey := map[string][]int{}
	for i := range rows {
		byKey[rows[i].Key+"|"+rows[i].Label] = append(byKey[rows[i].Key+"|"+rows[i].Label], i)
	}
	fpAt := func(t float64) float64 {
		var s float64
		var k int
		for key, idx := range byKey {
			if !strings.HasSuffix(key, "|benign") {
				continue
			}
			c := 0
			for _, i := range idx {
				if p[i] >= t {
					c++
				}
			}
			s += float64(c) / float64(len(idx))
			k++
		}
		return s / float64(k)
	}
	choose := func(target float64) float64 {
		for t := 0.05; t < 0.995; t += 0.005 {
			if fpAt(t) <= target {
				return t
			}
		}
		return 0.995
	}
	td, ts := choose(fpDef), choose(fpStrict)
	for key, idx := range byKey {
		var r Rate
		r.N = len(idx)
		r.Label = strings.SplitN(key, "|", 2)[1]
		cat := 0
		for _, i := range idx {
			if p[i] >= td {
				r.FlagDefault++
			}
			if p[i] >= ts {
				r.FlagStrict++
			}
			r.MeanPHarmful += p[i]
			if catOK[i] {
				cat++
			}
		}
		r.FlagDefault /= float64(r.N)
		r.FlagStrict /= float64(r.N)
		r.MeanPHarmful /= float64(r.N)
		if r.Label == "harmful" {
			r.CategoryRight = float64(cat) / float64(r.N)
		}
		oof[strings.SplitN(key, "|", 2)[0]+"/"+r.Label] = r
	}
	return td, ts
}
