package table

import (
	"math"
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/internal/semantic"
)

func cosine(t *Table, a, b int32) float64 {
	u, v := make([]float64, t.Dims), make([]float64, t.Dims)
	t.Row(u, a)
	t.Row(v, b)
	var d, nu, nv float64
	for i := range u {
		d += u[i] * v[i]
		nu += u[i] * u[i]
		nv += v[i] * v[i]
	}
	return d / math.Sqrt(nu*nv)
}

// The table belongs to the tokenizer's vocabulary and carries meaning:
// near-synonyms are closer than unrelated words.
func TestTableMatchesVocabularyAndMeaning(t *testing.T) {
	tab, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tok := semantic.Default()
	if tab.Rows != tok.Size() {
		t.Fatalf("table has %d rows, vocabulary %d tokens", tab.Rows, tok.Size())
	}
	id := func(w string) int32 {
		ids := tok.Append(nil, w, 0)
		if len(ids) != 1 {
			t.Fatalf("%q is %d tokens", w, len(ids))
		}
		return ids[0]
	}
	for _, c := range [][3]string{
		{"ignore", "disregard", "banana"},
		{"instructions", "rules", "potato"},
		{"pretend", "imagine", "kitchen"},
		{"password", "secret", "river"},
	} {
		near, far := cosine(tab, id(c[0]), id(c[1])), cosine(tab, id(c[0]), id(c[2]))
		if near <= far {
			t.Errorf("cos(%s, %s) = %.3f not above cos(%s, %s) = %.3f", c[0], c[1], near, c[0], c[2], far)
		}
	}
}

func TestDecodeRejectsCorruptTable(t *testing.T) {
	b := append([]byte(nil), tableBin...)
	b[len(b)/2] ^= 1
	if _, err := Decode(b); err == nil {
		t.Fatal("a flipped byte was accepted")
	}
	if _, err := Decode(b[:20]); err == nil {
		t.Fatal("a truncated table was accepted")
	}
}
