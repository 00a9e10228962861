package model

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Row is one record of content-dev.jsonl or prompts-dev.jsonl.
type Row struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Label    string `json:"label"`
	Category string `json:"category"`
	Source   string `json:"source"`
	Lang     string `json:"lang"`
	// Key is the source key (the id without its row number); Group is the
	// multijail prompt a row translates (all ten languages together), -1
	// elsewhere.
	Key   string `json:"-"`
	Group int    `json:"-"`
}

// Harmful reports whether the row is labelled harmful.
func (r *Row) Harmful() bool { return r.Label == "harmful" }

// Load reads a JSON Lines file of rows.
func Load(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	group := -1
	for n := 1; sc.Scan(); n++ {
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if i := strings.LastIndexByte(r.ID, '-'); i > 0 {
			r.Key = r.ID[:i]
		}
		r.Group = -1
		if r.Key == "multijail" {
			if r.Lang == "en" {
				group++
			}
			r.Group = max(group, 0)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// Shippable lists the source keys whose licences allow weights derived from
// them to be redistributed (see the content README). alpaca (CC BY-NC),
// maliciousinstruct and oktest (no licence), ethos (GPL-3.0) and
// alpaca-eval (CC BY-NC) are evaluation-only.
var Shippable = map[string]bool{
	// content-dev.jsonl
	"sst": true, "xstest-unsafe": true, "strongreject": true, "pair-advbench": true,
	"advbench": true, "multijail": true, "donotanswer": true, "toxigen": true,
	"davidson": true, "surge-toxicity": true,
	// prompts-dev.jsonl benign rows only (attack rows are not content labels)
	"gsm8k": true, "self-instruct": true, "t0-templates": true, "fastchat-bench": true,
	"fuzzyai-benign": true, "cyberseceval-frr": true, "wildguard-benign": true,
	"notinject": true, "chatgpt-prompts-zh": true, "garak-normal": true, "garak-latent": true,
	"xstest": true,
}

// HeadOf returns the head index of a harmful row's category (0 when none).
func HeadOf(category string) int {
	if category == "misinformation" {
		category = "other"
	}
	for i, h := range Heads {
		if i > 0 && h == category {
			return i
		}
	}
	return 0
}
