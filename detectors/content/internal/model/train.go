package model

import (
	"math"
	"math/rand/v2"
)

// Example is one featurized training row.
type Example struct {
	Idx    []uint32
	Val    []float32
	Y      [NumHeads]int8 // 1, 0, or -1 for "not trained on this head"
	Weight float32
}

// TrainOptions are the optimiser's settings; fixed, so training is
// deterministic for a given data set.
type TrainOptions struct {
	Epochs int
	Rate   float64
	L2     float64
	Seed   uint64
}

// DefaultTrain is what the shipped model uses.
var DefaultTrain = TrainOptions{Epochs: 12, Rate: 0.5, L2: 2e-6, Seed: 42}

// Train fits every head by AdaGrad SGD over a seeded shuffle and returns
// the float weights (bucket-major) and biases.
func Train(c Config, ex []Example, o TrainOptions) ([]float32, [NumHeads]float32) {
	nb := 1 << c.HashBits
	w := make([]float32, nb*NumHeads)
	g2 := make([]float32, nb*NumHeads)
	var bias [NumHeads]float32
	var bg2 [NumHeads]float32
	order := make([]int, len(ex))
	for i := range order {
		order[i] = i
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	l2 := float32(o.L2)
	rate := float32(o.Rate)
	for ep := 0; ep < o.Epochs; ep++ {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			e := &ex[k]
			for h := range NumHeads {
				if e.Y[h] < 0 {
					continue
				}
				z := bias[h]
				for j, b := range e.Idx {
					z += w[int(b)*NumHeads+h] * e.Val[j]
				}
				p := float32(Sigmoid(float64(z)))
				g := (p - float32(e.Y[h])) * e.Weight
				for j, b := range e.Idx {
					i := int(b)*NumHeads + h
					gi := g*e.Val[j] + l2*w[i]
					g2[i] += gi * gi
					w[i] -= rate * gi / float32(math.Sqrt(float64(g2[i]))+1e-6)
				}
				bg2[h] += g * g
				bias[h] -= rate * g / float32(math.Sqrt(float64(bg2[h]))+1e-6)
			}
		}
	}
	return w, bias
}

// Quantize builds a Model with int8 weights, one scale per head.
func Quantize(c Config, w []float32, bias [NumHeads]float32) *Model {
	m := &Model{Config: c, Bias: bias, Weights: make([]int8, len(w))}
	var mx [NumHeads]float32
	for i, v := range w {
		h := i % NumHeads
		mx[h] = max(mx[h], float32(math.Abs(float64(v))))
	}
	for h := range NumHeads {
		if mx[h] == 0 {
			mx[h] = 1
		}
		m.Scale[h] = mx[h] / 127
	}
	for i, v := range w {
		q := math.Round(float64(v / m.Scale[i%NumHeads]))
		m.Weights[i] = int8(max(-127, min(127, q)))
	}
	return m
}
