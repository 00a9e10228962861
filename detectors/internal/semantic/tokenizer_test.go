package semantic

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// testdata/reference.jsonl: texts (the first 500 characters of 300 seeded
// rows of the development corpus, and edge cases: accents, CJK, controls,
// long words, ligatures, mathematical letters) with the IDs that Hugging
// Face's tokenizers library gives with the encoder's own tokenizer.json
// (distill/reference_tokens.py).
func TestTokenizerMatchesReference(t *testing.T) {
	tok := Default()
	checkReference(t, "testdata/reference.jsonl", 300, func(text string) []int32 { return tok.Append(nil, text, 0) })
}

// checkReference tokenizes every text of a reference file (JSON lines of
// text and ids) and compares; texts holding "<s>" are skipped (a reference
// tokenizer may match control pieces in text; ours never does).
func checkReference(t *testing.T, path string, atLeast int, tokenize func(string) []int32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var n, bad int
	for sc.Scan() {
		var c struct {
			Text string  `json:"text"`
			IDs  []int32 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(c.Text, "<s>") {
			continue
		}
		n++
		if got := tokenize(c.Text); !slices.Equal(got, c.IDs) {
			bad++
			if bad <= 5 {
				t.Errorf("%q:\n got  %v\n want %v", c.Text, got, c.IDs)
			}
		}
	}
	if n < atLeast {
		t.Fatalf("only %d reference texts", n)
	}
	if bad > 0 {
		t.Errorf("%d of %d texts tokenized differently", bad, n)
	}
}

func TestTokenizerLimit(t *testing.T) {
	got := Default().Append(nil, "one two three four five six", 3)
	if len(got) != 3 {
		t.Fatalf("limit 3 gave %d ids", len(got))
	}
}

func TestTokenizerUnknownLongWord(t *testing.T) {
	tok := Default()
	long := make([]byte, 101)
	for i := range long {
		long[i] = 'a'
	}
	if got := tok.Append(nil, string(long), 0); !slices.Equal(got, []int32{tok.Unknown()}) {
		t.Fatalf("a 101-letter word gave %v, want one [UNK]", got)
	}
}
