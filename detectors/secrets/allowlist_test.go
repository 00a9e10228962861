package secrets

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/spf13/viper"
	glconfig "github.com/zricethezav/gitleaks/v8/config"
)

// gitleaksDefaults loads gitleaks' own default configuration, the way
// gitleaks does, for comparisons with its library.
func gitleaksDefaults(tb testing.TB) glconfig.Config {
	tb.Helper()
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(glconfig.DefaultConfig)); err != nil {
		tb.Fatal(err)
	}
	var vc glconfig.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		tb.Fatal(err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// TestStopSetMatchesGitleaks: our stop-word lookup answers exactly as
// gitleaks' ContainsStopWord, for every allowlist of the default rules, on
// strings built around each stop word, mixed case and cut, and random ones.
func TestStopSetMatchesGitleaks(t *testing.T) {
	cfg := gitleaksDefaults(t)
	lists := cfg.Allowlists
	for _, r := range cfg.Rules {
		lists = append(lists, r.Allowlists...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-=/+éß"
	random := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	checked, hits := 0, 0
	for _, a := range lists {
		if len(a.StopWords) == 0 {
			continue
		}
		ours := newStopSet(a.StopWords)
		var probes []string
		for i, w := range a.StopWords {
			if i%7 != 0 {
				continue // a sample keeps the test fast; every list is covered
			}
			probes = append(probes, w, strings.ToUpper(w), random(5)+w+random(9), random(3)+strings.ToUpper(w[:1])+w[1:], w[:len(w)-1], w[1:])
		}
		for range 300 {
			probes = append(probes, random(8+rng.IntN(40)))
		}
		for _, p := range probes {
			want, _ := a.ContainsStopWord(p)
			if got := ours.contains(p); got != want {
				t.Fatalf("stop words %.40v…: contains(%q) = %v, gitleaks says %v", a.StopWords, p, got, want)
			}
			checked++
			if want {
				hits++
			}
		}
	}
	if checked == 0 || hits == 0 {
		t.Fatalf("checked %d strings, %d containing a stop word: the default rules changed shape", checked, hits)
	}
	t.Logf("%d strings checked, %d contain a stop word", checked, hits)
}
