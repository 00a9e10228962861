package main

import "math"

// dataset is a row-major sparse matrix: row i's features are
// idx[off[i]:off[i+1]] with values val[...] (L2-normalized sublinear tf).
type dataset struct {
	off []int
	idx []uint32
	val []float32
}

func (d *dataset) rows() int { return len(d.off) - 1 }

// lrProblem is weighted, L2-regularized logistic regression over a subset
// of rows; the bias (last parameter) is not regularized.
type lrProblem struct {
	d      *dataset
	rows   []int     // rows to train on, in a fixed order
	y      []float64 // per dataset row: 1 attack, 0 benign
	w      []float64 // per dataset row: sample weight
	dim    int
	lambda float64
	wsum   float64
}

// eval returns the objective and writes its gradient into g. Sums run in
// row order in float64, so results are bit-for-bit reproducible.
func (p *lrProblem) eval(x, g []float64) float64 {
	clear(g)
	bias := x[p.dim]
	var loss float64
	for _, r := range p.rows {
		lo, hi := p.d.off[r], p.d.off[r+1]
		z := bias
		for k := lo; k < hi; k++ {
			z += x[p.d.idx[k]] * float64(p.d.val[k])
		}
		y, wt := p.y[r], p.w[r]/p.wsum
		// log(1+exp(-z)) for y=1, log(1+exp(z)) for y=0, computed stably.
		m := z
		if y == 1 {
			m = -z
		}
		if m > 0 {
			loss += wt * (m + math.Log1p(math.Exp(-m)))
		} else {
			loss += wt * math.Log1p(math.Exp(m))
		}
		gz := wt * (sigmoid(z) - y)
		for k := lo; k < hi; k++ {
			g[p.d.idx[k]] += gz * float64(p.d.val[k])
		}
		g[p.dim] += gz
	}
	var reg float64
	for j := 0; j < p.dim; j++ {
		reg += x[j] * x[j]
		g[j] += p.lambda * x[j]
	}
	return loss + 0.5*p.lambda*reg
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// lbfgs minimises p from zero with limited-memory BFGS (m=10) and a
// backtracking Armijo line search. Deterministic: no randomness, fixed
// evaluation order.
func lbfgs(p *lrProblem, iters int) []float64 {
	n := p.dim + 1
	const m = 10
	x := make([]float64, n)
	g := make([]float64, n)
	xn := make([]float64, n)
	gn := make([]float64, n)
	dir := make([]float64, n)
	s := make([][]float64, 0, m)
	yv := make([][]float64, 0, m)
	rho := make([]float64, 0, m)
	alpha := make([]float64, m)
	f := p.eval(x, g)
	for it := 0; it < iters; it++ {
		gnorm := math.Sqrt(dot(g, g))
		if gnorm < 1e-9 {
			break
		}
		// Two-loop recursion: dir = -H g.
		copy(dir, g)
		for i := len(s) - 1; i >= 0; i-- {
			alpha[i] = rho[i] * dot(s[i], dir)
			axpy(-alpha[i], yv[i], dir)
		}
		if k := len(s) - 1; k >= 0 {
			scale(dot(s[k], yv[k])/dot(yv[k], yv[k]), dir)
		} else {
			scale(1/gnorm, dir)
		}
		for i := range s {
			b := rho[i] * dot(yv[i], dir)
			axpy(alpha[i]-b, s[i], dir)
		}
		scale(-1, dir)
		slope := dot(g, dir)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			s, yv, rho = s[:0], yv[:0], rho[:0]
			copy(dir, g)
			scale(-1/gnorm, dir)
			slope = dot(g, dir)
		}
		step := 1.0
		var fn float64
		ok := false
		for ls := 0; ls < 30; ls++ {
			for i := range x {
				xn[i] = x[i] + step*dir[i]
			}
			fn = p.eval(xn, gn)
			if fn <= f+1e-4*step*slope {
				ok = true
				break
			}
			step *= 0.5
		}
		if !ok {
			break
		}
		var sv, yy []float64
		if len(s) == m {
			sv, yy = s[0], yv[0]
			s, yv, rho = s[1:], yv[1:], rho[1:]
		} else {
			sv, yy = make([]float64, n), make([]float64, n)
		}
		for i := range x {
			sv[i] = xn[i] - x[i]
			yy[i] = gn[i] - g[i]
		}
		if sy := dot(sv, yy); sy > 1e-12 {
			s, yv, rho = append(s, sv), append(yv, yy), append(rho, 1/sy)
		}
		x, xn = xn, x
		g, gn = gn, g
		rel := (f - fn) / max(math.Abs(f), 1e-12)
		f = fn
		if rel < 1e-9 {
			break
		}
	}
	return x
}

func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

func scale(a float64, x []float64) {
	for i := range x {
		x[i] *= a
	}
}
