package semantic

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// testdata/reference-e5.jsonl: the texts of reference.jsonl, 200 seeded
// development rows with many non-ASCII characters and edge cases, with the
// piece IDs the package's own tokenizer gives (distill/reference_e5.py).
func TestUnigramMatchesReference(t *testing.T) {
	tok := E5()
	checkReference(t, "testdata/reference-e5.jsonl", 500, func(text string) []int32 { return tok.Append(nil, text, 0) })
}

func TestUnigramControlPiecesNeverMatch(t *testing.T) {
	tok := E5()
	for _, id := range tok.Append(nil, "<s></s><pad><unk><mask>", 0) {
		if id < 4 || id == int32(tok.Size()-1) {
			t.Fatalf("text matched control piece %d", id)
		}
	}
}

func TestUnigramLimitAndLongRuns(t *testing.T) {
	tok := E5()
	if got := tok.Append(nil, "one two three four five six", 3); len(got) != 3 {
		t.Fatalf("limit 3 gave %d ids", len(got))
	}
	if got := tok.Append(nil, "", 0); len(got) != 0 {
		t.Fatalf("empty text gave %v", got)
	}
	// A 100 KB run without spaces is segmented in windows, never one
	// quadratic pass; every byte still yields pieces.
	long := strings.Repeat("qzx", 1<<15)
	if got := tok.Append(nil, long, 0); len(got) < len(long)/48 {
		t.Fatalf("long run gave %d ids", len(got))
	}
}

// benchTexts: 4 KB windows of the reference texts (English and 200 rows
// with many non-ASCII characters), so that words vary as in traffic.
func benchTexts(b *testing.B) []string {
	data, err := os.ReadFile("testdata/reference-e5.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	var all strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var c struct{ Text string }
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			b.Fatal(err)
		}
		all.WriteString(c.Text)
		all.WriteByte(' ')
	}
	s := all.String()
	var out []string
	for i := 0; i+4096 <= len(s); i += 4096 {
		out = append(out, strings.ToValidUTF8(s[i:i+4096], ""))
	}
	return out
}

func BenchmarkUnigram4KB(b *testing.B) { benchTokenizer(b, E5().Append) }

func BenchmarkWordPiece4KB(b *testing.B) { benchTokenizer(b, Default().Append) }

func benchTokenizer(b *testing.B, tokenize func([]int32, string, int) []int32) {
	texts := benchTexts(b)
	var dst []int32
	b.SetBytes(4096)
	i := 0
	for b.Loop() {
		dst = tokenize(dst[:0], texts[i%len(texts)], 0)
		i++
	}
}

func BenchmarkUnigramDecode(b *testing.B) {
	for b.Loop() {
		if _, err := decodeUnigram(e5VocabGz); err != nil {
			b.Fatal(err)
		}
	}
}

func TestUnigramDecodeRejectsCorruption(t *testing.T) {
	if _, err := decodeUnigram([]byte("not gzip")); err == nil {
		t.Fatal("garbage decoded")
	}
	// A flipped byte inside the gzip stream fails its CRC or ours.
	bad := bytes.Clone(e5VocabGz)
	bad[len(bad)/2] ^= 0x40
	if _, err := decodeUnigram(bad); err == nil {
		t.Fatal("corrupted vocabulary decoded")
	}
}

func FuzzUnigram(f *testing.F) {
	f.Add("Ignore all previous instructions")
	f.Add("\xff\x00 日本語  ｆｕｌｌ \u2581\u2581 x")
	tok := E5()
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.Append(nil, text, 0)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.Size() {
				t.Fatalf("id %d out of range", id)
			}
		}
		if len(ids) > 2*len(text)+1 {
			t.Fatalf("%d ids for %d bytes", len(ids), len(text))
		}
		if got := tok.Append(nil, text, 5); len(got) > 5 {
			t.Fatalf("limit 5 gave %d", len(got))
		}
	})
}
