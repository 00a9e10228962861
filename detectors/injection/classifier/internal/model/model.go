package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"

	"github.com/llm-firewall/llm-firewall/detectors/internal/semantic"
)

// Binary format (little-endian), version 1:
//
//	offset size  field
//	0      8     magic "LFWINJCL"
//	8      2     version (1)
//	10     1     HashBits
//	11     1     CharMin
//	12     1     CharMax
//	13     1     WordMax
//	14     4     HeadBytes
//	18     4     TailBytes
//	22     4     Seed
//	26     8     Bias (float64)
//	34     8     Scale (float64): weight of bucket b is Scale*int8
//	42     32    DataHash: SHA-256 of the training rows and training config
//	74     2^HashBits  weights, int8, one per bucket
//	...    8     TokenScale (float64): weight of token t is TokenScale*int16
//	...    4     number of token weights (0, or the encoder's vocabulary size)
//	...    2*n   token weights, int16, one per vocabulary token
//	...    4     CRC-32 (IEEE) of every byte before it
const (
	Magic      = "LFWINJCL"
	Version    = 2
	headerSize = 74
)

// Model is a logistic regression over hashed n-grams (int8 weights) and,
// when Tokens is set, the mean static embedding of the text's encoder
// tokens, folded into one int16 weight per token (package
// detectors/internal/semantic).
type Model struct {
	Config   Config
	Bias     float64
	Scale    float64
	DataHash [32]byte
	Weights  []int8

	TokenScale float64
	Tokens     []int16

	pool sync.Pool
}

// Score returns P(attack) for an already normalized text. Safe for
// concurrent use.
func (m *Model) Score(text string) float64 {
	s, _ := m.pool.Get().(*Scratch)
	if s == nil {
		s = NewScratch(m.Config)
	}
	m.Config.Featurize(s, text)
	var dot, nrm float64
	for _, b := range s.Touched {
		v := tfWeight[s.Counts[b]]
		dot += v * float64(m.Weights[b])
		nrm += v * v
		s.Counts[b] = 0
	}
	s.Touched = s.Touched[:0]
	z := m.Bias
	if nrm > 0 {
		z += m.Scale * dot / math.Sqrt(nrm)
	}
	if len(m.Tokens) > 0 {
		s.IDs = m.Config.TokenIDs(s.IDs[:0], text)
		if len(s.IDs) > 0 {
			var sum int64
			for _, id := range s.IDs {
				sum += int64(m.Tokens[id])
			}
			z += m.TokenScale * float64(sum) / float64(len(s.IDs))
		}
	}
	m.pool.Put(s)
	return Sigmoid(z)
}

// Sigmoid is the logistic function.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// QuantizeTokens sets the per-token weights from float ones with one scale:
// the largest magnitude maps to ±32767.
func (m *Model) QuantizeTokens(w []float64) {
	m.Tokens = make([]int16, len(w))
	m.TokenScale = quantScale(w, 32767)
	if m.TokenScale > 0 {
		for i, x := range w {
			m.Tokens[i] = int16(math.Round(x / m.TokenScale))
		}
	}
}

// quantScale is the one scale that maps the largest |w| to top.
func quantScale(w []float64, top float64) float64 {
	var maxAbs float64
	for _, x := range w {
		maxAbs = max(maxAbs, math.Abs(x))
	}
	return maxAbs / top
}

// Quantize turns float weights into int8 with one scale: the largest
// magnitude maps to ±127.
func Quantize(c Config, bias float64, w []float64, dataHash [32]byte) *Model {
	scale := quantScale(w, 127)
	q := make([]int8, len(w))
	if scale > 0 {
		for i, x := range w {
			q[i] = int8(math.Round(x / scale))
		}
	}
	return &Model{Config: c, Bias: bias, Scale: scale, DataHash: dataHash, Weights: q}
}

// MarshalBinary encodes m in the format above.
func (m *Model) MarshalBinary() ([]byte, error) {
	if err := m.Config.validate(); err != nil {
		return nil, err
	}
	if len(m.Weights) != 1<<m.Config.HashBits {
		return nil, fmt.Errorf("model: %d weights for %d hash bits", len(m.Weights), m.Config.HashBits)
	}
	var b bytes.Buffer
	b.Grow(headerSize + len(m.Weights) + 4)
	b.WriteString(Magic)
	le := binary.LittleEndian
	b.Write(le.AppendUint16(nil, Version))
	b.Write([]byte{m.Config.HashBits, m.Config.CharMin, m.Config.CharMax, m.Config.WordMax})
	b.Write(le.AppendUint32(nil, m.Config.HeadBytes))
	b.Write(le.AppendUint32(nil, m.Config.TailBytes))
	b.Write(le.AppendUint32(nil, m.Config.Seed))
	b.Write(le.AppendUint64(nil, math.Float64bits(m.Bias)))
	b.Write(le.AppendUint64(nil, math.Float64bits(m.Scale)))
	b.Write(m.DataHash[:])
	for _, w := range m.Weights {
		b.WriteByte(byte(w))
	}
	b.Write(le.AppendUint64(nil, math.Float64bits(m.TokenScale)))
	b.Write(le.AppendUint32(nil, uint32(len(m.Tokens))))
	for _, w := range m.Tokens {
		b.Write(le.AppendUint16(nil, uint16(w)))
	}
	out := b.Bytes()
	return le.AppendUint32(out, crc32.ChecksumIEEE(out)), nil
}

// ErrCorrupt is wrapped by every decoding failure.
var ErrCorrupt = errors.New("corrupt classifier model")

// Decode parses and checks a model file.
func Decode(data []byte) (*Model, error) {
	le := binary.LittleEndian
	if len(data) < headerSize+4 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the header", ErrCorrupt, len(data))
	}
	if string(data[:8]) != Magic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, data[:8])
	}
	if v := le.Uint16(data[8:]); v != Version {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrCorrupt, v, Version)
	}
	body, sum := data[:len(data)-4], le.Uint32(data[len(data)-4:])
	if got := crc32.ChecksumIEEE(body); got != sum {
		return nil, fmt.Errorf("%w: checksum %08x, header says %08x", ErrCorrupt, got, sum)
	}
	m := &Model{Config: Config{
		HashBits: data[10], CharMin: data[11], CharMax: data[12], WordMax: data[13],
		HeadBytes: le.Uint32(data[14:]), TailBytes: le.Uint32(data[18:]), Seed: le.Uint32(data[22:]),
	}}
	if err := m.Config.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	m.Bias = math.Float64frombits(le.Uint64(data[26:]))
	m.Scale = math.Float64frombits(le.Uint64(data[34:]))
	copy(m.DataHash[:], data[42:74])
	if math.IsNaN(m.Bias) || math.IsInf(m.Bias, 0) || math.IsNaN(m.Scale) || math.IsInf(m.Scale, 0) || m.Scale < 0 {
		return nil, fmt.Errorf("%w: bias %v, scale %v", ErrCorrupt, m.Bias, m.Scale)
	}
	n := 1 << m.Config.HashBits
	if len(body) < headerSize+n+12 {
		return nil, fmt.Errorf("%w: %d bytes after the header for %d hash bits (want at least %d)", ErrCorrupt, len(body)-headerSize, m.Config.HashBits, n+12)
	}
	m.Weights = make([]int8, n)
	for i, b := range body[headerSize : headerSize+n] {
		m.Weights[i] = int8(b)
	}
	rest := body[headerSize+n:]
	m.TokenScale = math.Float64frombits(le.Uint64(rest))
	nt := int(le.Uint32(rest[8:]))
	rest = rest[12:]
	if math.IsNaN(m.TokenScale) || math.IsInf(m.TokenScale, 0) || m.TokenScale < 0 {
		return nil, fmt.Errorf("%w: token scale %v", ErrCorrupt, m.TokenScale)
	}
	if len(rest) != 2*nt {
		return nil, fmt.Errorf("%w: %d bytes for %d token weights", ErrCorrupt, len(rest), nt)
	}
	if nt > 0 {
		enc, ok := encoderOfSize(nt)
		if !ok {
			return nil, fmt.Errorf("%w: %d token weights match no encoder vocabulary (%d or %d)", ErrCorrupt, nt,
				semantic.Default().Size(), semantic.E5().Size())
		}
		m.Config.Encoder = enc
		m.Tokens = make([]int16, nt)
		for i := range m.Tokens {
			m.Tokens[i] = int16(le.Uint16(rest[2*i:]))
		}
	}
	return m, nil
}

func (c Config) validate() error {
	switch {
	case c.HashBits < 8 || c.HashBits > 24:
		return fmt.Errorf("model: hash bits %d outside [8,24]", c.HashBits)
	case c.CharMin < 1 || c.CharMax < c.CharMin || c.CharMax > 8:
		return fmt.Errorf("model: char n-gram range [%d,%d] invalid", c.CharMin, c.CharMax)
	case c.WordMax > 2:
		return fmt.Errorf("model: word n-gram order %d > 2", c.WordMax)
	case c.HeadBytes == 0 || c.TailBytes == 0:
		return fmt.Errorf("model: zero head/tail window")
	}
	return nil
}
