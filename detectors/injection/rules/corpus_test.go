package rules

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// blockScore is the detector's default blocking threshold.
const blockScore = 0.5

type corpusRow struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Label    string `json:"label"`
	Category string `json:"category"`
	Lang     string `json:"lang"`
}

func sourceKey(id string) string {
	if i := strings.LastIndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// TestCorpus measures the rules on a labelled corpus (prompts-dev.jsonl):
// per source key, the share of attacks on which a rule with score >= 0.5
// fires (recall), and the share of benign texts on which one does (FPR).
//
//	LLMFW_DATA=$PWD/../shared/data/prompts-dev.jsonl go test -run TestCorpus -v ./detectors/injection/rules
//
// LLMFW_SHOW=fp|fn|all prints the texts behind the numbers; LLMFW_RULE=id
// narrows that to one rule (fp) or source key (fn); LLMFW_CHECK=1 also checks
// that the anchor prefilter loses no match (slow).
func TestCorpus(t *testing.T) {
	path := os.Getenv("LLMFW_DATA")
	if path == "" {
		t.Skip("LLMFW_DATA not set (path to prompts-dev.jsonl)")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open corpus: %v", err)
	}
	defer f.Close()
	show := os.Getenv("LLMFW_SHOW")
	onlyRule := os.Getenv("LLMFW_RULE")

	type stat struct {
		label, cat string
		n, hit     int
		weak       int
	}
	stats := map[string]*stat{}
	ruleHits := map[string][2]int{} // rule -> attack hits, benign hits
	langStat := map[string]*[2]int{}
	mismatch := 0
	check := os.Getenv("LLMFW_CHECK") != "" // compare with findSlow (slow)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var r corpusRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("corpus line: %v", err)
		}
		key := sourceKey(r.ID)
		cat := r.Category
		if r.Label == "attack" {
			cat = "attack"
		}
		s := stats[key+"|"+cat]
		if s == nil {
			s = &stat{label: r.Label, cat: cat}
			stats[key+"|"+cat] = s
		}
		s.n++
		text := normalize(r.Text)
		ms := Find(text)
		block, weak := false, false
		var ids []string
		for _, m := range ms {
			if m.Score >= blockScore {
				block = true
			} else {
				weak = true
			}
			ids = append(ids, m.Rule)
			c := ruleHits[m.Rule]
			if r.Label == "attack" {
				c[0]++
			} else {
				c[1]++
			}
			ruleHits[m.Rule] = c
		}
		if !check {
		} else if slow := findSlow(text); len(slow) != len(ms) {
			mismatch++
			if mismatch <= 5 {
				t.Errorf("prefilter lost a match on %s: fast %v, slow %v", r.ID, ids, slow)
			}
		}
		if block {
			s.hit++
		} else if weak {
			s.weak++
		}
		if r.Label == "attack" {
			ls := langStat[r.Lang]
			if ls == nil {
				ls = &[2]int{}
				langStat[r.Lang] = ls
			}
			ls[0]++
			if block {
				ls[1]++
			}
		}
		snippet := func() string {
			s := strings.ReplaceAll(r.Text, "\n", "⏎")
			if len(ms) > 0 {
				m := ms[0]
				for _, x := range ms {
					if x.Score >= blockScore {
						m = x
						break
					}
				}
				lo, hi := max(0, m.Start-80), min(len(text), m.End+80)
				s = strings.ReplaceAll(text[lo:m.Start]+"【"+text[m.Start:m.End]+"】"+text[m.End:hi], "\n", "⏎")
			}
			if len(s) > 600 {
				s = s[:600]
			}
			return s
		}
		switch {
		case (show == "fp" || show == "all") && r.Label == "benign" && block && (onlyRule == "" || strings.Contains(strings.Join(ids, ","), onlyRule)):
			t.Logf("FP %s %v: %s", r.ID, ids, snippet())
		case (show == "fn" || show == "all") && r.Label == "attack" && !block && (onlyRule == "" || strings.HasPrefix(key, onlyRule)):
			t.Logf("FN %s %s: %s", r.ID, r.Lang, snippet())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read corpus: %v", err)
	}
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := stats[keys[i]], stats[keys[j]]
		if a.label != b.label {
			return a.label < b.label
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "\n| source | category | n | fired (score>=%.1f) | rate | weak only |\n|---|---|---|---|---|---|\n", blockScore)
	var tot [3][2]int // attack, benign, benign_hard
	for _, k := range keys {
		s := stats[k]
		src := k[:strings.IndexByte(k, '|')]
		metric := "recall"
		idx := 0
		switch s.cat {
		case "benign":
			metric, idx = "FPR", 1
		case "benign_hard":
			metric, idx = "FPR", 2
		}
		tot[idx][0] += s.n
		tot[idx][1] += s.hit
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s %.1f%% | %d |\n", src, s.cat, s.n, s.hit, metric, 100*float64(s.hit)/float64(s.n), s.weak)
	}
	for i, name := range []string{"all attacks (recall)", "all benign (FPR)", "all benign_hard (FPR)"} {
		fmt.Fprintf(&b, "| **%s** | | %d | %d | %.2f%% | |\n", name, tot[i][0], tot[i][1], 100*float64(tot[i][1])/float64(max(1, tot[i][0])))
	}
	b.WriteString("\nattack recall by language:\n")
	langs := make([]string, 0, len(langStat))
	for l := range langStat {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		fmt.Fprintf(&b, "  %s %d/%d\n", l, langStat[l][1], langStat[l][0])
	}
	b.WriteString("\nfirings per rule (attack / benign):\n")
	ids := make([]string, 0, len(ruleHits))
	for id := range ruleHits {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "  %-50s %5d %5d\n", id, ruleHits[id][0], ruleHits[id][1])
	}
	t.Log(b.String())
}
