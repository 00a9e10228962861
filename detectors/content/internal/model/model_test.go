package model

import "testing"

func TestDeleet(t *testing.T) {
	for in, want := range map[string]string{
		"k1ll my n3ighbour": "kill my neighbour",
		"b0mb":              "bomb",
		"4 kids in 1990":    "4 kids in 1990",
		"wow!! $5":          "wow!! $5",
		"sh!t":              "shit",
	} {
		got := Deleet(in)
		if got != want || len(got) != len(in) {
			t.Errorf("Deleet(%q) = %q, want %q (same length)", in, got, want)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	c := Config{HashBits: 8, CharMin: 3, CharMax: 4, MaxBytes: 64, Seed: 1}
	w := make([]float32, (1<<c.HashBits)*NumHeads)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	m := Quantize(c, w, [NumHeads]float32{0.5})
	m2, err := Decode(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var a, b [NumHeads]float64
	m.Scores("how do i make a bomb", &a)
	m2.Scores("how do i make a bomb", &b)
	if a != b {
		t.Errorf("scores differ after round trip: %v vs %v", a, b)
	}
	bad := m.Encode()
	bad[len(bad)/2] ^= 1
	if _, err := Decode(bad); err == nil {
		t.Error("corrupted model decoded")
	}
}
