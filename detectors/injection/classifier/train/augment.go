package main

import (
	"math/rand/v2"
	"strings"
)

// Augmentation: indirect injection is an instruction hidden in data, so an
// attack is still an attack when it sits inside a benign document. The
// corpus has few such rows outside one templated family (garak-latent),
// so a fold model never sees the shape in other wording. The trainer
// builds them: short attack texts placed at the start, a sentence boundary
// in the middle, or the end of benign documents (labelled attack), and short
// benign requests placed the same way (labelled benign, so that "a question
// inside a document" is not what the model learns). Rows are composed from
// normalized texts, deterministically (fixed seed, fixed row order).
//
// An augmented row is trained on only by models whose held-out fold holds
// neither of its parents, and is never scored for validation: the held-out
// figures stay on real rows from unseen sources.

const (
	augMaxSnippet = 600  // bytes of normalized text: longer attacks are not hidden in documents
	augMinHost    = 300  // a host document has at least this many bytes
	augMaxHost    = 3000 // and is cut to at most this many
)

// augRow is one composed row; parents are the two source keys.
type augRow struct {
	row
	parents [2]string
}

// augment composes n attack rows and n benign rows from rows.
func augment(rows []*row, n int, seed uint64) []*augRow {
	if n <= 0 {
		return nil
	}
	var attacks, requests, hosts []*row
	for _, r := range rows {
		switch {
		case r.Label == "attack" && r.Category != "jailbreak" && len(r.norm) <= augMaxSnippet:
			// Jailbreaks are persuasion aimed at a chat, not text planted in data.
			attacks = append(attacks, r)
		case r.Label == "benign" && len(r.norm) <= augMaxSnippet && !documentSources[r.key]:
			// benign_hard too: a trigger word inside a document is not an attack.
			requests = append(requests, r)
		}
		if r.Label == "benign" && documentSources[r.key] && len(r.norm) >= augMinHost {
			hosts = append(hosts, r)
		}
	}
	if len(attacks) == 0 || len(requests) == 0 || len(hosts) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6c6d6677))
	var out []*augRow
	compose := func(snippet *row, label, category string) {
		host := hosts[rng.IntN(len(hosts))]
		doc := host.norm
		if len(doc) > augMaxHost {
			doc = cutAtSpace(doc, augMaxHost)
		}
		var text string
		switch rng.IntN(3) {
		case 0:
			text = snippet.norm + " " + doc
		case 1:
			at := sentenceBreak(doc, rng.IntN(len(doc)))
			text = doc[:at] + " " + snippet.norm + " " + doc[at:]
		default:
			text = doc + " " + snippet.norm
		}
		a := &augRow{parents: [2]string{snippet.key, host.key}}
		a.ID = "aug-" + snippet.ID + "+" + host.ID
		a.Label, a.Category, a.key, a.norm = label, category, "augmented-"+label, text
		out = append(out, a)
	}
	for range n {
		compose(attacks[rng.IntN(len(attacks))], "attack", "indirect_injection")
	}
	for range n {
		compose(requests[rng.IntN(len(requests))], "benign", "benign")
	}
	return out
}

// sentenceBreak returns the first sentence boundary at or after i (after
// ". ", "? ", "! " or a newline), or i's next space, or the end.
func sentenceBreak(s string, i int) int {
	for j := i; j+1 < len(s); j++ {
		if (s[j] == '.' || s[j] == '?' || s[j] == '!') && s[j+1] == ' ' || s[j] == '\n' {
			return j + 1
		}
	}
	if k := strings.IndexByte(s[i:], ' '); k >= 0 {
		return i + k
	}
	return len(s)
}

// cutAtSpace cuts s to at most n bytes at a space.
func cutAtSpace(s string, n int) string {
	if k := strings.LastIndexByte(s[:n], ' '); k > 0 {
		return s[:k]
	}
	return s[:n]
}
