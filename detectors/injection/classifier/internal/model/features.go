// Package model owns the prompt-attack classifier's feature hashing, its
// scoring function and its binary weight format. The trainer and the
// classifier package share it so that training sees exactly what inference
// computes.
package model

import (
	"math"

	"github.com/llm-firewall/llm-firewall/detectors/internal/semantic"
)

// Config fixes the feature space. It is stored in the model header, so a
// model file carries the features it was trained on.
type Config struct {
	HashBits  uint8  // 2^HashBits buckets
	CharMin   uint8  // shortest byte n-gram
	CharMax   uint8  // longest byte n-gram
	WordMax   uint8  // 1: word unigrams; 2: unigrams and bigrams
	HeadBytes uint32 // texts longer than HeadBytes+TailBytes are cut to
	TailBytes uint32 // their first HeadBytes and last TailBytes
	Seed      uint32 // mixed into every hash

	// Encoder is the vocabulary of the semantic features: EncoderMiniLM
	// (English WordPiece) or EncoderE5 (multilingual unigram). Not in the
	// header: a model file's token-weight count says which it is.
	Encoder Encoder `json:",omitempty"`
}

// Encoder names the sentence encoder whose token table the semantic
// features come from.
type Encoder uint8

const (
	EncoderMiniLM Encoder = iota // all-MiniLM-L6-v2, 30,522 WordPiece tokens, English
	EncoderE5                    // multilingual-e5-small, 250,002 SentencePiece pieces
)

// Size is the encoder's vocabulary size.
func (e Encoder) Size() int {
	if e == EncoderE5 {
		return semantic.E5().Size()
	}
	return semantic.Default().Size()
}

// encoderOfSize is the encoder whose vocabulary has n entries.
func encoderOfSize(n int) (Encoder, bool) {
	for _, e := range []Encoder{EncoderMiniLM, EncoderE5} {
		if e.Size() == n {
			return e, true
		}
	}
	return 0, false
}

// DefaultConfig is the feature space the shipped model uses.
var DefaultConfig = Config{
	HashBits:  18,
	CharMin:   3,
	CharMax:   5,
	WordMax:   2,
	HeadBytes: 8 << 10,
	TailBytes: 8 << 10,
	Seed:      0x9e3779b9,
}

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
	// Namespaces keep character and word features apart.
	nsWord   = 0x85ebca6b
	nsBigram = 0xc2b2ae35
)

// tfWeight[c] is the sublinear term frequency log1p(c); counts saturate at
// 255, far beyond where log1p flattens.
var tfWeight = func() (t [256]float64) {
	for i := range t {
		t[i] = math.Log1p(float64(i))
	}
	return t
}()

// TF returns the sublinear term-frequency weight of a bucket count.
func TF(count uint8) float64 { return tfWeight[count] }

// mix is murmur3's finalizer: FNV-1a's low bits alone spread poorly.
func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Scratch holds one text's bucket counts. Counts are left zeroed by Reset,
// so a Scratch is reused without clearing the whole table.
type Scratch struct {
	Counts  []uint8  // per bucket, len 1<<HashBits
	Touched []uint32 // buckets with a non-zero count, in first-seen order
	IDs     []int32  // encoder token IDs (TokenIDs)
}

// NewScratch returns a Scratch sized for c.
func NewScratch(c Config) *Scratch {
	return &Scratch{Counts: make([]uint8, 1<<c.HashBits), Touched: make([]uint32, 0, 4096)}
}

// Reset zeroes the touched counts.
func (s *Scratch) Reset() {
	for _, b := range s.Touched {
		s.Counts[b] = 0
	}
	s.Touched = s.Touched[:0]
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

// Featurize counts the hashed features of text into s, which must be reset.
// Long texts contribute their head and tail (bounded latency; an injection
// appended to a long document is still seen).
func (c *Config) Featurize(s *Scratch, text string) {
	head, tail := int(c.HeadBytes), int(c.TailBytes)
	if len(text) <= head+tail {
		c.segment(s, text)
		return
	}
	c.segment(s, text[:head])
	c.segment(s, text[len(text)-tail:])
}

// MaxTokens bounds the encoder tokens a text contributes (each window half).
const MaxTokens = 4096

// MinCoverage is the share of a text's words that must be whole entries of
// the encoder's vocabulary for the semantic features to read it. The
// encoder is English: on other languages its tokens are word fragments and
// [UNK], whose mean embedding says which language a text is in, not what it
// asks (a model trained with it learned "not English, so an attack" from the
// machine-translated attacks). Chosen from what the number means, not tuned:
// English prose is well above it, Spanish or German mostly below.
const MinCoverage = 0.75

// TokenIDs appends the encoder token IDs of text (the same head and tail
// windows as Featurize; [UNK] left out) to dst: the semantic features'
// input. A text that is not mostly in the encoder's vocabulary
// (MinCoverage) gives none.
func (c *Config) TokenIDs(dst []int32, text string) []int32 {
	mark := len(dst)
	var cnt semantic.Counts
	var unk int32
	var appendIDs func(dst []int32, text string, limit int) []int32
	if c.Encoder == EncoderE5 {
		// Multilingual: every language is read, no coverage gate.
		tok := semantic.E5()
		appendIDs, unk = tok.Append, tok.Unknown()
	} else {
		tok := semantic.Default()
		appendIDs = func(dst []int32, text string, limit int) []int32 {
			dst, n := tok.AppendCounted(dst, text, limit)
			cnt.Words += n.Words
			cnt.Whole += n.Whole
			return dst
		}
		unk = tok.Unknown()
	}
	head, tail := int(c.HeadBytes), int(c.TailBytes)
	if len(text) <= head+tail {
		dst = appendIDs(dst, text, mark+MaxTokens)
	} else {
		dst = appendIDs(dst, text[:head], mark+MaxTokens/2)
		dst = appendIDs(dst, text[len(text)-tail:], len(dst)+MaxTokens/2)
	}
	if c.Encoder != EncoderE5 && (cnt.Words == 0 || float64(cnt.Whole) < MinCoverage*float64(cnt.Words)) {
		return dst[:mark]
	}
	return dropID(dst, mark, unk)
}

// dropID removes unk from dst[mark:].
func dropID(dst []int32, mark int, unk int32) []int32 {
	out := dst[:mark]
	for _, id := range dst[mark:] {
		if id != unk {
			out = append(out, id)
		}
	}
	return out
}

// isWordByte: ASCII letters, digits and underscore, and every byte of a
// non-ASCII character, so words of any script are kept whole.
func isWordByte(b byte) bool {
	return b >= 0x80 || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_' || (b >= 'A' && b <= 'Z')
}

func (c *Config) segment(s *Scratch, t string) {
	mask := uint32(1)<<c.HashBits - 1
	n := len(t)
	lo, hi := int(c.CharMin), int(c.CharMax)
	basis := uint32(fnvOffset) ^ c.Seed
	// Byte n-grams over the whole text, across word boundaries.
	for i := 0; i+lo <= n; i++ {
		h := basis
		end := min(i+hi, n)
		for k := i; k < end; k++ {
			h ^= uint32(t[k])
			h *= fnvPrime
			if k-i+1 >= lo {
				s.add(mix(h) & mask)
			}
		}
	}
	if c.WordMax == 0 {
		return
	}
	// Word unigrams and bigrams.
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
		if c.WordMax >= 2 && havePrev {
			s.add(mix((prev*fnvPrime)^h^nsBigram) & mask)
		}
		prev, havePrev = h, true
	}
}
