package output

import (
	"context"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// System prompts shorter than minSystemWords words are not checked: a short
// prompt shares its phrases with ordinary answers.
const (
	minSystemWords = 20
	shingleWords   = 5
)

// word is one word of a text: its hash and byte range.
type word struct {
	h          uint64
	start, end int32
}

// shingle is the hash of shingleWords consecutive words of system text t.
type shingle struct {
	h   uint64
	t   int32
	hit bool
}

type span struct{ seg, start, end int }

// words appends the words of s: maximal runs of letters and digits,
// lower-cased, with format characters (zero-width and the like) skipped
// rather than splitting a word; each CJK ideograph or kana is a word of its
// own, since those scripts do not space words.
func appendWords(dst []word, s string) []word {
	const offset64, prime64 = 14695981039346656037, 1099511628211
	var h uint64 = offset64
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if lc := lowerAlnum[c]; lc != 0 {
				if start < 0 {
					start = i
				}
				h = (h ^ uint64(lc)) * prime64
			} else if start >= 0 {
				dst = append(dst, word{h: h, start: int32(start), end: int32(i)})
				h, start = offset64, -1
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			if start >= 0 {
				dst = append(dst, word{h: h, start: int32(start), end: int32(i)})
			}
			dst = append(dst, word{h: (offset64 ^ uint64(r)) * prime64, start: int32(i), end: int32(i + n)})
			h, start = offset64, -1
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if start < 0 {
				start = i
			}
			h = (h ^ uint64(unicode.ToLower(r))) * prime64
		case unicode.Is(unicode.Cf, r):
			// invisible: neither part of a word nor a break
		default:
			if start >= 0 {
				dst = append(dst, word{h: h, start: int32(start), end: int32(i)})
				h, start = offset64, -1
			}
		}
		i += n
	}
	if start >= 0 {
		dst = append(dst, word{h: h, start: int32(start), end: int32(len(s))})
	}
	return dst
}

func shingleHash(ws []word) uint64 {
	var h uint64
	for _, w := range ws {
		h = (h ^ w.h) * 0x9E3779B97F4A7C15
		h ^= h >> 29
	}
	return h
}

// systemLeak measures, for each system text, the share of its distinct
// shingles present in the response, and reports the largest share when it
// reaches the threshold, with spans over the reproduced word runs. With
// the exchange's leak memory the share counts what earlier scans of the
// same answer (the windows of a stream) found as well, so a streamed leak
// is cut once the text released and about to be released reaches the
// threshold, not only at the end.
func (d *Detector) systemLeak(ctx context.Context, sc *scratch, in *pipeline.Input) (pipeline.Finding, bool) {
	sh := sc.shing[:0]
	var totals [8]int // distinct shingles per system text; texts past 8 are folded into the last
	for t, sys := range in.Exchange.System {
		ws := appendWords(sc.words[:0], sys)
		sc.words = ws
		if len(ws) < minSystemWords {
			continue
		}
		ti := int32(min(t, len(totals)-1))
		for k := 0; k+shingleWords <= len(ws); k++ {
			sh = append(sh, shingle{h: shingleHash(ws[k : k+shingleWords]), t: ti})
		}
	}
	sc.shing = sh
	if len(sh) == 0 {
		return pipeline.Finding{}, false
	}
	slices.SortFunc(sh, func(a, b shingle) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return int(a.t - b.t)
	})
	sh = slices.CompactFunc(sh, func(a, b shingle) bool { return a.h == b.h && a.t == b.t })
	// A bitmap of hash bits answers most lookups of shingles the system
	// prompt does not have without a search.
	var bloom [64]uint64
	for _, s := range sh {
		totals[s.t]++
		bloom[s.h>>58] |= 1 << (s.h & 63)
	}
	cov := sc.covered[:0]
	for i := range in.Segments {
		seg := &in.Segments[i]
		if seg.Kind == pipeline.KindToolName {
			continue
		}
		if err := ctx.Err(); err != nil {
			return pipeline.Finding{}, false
		}
		ws := appendWords(sc.words[:0], seg.Text)
		sc.words = ws
		runStart, runEnd := -1, -1 // word indices of the current covered run
		for k := 0; k+shingleWords <= len(ws); k++ {
			h := shingleHash(ws[k : k+shingleWords])
			if bloom[h>>58]&(1<<(h&63)) == 0 {
				continue
			}
			lo, hi := 0, len(sh)
			for lo < hi {
				mid := int(uint(lo+hi) >> 1)
				if sh[mid].h < h {
					lo = mid + 1
				} else {
					hi = mid
				}
			}
			j := lo
			if j >= len(sh) || sh[j].h != h {
				continue
			}
			for ; j < len(sh) && sh[j].h == h; j++ {
				sh[j].hit = true
			}
			if runStart >= 0 && k <= runEnd+1 {
				runEnd = k + shingleWords - 1
				continue
			}
			if runStart >= 0 {
				cov = append(cov, span{i, int(ws[runStart].start), int(ws[runEnd].end)})
			}
			runStart, runEnd = k, k+shingleWords-1
		}
		if runStart >= 0 {
			cov = append(cov, span{i, int(ws[runStart].start), int(ws[runEnd].end)})
		}
	}
	sc.covered = cov
	if mem := in.Exchange.Leak; mem != nil {
		// What earlier windows of the answer reproduced counts too: sh
		// is sorted and deduplicated, so its order is the same for every
		// scan of this exchange.
		hit := sc.hit[:0]
		for _, s := range sh {
			hit = append(hit, s.hit)
		}
		mem.Merge(hit)
		for i := range sh {
			sh[i].hit = hit[i]
		}
		sc.hit = hit
	}
	var hits [8]int
	for _, s := range sh {
		if s.hit {
			hits[s.t]++
		}
	}
	best := 0.0
	for t := range totals {
		if totals[t] > 0 {
			best = max(best, float64(hits[t])/float64(totals[t]))
		}
	}
	if best < d.leakThreshold || len(cov) == 0 {
		return pipeline.Finding{}, false
	}
	f := pipeline.Finding{Rule: RuleSystemPromptLeak, Family: Family, Score: leakScore(best, d.leakThreshold)}
	f.Spans = make([]pipeline.Span, len(cov))
	for k, c := range cov {
		f.Spans[k] = pipeline.Span{Segment: c.seg, Start: c.start, End: c.end}
	}
	return f, true
}

// leakScore maps an overlap at or above threshold th to [0.5, 1], so that
// the policy's default threshold (0.5) acts exactly at leak_threshold.
func leakScore(frac, th float64) float64 {
	if th >= 1 {
		return 1
	}
	return min(1, 0.5+0.5*(frac-th)/(1-th))
}
