package evalreport

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func items(pos, neg []float64) []Item {
	var out []Item
	for _, s := range pos {
		out = append(out, Item{Source: "a", Attack: true, Score: s})
	}
	for _, s := range neg {
		out = append(out, Item{Source: "b", Score: s})
	}
	return out
}

func isPos(it Item) bool { return it.Attack }
func isNeg(it Item) bool { return !it.Attack }

func TestRecallAtFPR(t *testing.T) {
	// 10 negatives: at 10 % one may be flagged (the 0.9), not the 0.8.
	neg := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9}
	pos := []float64{0.95, 0.85, 0.81, 0.5, math.Inf(1)}
	p := RecallAtFPR(items(pos, neg), isPos, isNeg, 0.10)
	if p.Actual != 0.1 || p.Recall != 0.8 {
		t.Fatalf("at 10 %%: FPR %v recall %v, want 0.1 and 0.8", p.Actual, p.Recall)
	}
	p = RecallAtFPR(items(pos, neg), isPos, isNeg, 0.05)
	if p.Actual != 0 || p.Recall != 0.4 {
		t.Fatalf("at 5 %%: FPR %v recall %v, want 0 and 0.4 (0.95 and the rule)", p.Actual, p.Recall)
	}
	// Ties: two negatives share the top score, so at 10 % neither passes.
	p = RecallAtFPR(items([]float64{0.9}, []float64{0.9, 0.9, 0, 0, 0, 0, 0, 0, 0, 0}), isPos, isNeg, 0.10)
	if p.Actual != 0 || p.Recall != 0 {
		t.Fatalf("tied negatives: FPR %v recall %v, want 0 and 0", p.Actual, p.Recall)
	}
}

func TestROCEndsAndIsMonotone(t *testing.T) {
	r := ROC(items([]float64{0.9, 0.4, 0.4}, []float64{0.5, 0.1}), isPos, isNeg)
	if r[0] != [2]float64{0, 0} || r[len(r)-1] != [2]float64{1, 1} {
		t.Fatalf("curve %v does not run from (0,0) to (1,1)", r)
	}
	for i := 1; i < len(r); i++ {
		if r[i][0] < r[i-1][0] || r[i][1] < r[i-1][1] {
			t.Fatalf("curve %v is not monotone", r)
		}
	}
	if r[1] != [2]float64{0, 1.0 / 3} {
		t.Fatalf("first step %v, want (0, 1/3)", r[1])
	}
}

func TestWriteHTML(t *testing.T) {
	its := items([]float64{0.9, 0.2}, []float64{0.1, 0.3})
	its[0].Flagged = true
	var b bytes.Buffer
	err := WriteHTML(&b, Report{Title: "t <x>", Curves: []Curve{{Name: "all", Points: ROC(its, isPos, isNeg),
		Ops: []Point{RecallAtFPR(its, isPos, isNeg, 0.01)}}}, Bars: Bars(its)})
	if err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"<svg", "t &lt;x&gt;", "<path d=\"M", "a (2)", "50.0 %"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
