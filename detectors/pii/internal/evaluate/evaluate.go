// Package evaluate scores the pii detector against a labelled corpus in the
// format of pii-dev.jsonl (text plus entity spans in Unicode code points).
// It is shared by the eval command and the package's dataset test.
//
// Matching rule (span level): a predicted span and a gold span match when
// they have the same entity type and overlap by at least one byte.
// Precision is the share of predicted spans that match some gold span;
// recall is the share of gold spans matched by some predicted span. Exact
// counts the matches whose boundaries are identical.
package evaluate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Span is a labelled entity. Start and End are byte offsets once loaded.
type Span struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Type  string `json:"type"`
}

// Record is one labelled text.
type Record struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Spans []Span `json:"spans"`
}

// Load reads a JSON Lines corpus and converts its code-point spans to byte
// offsets into Text.
func Load(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open corpus: %w", err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if err := toBytes(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	return out, nil
}

// toBytes maps code-point offsets to byte offsets.
func toBytes(r *Record) error {
	offs := make([]int, 0, len(r.Text)+1)
	for i := range r.Text { // i steps over the start byte of each rune
		offs = append(offs, i)
	}
	offs = append(offs, len(r.Text))
	if !utf8.ValidString(r.Text) {
		return fmt.Errorf("record %s: text is not valid UTF-8", r.ID)
	}
	for k, s := range r.Spans {
		if s.Start < 0 || s.End < s.Start || s.End > len(offs)-1 {
			return fmt.Errorf("record %s: span %d [%d, %d) out of range", r.ID, k, s.Start, s.End)
		}
		r.Spans[k].Start, r.Spans[k].End = offs[s.Start], offs[s.End]
	}
	return nil
}

// TypeScore is the result for one entity type.
type TypeScore struct {
	Type      string         `json:"type"`
	Labelled  bool           `json:"labelled"` // the corpus labels this type; otherwise precision and recall are not measured
	Gold      int            `json:"gold"`
	Predicted int            `json:"predicted"`
	FoundGold int            `json:"found_gold"` // gold spans matched
	GoodPred  int            `json:"good_pred"`  // predicted spans matched
	Exact     int            `json:"exact"`      // gold spans matched with identical boundaries
	Precision float64        `json:"precision"`  // GoodPred / Predicted (1 when nothing predicted)
	Recall    float64        `json:"recall"`     // FoundGold / Gold (1 when no gold)
	F1        float64        `json:"f1"`
	Overlaps  map[string]int `json:"overlaps,omitempty"` // for types without gold: predicted spans overlapping gold of another type
}

// Error is one false positive or false negative, for inspection.
type Error struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"` // "fp" or "fn"
	Type  string `json:"type"`
	Start int    `json:"start"` // byte offsets
	End   int    `json:"end"`
	Value string `json:"value"`
}

// Report is the whole evaluation.
type Report struct {
	Records   int         `json:"records"`
	Threshold float64     `json:"threshold"`
	Types     []TypeScore `json:"types"`
	Errors    []Error     `json:"errors,omitempty"`
}

// Type returns the score of one entity type.
func (r *Report) Type(name string) (TypeScore, bool) {
	for _, t := range r.Types {
		if t.Type == name {
			return t, true
		}
	}
	return TypeScore{}, false
}

// Run evaluates det on the records, keeping findings whose score reaches
// threshold (as the pipeline does).
func Run(ctx context.Context, det pipeline.Detector, recs []Record, threshold float64) (*Report, error) {
	acc := map[string]*TypeScore{}
	get := func(t string) *TypeScore {
		if acc[t] == nil {
			acc[t] = &TypeScore{Type: t}
		}
		return acc[t]
	}
	rep := &Report{Records: len(recs), Threshold: threshold}
	for _, r := range recs {
		in := &pipeline.Input{
			Direction: pipeline.Request,
			Segments:  []pipeline.Segment{{Text: r.Text, Role: pipeline.RoleUser, Provenance: pipeline.FromUser}},
		}
		fs, err := det.Detect(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.ID, err)
		}
		var preds []Span
		for _, f := range fs {
			if f.Score < threshold {
				continue
			}
			for _, s := range f.Spans {
				preds = append(preds, Span{Start: s.Start, End: s.End, Type: f.Entity})
			}
		}
		for _, g := range r.Spans {
			ts := get(g.Type)
			ts.Gold++
			found, exact := false, false
			for _, p := range preds {
				if p.Type == g.Type && overlap(p, g) {
					found = true
					exact = exact || p.Start == g.Start && p.End == g.End
				}
			}
			if found {
				ts.FoundGold++
			} else {
				rep.Errors = append(rep.Errors, Error{r.ID, "fn", g.Type, g.Start, g.End, r.Text[g.Start:g.End]})
			}
			if exact {
				ts.Exact++
			}
		}
		for _, p := range preds {
			ts := get(p.Type)
			ts.Predicted++
			good := false
			for _, g := range r.Spans {
				if p.Type == g.Type && overlap(p, g) {
					good = true
				} else if overlap(p, g) {
					if ts.Overlaps == nil {
						ts.Overlaps = map[string]int{}
					}
					ts.Overlaps[g.Type]++
				}
			}
			if good {
				ts.GoodPred++
			} else {
				rep.Errors = append(rep.Errors, Error{r.ID, "fp", p.Type, p.Start, p.End, r.Text[p.Start:p.End]})
			}
		}
	}
	for _, ts := range acc {
		ts.Labelled = ts.Gold > 0
		if !ts.Labelled {
			rep.Types = append(rep.Types, *ts)
			continue
		}
		ts.Precision, ts.Recall = 1, 1
		if ts.Predicted > 0 {
			ts.Precision = float64(ts.GoodPred) / float64(ts.Predicted)
		}
		if ts.Gold > 0 {
			ts.Recall = float64(ts.FoundGold) / float64(ts.Gold)
		}
		if ts.Precision+ts.Recall > 0 {
			ts.F1 = 2 * ts.Precision * ts.Recall / (ts.Precision + ts.Recall)
		}
		if ts.Gold > 0 && ts.Predicted > 0 {
			ts.Overlaps = nil // only informative for types the corpus does not label
		}
		rep.Types = append(rep.Types, *ts)
	}
	sort.Slice(rep.Types, func(i, j int) bool { return rep.Types[i].Type < rep.Types[j].Type })
	return rep, nil
}

func overlap(a, b Span) bool { return a.Start < b.End && b.Start < a.End }
