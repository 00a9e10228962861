// Package evalreport turns scored, labelled rows into operating points
// (recall at a fixed false-positive rate) and a self-contained HTML report
// with a ROC curve and per-source bars (inline SVG, no scripts, no network).
package evalreport

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
)

// Item is one scored row. Score orders rows by suspicion: a row is flagged
// at threshold t when Score >= t (+Inf: flagged whatever the threshold,
// e.g. by a rule; -Inf: never).
type Item struct {
	Source   string
	Category string
	Attack   bool
	Score    float64
	Flagged  bool // at the operating threshold the report is about
}

// FPRs are the false-positive rates operating points are reported at.
var FPRs = []float64{0.005, 0.01, 0.02, 0.05}

// Point is the recall at the lowest threshold whose false-positive rate
// on the negatives stays within FPR.
type Point struct {
	FPR       float64 // the bound
	Actual    float64 // the false-positive rate reached
	Recall    float64
	Threshold float64
}

// RecallAtFPR sweeps the threshold over positives and the negatives that
// neg selects. Rows with equal scores are flagged together, so Actual never
// exceeds FPR.
func RecallAtFPR(items []Item, pos, neg func(Item) bool, fpr float64) Point {
	var ps, ns []float64
	for _, it := range items {
		switch {
		case pos(it):
			ps = append(ps, it.Score)
		case neg(it):
			ns = append(ns, it.Score)
		}
	}
	p := Point{FPR: fpr, Threshold: math.Inf(1)}
	if len(ps) == 0 || len(ns) == 0 {
		return p
	}
	slices.Sort(ns)
	slices.Reverse(ns)
	allowed := int(math.Floor(fpr * float64(len(ns))))
	// The threshold sits just above the first negative that must pass.
	var t float64
	if allowed >= len(ns) {
		t = math.Inf(-1)
	} else {
		t = math.Nextafter(ns[allowed], math.Inf(1))
	}
	flaggedNeg := 0
	for _, s := range ns {
		if s >= t {
			flaggedNeg++
		}
	}
	tp := 0
	for _, s := range ps {
		if s >= t {
			tp++
		}
	}
	p.Threshold, p.Actual, p.Recall = t, float64(flaggedNeg)/float64(len(ns)), float64(tp)/float64(len(ps))
	return p
}

// ROC returns the curve (FPR, TPR) of positives against the selected
// negatives, from (0,0) to (1,1), one point per distinct score.
func ROC(items []Item, pos, neg func(Item) bool) [][2]float64 {
	type sc struct {
		s   float64
		pos bool
	}
	var all []sc
	var np, nn int
	for _, it := range items {
		switch {
		case pos(it):
			all = append(all, sc{it.Score, true})
			np++
		case neg(it):
			all = append(all, sc{it.Score, false})
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].s > all[j].s })
	out := [][2]float64{{0, 0}}
	tp, fp := 0, 0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			if all[j].pos {
				tp++
			} else {
				fp++
			}
			j++
		}
		out = append(out, [2]float64{float64(fp) / float64(nn), float64(tp) / float64(np)})
		i = j
	}
	if last := out[len(out)-1]; last != [2]float64{1, 1} {
		out = append(out, [2]float64{1, 1})
	}
	return out
}

// Curve is one named ROC curve of a report.
type Curve struct {
	Name   string
	Points [][2]float64
	Ops    []Point
}

// NewCurve is the ROC of positives pos against negatives neg with its
// operating points at FPRs; Points is nil when either side is empty.
func NewCurve(name string, items []Item, pos, neg func(Item) bool) Curve {
	c := Curve{Name: name, Points: ROC(items, pos, neg)}
	for _, x := range FPRs {
		c.Ops = append(c.Ops, RecallAtFPR(items, pos, neg, x))
	}
	return c
}

// Bar is one source key's rate at the operating threshold.
type Bar struct {
	Source string
	Attack bool // recall for attack sources, false-positive rate for benign
	Rows   int
	Rate   float64
}

// Bars gives one bar per (source, label), sorted by label then source.
func Bars(items []Item) []Bar {
	type key struct {
		s string
		a bool
	}
	n, hit := map[key]int{}, map[key]int{}
	for _, it := range items {
		k := key{it.Source, it.Attack}
		n[k]++
		if it.Flagged {
			hit[k]++
		}
	}
	var out []Bar
	for k, c := range n {
		out = append(out, Bar{Source: k.s, Attack: k.a, Rows: c, Rate: float64(hit[k]) / float64(c)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Attack != out[j].Attack {
			return out[i].Attack
		}
		return out[i].Source < out[j].Source
	})
	return out
}

// Report is what WriteHTML draws.
type Report struct {
	Title  string
	Notes  []string
	Curves []Curve
	Bars   []Bar
}

var colors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}

// WriteHTML writes r as one self-contained HTML page.
func WriteHTML(w io.Writer, r Report) error {
	type svgCurve struct {
		Name, Color, Path string
	}
	const size, pad = 360.0, 40.0
	// FPR on a log axis from 0.1 % to 100 %: the low-FPR end is what matters.
	x := func(f float64) float64 {
		f = max(f, 0.001)
		return pad + (math.Log10(f)+3)/3*size
	}
	y := func(t float64) float64 { return pad + (1-t)*size }
	var curves []svgCurve
	for i, c := range r.Curves {
		var b strings.Builder
		for j, p := range c.Points {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%.1f,%.1f ", cmd, x(p[0]), y(p[1]))
		}
		curves = append(curves, svgCurve{c.Name, colors[i%len(colors)], b.String()})
	}
	type tick struct {
		At    float64
		Label string
	}
	var ticks, yticks []tick
	for _, f := range []float64{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1} {
		ticks = append(ticks, tick{x(f), trimPct(f)})
	}
	for _, t := range []float64{0, 0.25, 0.5, 0.75, 0.9, 1} {
		yticks = append(yticks, tick{y(t), trimPct(t)})
	}
	type bar struct {
		Bar
		Y, W  float64
		Color string
		Pct   string
	}
	var bars []bar
	for i, b := range r.Bars {
		col := "#2ca02c"
		if !b.Attack {
			col = "#d62728"
		}
		bars = append(bars, bar{b, float64(i)*18 + 10, b.Rate * 400, col, fmt.Sprintf("%.1f %%", 100*b.Rate)})
	}
	data := map[string]any{
		"R": r, "Curves": curves, "Ticks": ticks, "YTicks": yticks, "Bars": bars,
		"W": size + 2*pad, "H": size + 2*pad, "X0": pad, "X1": pad + size, "Y0": pad, "Y1": pad + size,
		"BarH": float64(len(bars))*18 + 20,
	}
	return page.Execute(w, data)
}

func trimPct(f float64) string {
	s := fmt.Sprintf("%.1f", 100*f)
	return strings.TrimSuffix(s, ".0") + "%"
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{"pct": func(f float64) float64 { return 100 * f }}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.R.Title}}</title>
<style>body{font:14px sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}th{background:#f4f4f4}</style>
</head><body>
<h1>{{.R.Title}}</h1>
{{range .R.Notes}}<p>{{.}}</p>{{end}}
<h2>ROC (false-positive rate on a log axis)</h2>
<svg width="{{.W}}" height="{{.H}}" xmlns="http://www.w3.org/2000/svg" font-size="10">
<rect x="{{.X0}}" y="{{.Y0}}" width="360" height="360" fill="none" stroke="#999"/>
{{range .Ticks}}<line x1="{{.At}}" y1="{{$.Y1}}" x2="{{.At}}" y2="{{$.Y0}}" stroke="#eee"/><text x="{{.At}}" y="{{$.Y1}}" dy="14" text-anchor="middle">{{.Label}}</text>{{end}}
{{range .YTicks}}<line x1="{{$.X0}}" y1="{{.At}}" x2="{{$.X1}}" y2="{{.At}}" stroke="#eee"/><text x="{{$.X0}}" y="{{.At}}" dx="-4" text-anchor="end">{{.Label}}</text>{{end}}
{{range .Curves}}<path d="{{.Path}}" fill="none" stroke="{{.Color}}" stroke-width="1.5"/>{{end}}
</svg>
<p>{{range .Curves}}<span style="color:{{.Color}}">■</span> {{.Name}} &nbsp; {{end}}</p>
<h2>Operating points</h2>
<table><tr><th>curve</th><th>FPR bound</th><th>FPR reached</th><th>recall</th></tr>
{{range .R.Curves}}{{$n := .Name}}{{range .Ops}}<tr><td>{{$n}}</td><td>{{printf "%.1f %%" (pct .FPR)}}</td><td>{{printf "%.2f %%" (pct .Actual)}}</td><td>{{printf "%.1f %%" (pct .Recall)}}</td></tr>{{end}}{{end}}
</table>
<h2>Per source key at the operating threshold</h2>
<p><span style="color:#2ca02c">■</span> recall (attack rows) &nbsp; <span style="color:#d62728">■</span> false-positive rate (benign rows)</p>
<svg width="760" height="{{.BarH}}" xmlns="http://www.w3.org/2000/svg" font-size="11">
{{range .Bars}}<text x="200" y="{{.Y}}" dy="11" text-anchor="end">{{.Source}} ({{.Rows}})</text><rect x="210" y="{{.Y}}" width="{{.W}}" height="13" fill="{{.Color}}"/><text x="{{.W}}" y="{{.Y}}" dx="216" dy="11">{{.Pct}}</text>{{end}}
</svg>
</body></html>
`))
