// Package harm is the harmful-content lexicon: word patterns by content
// category (sexual, self-harm, violence, weapons, drugs, crime, ...) with the
// context rules that keep ordinary text out (a request frame for words that
// are harmful only as a request, mentions, harmless contexts such as
// prevention or history). The content family builds its findings on it; the
// injection family reads it as the harmful-intent half of a disguised
// jailbreak (role-play or fiction framing around a harmful request).
//
// Scan works on lower-cased text (a normalized view) and does not allocate
// beyond the hits it appends.
package harm

// Hit is one lexicon match that counts after the context rules: its
// category, its raw score (see lexicon_en.go for the scale) and its byte span
// in the scanned text.
type Hit struct {
	Cat        Category
	Score      float64
	Start, End int
}

// Scan appends the lexicon hits in s to dst.
func Scan(s string, dst []Hit) []Hit {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.toks = tokenize(s, sc.toks[:0])
	sc.hits = resolve(s, lex.matchAll(s, sc.toks, sc.hits[:0]))
	for _, h := range sc.hits {
		dst = append(dst, Hit{Cat: h.cat, Score: h.score, Start: int(h.start), End: int(h.stp)})
	}
	return dst
}

// Names are the categories' names (rule suffixes and policy keys), in
// category order.
func Names() []string { return categoryNames[:] }
