package gazetteer

import "testing"

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		name string
		want Kind
	}{
		{"maria", First},
		{"jensen", Last},
		{"new zealand", Place},
		{"rotterdam", Place},
		{"москва", Place}, // a non-Latin name of a large city
		{"the", Common},
		{"xqzvw", 0},
		{"", 0},
	} {
		if got := Lookup(c.name); got&c.want != c.want || c.want == 0 && got != 0 {
			t.Errorf("Lookup(%q) = %b, want %b", c.name, got, c.want)
		}
	}
	if Lookup("james")&(First|Last) != First|Last {
		t.Error("a name on both census lists should carry both kinds")
	}
	if LongestPlace() < 3 {
		t.Errorf("longest place has %d words", LongestPlace())
	}
}

// The lists stay compact: far below the 19 MB a Go map of them took.
func TestFootprint(t *testing.T) {
	Load()
	b := len(tab.names) + 4*len(tab.off) + len(tab.size) + len(tab.kind) + 4*len(tab.slots)
	if b > 10<<20 {
		t.Fatalf("gazetteer tables take %d bytes", b)
	}
}
