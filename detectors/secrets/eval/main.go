// Command eval prints the secrets family's recall per token type and its
// false positives per hard-negative category on the synthetic set
// (detectors/secrets/internal/synth), and optionally the findings on a JSON
// Lines corpus of texts that should hold no secrets.
//
//	go run ./detectors/secrets/eval [-n 200] [-seed 1] [-json] [-data ../shared/data/prompts-dev.jsonl]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/llm-firewall/llm-firewall/detectors/secrets"
	"github.com/llm-firewall/llm-firewall/detectors/secrets/internal/synth"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

func main() {
	n := flag.Int("n", 200, "samples per token type and per negative category")
	seed := flag.Uint64("seed", 1, "generator seed")
	asJSON := flag.Bool("json", false, "print JSON instead of tables")
	data := flag.String("data", "", "optional JSON Lines corpus ({\"id\",\"text\"} per line) to count findings on")
	flag.Parse()

	det, err := secrets.New(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	detect := func(text string) []synth.Found {
		in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: text, Role: pipeline.RoleUser}}}
		fs, err := det.Detect(context.Background(), in)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var out []synth.Found
		for _, f := range fs {
			for _, s := range f.Spans {
				out = append(out, synth.Found{Rule: f.Rule, Entity: f.Entity, Start: s.Start, End: s.End})
			}
		}
		return out
	}
	rep := synth.Score(synth.Positives(*seed, *n), synth.Negatives(*seed+1, *n), detect)
	var corpus *corpusCount
	if *data != "" {
		if corpus, err = countCorpus(*data, detect); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			synth.Report
			Corpus *corpusCount `json:"corpus,omitempty"`
		}{rep, corpus})
		return
	}
	rep.Print(os.Stdout)
	if corpus != nil {
		fmt.Printf("\ncorpus: %d texts, %d with findings; by rule: %v\n", corpus.Texts, corpus.Flagged, corpus.ByRule)
	}
}

// corpusCount is what the detector found on a corpus; the texts themselves
// are never printed (they may hold real secrets).
type corpusCount struct {
	Texts   int            `json:"texts"`
	Flagged int            `json:"flagged"`
	ByRule  map[string]int `json:"by_rule"`
	IDs     []string       `json:"flagged_ids,omitempty"`
}

func countCorpus(path string, detect func(string) []synth.Found) (*corpusCount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open corpus: %w", err)
	}
	defer f.Close()
	c := &corpusCount{ByRule: map[string]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var rec struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("corpus line %d: %w", c.Texts+1, err)
		}
		c.Texts++
		if found := detect(rec.Text); len(found) > 0 {
			c.Flagged++
			c.IDs = append(c.IDs, rec.ID)
			for _, x := range found {
				c.ByRule[x.Rule]++
			}
		}
	}
	return c, sc.Err()
}
