// Package model owns the content classifier's feature hashing, scoring and
// binary weight format, shared by the detector, its trainer and its
// evaluator so that training sees exactly what inference computes.
package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"
)

// Heads are the model's outputs, in weight order. Head 0 is P(harmful);
// the others are P(category | harmful), trained on harmful rows only.
var Heads = []string{"harmful", "sexual", "self_harm", "violence", "hate", "weapons", "drugs", "crime", "cybercrime", "harassment", "profanity", "other"}

// NumHeads is len(Heads).
const NumHeads = 12

// Config fixes the feature space; it is stored in the model header.
type Config struct {
	HashBits uint8  // 2^HashBits buckets
	CharMin  uint8  // shortest byte n-gram
	CharMax  uint8  // longest byte n-gram
	MaxBytes uint32 // longer texts are scored on their first and last MaxBytes/2
	Seed     uint32
}

// DefaultConfig is the feature space of the shipped model.
var DefaultConfig = Config{HashBits: 16, CharMin: 3, CharMax: 4, MaxBytes: 6 << 10, Seed: 0x2545f491}

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
	nsWord    = 0x85ebca6b
	nsBigram  = 0xc2b2ae35
)

func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

var tfWeight = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(math.Log1p(float64(i)))
	}
	return t
}()

// Scratch holds one text's bucket counts; reused through a pool.
type Scratch struct {
	Counts  []uint8
	Touched []uint32
}

// NewScratch returns a Scratch sized for c.
func NewScratch(c Config) *Scratch {
	return &Scratch{Counts: make([]uint8, 1<<c.HashBits), Touched: make([]uint32, 0, 4096)}
}

func (s *Scratch) add(b uint32) {
	c := s.Counts[b]
	if c == 0 {
		s.Touched = append(s.Touched, b)
	}
	if c < 255 {
		s.Counts[b] = c + 1
	}
}

// Reset zeroes the touched counts.
func (s *Scratch) Reset() {
	for _, b := range s.Touched {
		s.Counts[b] = 0
	}
	s.Touched = s.Touched[:0]
}

func isWordByte(b byte) bool {
	return b >= 0x80 || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_' || (b >= 'A' && b <= 'Z')
}

// Featurize counts the hashed features of text into s (which must be reset).
func (c *Config) Featurize(s *Scratch, text string) {
	half := int(c.MaxBytes / 2)
	if len(text) <= 2*half {
		c.segment(s, text)
		return
	}
	c.segment(s, text[:half])
	c.segment(s, text[len(text)-half:])
}

func (c *Config) segment(s *Scratch, t string) {
	mask := uint32(1)<<c.HashBits - 1
	n := len(t)
	lo, hi := int(c.CharMin), int(c.CharMax)
	basis := uint32(fnvOffset) ^ c.Seed
	// Byte n-grams. Shorter ones are kept only where they hold non-ASCII
	// bytes (one CJK character is three bytes); for ASCII text the longest
	// n-gram and the words carry the signal at half the cost.
	for i := 0; i+lo <= n; i++ {
		h := basis
		end := min(i+hi, n)
		wide := false
		for k := i; k < end; k++ {
			h ^= uint32(t[k])
			h *= fnvPrime
			wide = wide || t[k] >= 0x80
			if k-i+1 == hi || (k-i+1 >= lo && (wide || k == n-1)) {
				s.add(mix(h) & mask)
			}
		}
	}
	var prev uint32
	havePrev := false
	for i := 0; i < n; {
		for i < n && !isWordByte(t[i]) {
			i++
		}
		if i == n {
			break
		}
		h := basis ^ nsWord
		for i < n && isWordByte(t[i]) {
			h ^= uint32(t[i])
			h *= fnvPrime
			i++
		}
		s.add(mix(h) & mask)
		if havePrev {
			s.add(mix((prev*fnvPrime)^h^nsBigram) & mask)
		}
		prev, havePrev = h, true
	}
}

// Vector returns the L2-normalised sparse feature vector of text (bucket,
// value), for the trainer.
func (c *Config) Vector(s *Scratch, text string) ([]uint32, []float32) {
	c.Featurize(s, text)
	idx := make([]uint32, len(s.Touched))
	val := make([]float32, len(s.Touched))
	var nrm float64
	for i, b := range s.Touched {
		v := tfWeight[s.Counts[b]]
		idx[i], val[i] = b, v
		nrm += float64(v * v)
	}
	s.Reset()
	if nrm > 0 {
		inv := float32(1 / math.Sqrt(nrm))
		for i := range val {
			val[i] *= inv
		}
	}
	return idx, val
}

// Model is a hashed n-gram logistic regression with NumHeads outputs and
// int8 weights laid out bucket-major (one cache line per touched bucket).
type Model struct {
	Config   Config
	Bias     [NumHeads]float32
	Scale    [NumHeads]float32
	DataHash [32]byte
	Weights  []int8 // len 2^HashBits * NumHeads

	pool sync.Pool
}

// Scores writes the heads' probabilities for an already normalized text
// into out. Safe for concurrent use; no allocation in steady state.
func (m *Model) Scores(text string, out *[NumHeads]float64) {
	s, _ := m.pool.Get().(*Scratch)
	if s == nil {
		s = NewScratch(m.Config)
	}
	m.Config.Featurize(s, text)
	var dot [NumHeads]int32
	var acc [NumHeads]float32
	var nrm float32
	for _, b := range s.Touched {
		c := s.Counts[b]
		s.Counts[b] = 0
		v := tfWeight[c]
		nrm += v * v
		w := m.Weights[int(b)*NumHeads : int(b)*NumHeads+NumHeads]
		if c == 1 {
			for h := range NumHeads {
				dot[h] += int32(w[h])
			}
			continue
		}
		for h := range NumHeads {
			acc[h] += v * float32(w[h])
		}
	}
	s.Touched = s.Touched[:0]
	m.pool.Put(s)
	inv := float32(0)
	if nrm > 0 {
		inv = 1 / float32(math.Sqrt(float64(nrm)))
	}
	v1 := tfWeight[1]
	for h := range NumHeads {
		z := m.Bias[h] + m.Scale[h]*(acc[h]+v1*float32(dot[h]))*inv
		out[h] = Sigmoid(float64(z))
	}
}

// Sigmoid is the logistic function.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Binary format (little-endian):
//
//	magic "LFWCONTM" | version u16 | HashBits, CharMin, CharMax u8 |
//	MaxBytes u32 | Seed u32 | Bias [12]f32 | Scale [12]f32 | DataHash [32] |
//	weights int8 [2^HashBits*12] | CRC-32 of all before.
const (
	Magic   = "LFWCONTM"
	Version = 1
)

// Encode serialises m.
func (m *Model) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(Magic)
	_ = binary.Write(&b, binary.LittleEndian, uint16(Version))
	b.Write([]byte{m.Config.HashBits, m.Config.CharMin, m.Config.CharMax})
	_ = binary.Write(&b, binary.LittleEndian, m.Config.MaxBytes)
	_ = binary.Write(&b, binary.LittleEndian, m.Config.Seed)
	_ = binary.Write(&b, binary.LittleEndian, m.Bias)
	_ = binary.Write(&b, binary.LittleEndian, m.Scale)
	b.Write(m.DataHash[:])
	for _, w := range m.Weights {
		b.WriteByte(byte(w))
	}
	_ = binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE(b.Bytes()))
	return b.Bytes()
}

// Decode parses a model written by Encode.
func Decode(data []byte) (*Model, error) {
	const head = 8 + 2 + 3 + 4 + 4 + 4*NumHeads*2 + 32
	if len(data) < head+4 || string(data[:8]) != Magic {
		return nil, errors.New("not a content model")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("checksum mismatch")
	}
	r := bytes.NewReader(body[8:])
	var ver uint16
	m := &Model{}
	var bits [3]uint8
	for _, v := range []any{&ver, &bits, &m.Config.MaxBytes, &m.Config.Seed, &m.Bias, &m.Scale, &m.DataHash} {
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			return nil, err
		}
	}
	if ver != Version {
		return nil, fmt.Errorf("version %d, want %d", ver, Version)
	}
	m.Config.HashBits, m.Config.CharMin, m.Config.CharMax = bits[0], bits[1], bits[2]
	if m.Config.HashBits < 8 || m.Config.HashBits > 24 || m.Config.CharMin == 0 || m.Config.CharMax < m.Config.CharMin {
		return nil, errors.New("bad feature config")
	}
	n := (1 << m.Config.HashBits) * NumHeads
	if r.Len() != n {
		return nil, fmt.Errorf("%d weight bytes, want %d", r.Len(), n)
	}
	m.Weights = make([]int8, n)
	rest := body[len(body)-n:]
	for i, b := range rest {
		m.Weights[i] = int8(b)
	}
	return m, nil
}
