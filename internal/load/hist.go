package load

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sets the histogram's resolution: each power of two is split into
// 2^subBits buckets, so a recorded value is off by at most 1/64 (1.6 %).
const subBits = 6

// histBuckets covers every int64 nanosecond value.
const histBuckets = (64-subBits)<<subBits + 1<<subBits

// Histogram is an HDR-like latency histogram with log-spaced buckets of
// bounded size (about 30 KiB), safe for concurrent Record calls.
type Histogram struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	sum    atomic.Int64
	max    atomic.Int64
	min    atomic.Int64 // stored as value+1 so that zero means unset
}

func bucketOf(v int64) int {
	if v < 1<<subBits {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	return shift<<subBits + int(v>>shift)
}

// bucketHigh is the largest value that falls into bucket i.
func bucketHigh(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	shift := i>>subBits - 1
	top := int64(i - shift<<subBits)
	hi := uint64(top+1)<<shift - 1
	return int64(min(hi, math.MaxInt64))
}

// Record adds one observation.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if (m != 0 && v+1 >= m) || h.min.CompareAndSwap(m, v+1) {
			break
		}
	}
}

// Count is the number of observations.
func (h *Histogram) Count() int64 { return h.n.Load() }

// Quantile returns the value at quantile q (0..1): the highest value of the
// bucket holding the ceil(q*n)-th observation, capped at the largest value
// recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(n))), 1)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(max(bucketHigh(i), h.min.Load()-1), h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// Summary is a histogram's digest, in microseconds for JSON.
type Summary struct {
	Count  int64   `json:"count"`
	MeanUS float64 `json:"mean_us"`
	P50US  float64 `json:"p50_us"`
	P99US  float64 `json:"p99_us"`
	P999US float64 `json:"p999_us"`
	MaxUS  float64 `json:"max_us"`
}

func us(d time.Duration) float64 { return math.Round(float64(d)/1e1) / 1e2 }

// Summary digests the histogram.
func (h *Histogram) Summary() Summary {
	n := h.n.Load()
	s := Summary{Count: n}
	if n == 0 {
		return s
	}
	s.MeanUS = us(time.Duration(h.sum.Load() / n))
	s.P50US = us(h.Quantile(0.50))
	s.P99US = us(h.Quantile(0.99))
	s.P999US = us(h.Quantile(0.999))
	s.MaxUS = us(time.Duration(h.max.Load()))
	return s
}
