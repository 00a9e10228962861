package synth

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// Found is one finding as the scorer sees it.
type Found struct {
	Rule       string
	Entity     string
	Start, End int
}

// Row is one line of the report: a token type (recall) or a negative
// category (false positives).
type Row struct {
	Type     string   `json:"type"`
	Samples  int      `json:"samples"`
	Hits     int      `json:"hits"`            // positives: the exact secret reported with the right entity
	Partial  int      `json:"partial"`         // positives: found, but another span or entity
	Flagged  int      `json:"flagged"`         // negatives: samples with any finding
	Recall   float64  `json:"recall"`          // positives: Hits / Samples
	FPRate   float64  `json:"fp_rate"`         // negatives: Flagged / Samples
	Examples []string `json:"rules,omitempty"` // rules that fired wrongly (negatives) or instead (positives)
}

// Report is the whole evaluation.
type Report struct {
	Positives []Row   `json:"positives"`
	Negatives []Row   `json:"negatives"`
	Recall    float64 `json:"recall"`  // micro-average over positive samples
	FPRate    float64 `json:"fp_rate"` // over negative samples
}

// Score runs detect over the samples and tallies recall per token type and
// false positives per negative category.
func Score(pos, neg []Sample, detect func(text string) []Found) Report {
	var rep Report
	idx := map[string]int{}
	row := func(rows *[]Row, t string) *Row {
		key := fmt.Sprintf("%p/%s", rows, t)
		i, ok := idx[key]
		if !ok {
			i = len(*rows)
			idx[key] = i
			*rows = append(*rows, Row{Type: t})
		}
		return &(*rows)[i]
	}
	hits, total := 0, 0
	for _, s := range pos {
		r := row(&rep.Positives, s.Type)
		r.Samples++
		total++
		found := detect(s.Text)
		exact, partial := false, ""
		for _, f := range found {
			if f.Start == s.Start && f.End == s.End && f.Entity == s.Entity {
				exact = true
				break
			}
			if f.Start < s.End && s.Start < f.End {
				partial = f.Rule
			}
		}
		switch {
		case exact:
			r.Hits++
			hits++
		case partial != "":
			r.Partial++
			addExample(r, partial)
		}
	}
	flagged, ntotal := 0, 0
	for _, s := range neg {
		r := row(&rep.Negatives, s.Type)
		r.Samples++
		ntotal++
		if found := detect(s.Text); len(found) > 0 {
			r.Flagged++
			flagged++
			for _, f := range found {
				addExample(r, f.Rule)
			}
		}
	}
	for i := range rep.Positives {
		r := &rep.Positives[i]
		r.Recall = float64(r.Hits) / float64(r.Samples)
	}
	for i := range rep.Negatives {
		r := &rep.Negatives[i]
		r.FPRate = float64(r.Flagged) / float64(r.Samples)
	}
	if total > 0 {
		rep.Recall = float64(hits) / float64(total)
	}
	if ntotal > 0 {
		rep.FPRate = float64(flagged) / float64(ntotal)
	}
	return rep
}

func addExample(r *Row, rule string) {
	if !slices.Contains(r.Examples, rule) && len(r.Examples) < 5 {
		r.Examples = append(r.Examples, rule)
	}
}

// Print writes the report as two aligned tables.
func (rep Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "type\tsamples\texact\tpartial\trecall\tother rules")
	for _, r := range rep.Positives {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%v\n", r.Type, r.Samples, r.Hits, r.Partial, r.Recall, r.Examples)
	}
	fmt.Fprintf(tw, "ALL\t\t\t\t%.3f\t\n", rep.Recall)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "hard negative\tsamples\tflagged\t\tfp rate\trules")
	for _, r := range rep.Negatives {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\t%.3f\t%v\n", r.Type, r.Samples, r.Flagged, r.FPRate, r.Examples)
	}
	fmt.Fprintf(tw, "ALL\t\t\t\t%.3f\t\n", rep.FPRate)
	tw.Flush()
}
