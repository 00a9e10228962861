package semantic

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// testdata/reference.jsonl: texts (the first 500 characters of 300 seeded
// rows of the development corpus, and edge cases: accents, CJK, controls,
// long words, ligatures, mathematical letters) with the IDs that Hugging
// Face's tokenizers library gives with the encoder's own tokenizer.json
// (distill/reference_tokens.py).
func TestTokenizerMatchesReference(t *testing.T) {
	f, err := os.Open("testdata/reference.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	tok := Default()
	var n, bad int
	for sc.Scan() {
		var c struct {
			Text string  `json:"text"`
			IDs  []int32 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		got := tok.Append(nil, c.Text, 0)
		if !slices.Equal(got, c.IDs) {
			bad++
			if bad <= 5 {
				t.Errorf("%q:\n got  %v\n want %v", c.Text, got, c.IDs)
			}
		}
	}
	if n < 300 {
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
