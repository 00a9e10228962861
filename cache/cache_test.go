package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func key(i int) [32]byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(b[:])
}

func newStore(t testing.TB, cfg Config, reg prometheus.Registerer) *Store {
	t.Helper()
	s, err := New(cfg, reg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSetThenGetHits(t *testing.T) {
	s := newStore(t, Config{}, nil)
	want := []byte(`{"action":"allow"}`)
	if err := s.Set(key(1), want); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, ok, err := s.Get(key(1))
	if err != nil || !ok || !bytes.Equal(got, want) {
		t.Fatalf("Get = %q, %v, %v; want %q, true, nil", got, ok, err, want)
	}
	// The caller owns the returned bytes: scribbling on them must not
	// change what the next reader sees.
	got[0] = 'X'
	again, _, _ := s.Get(key(1))
	if !bytes.Equal(again, want) {
		t.Fatalf("stored value changed through a returned slice: %q", again)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
}

func TestMissIsNotAnError(t *testing.T) {
	s := newStore(t, Config{}, nil)
	got, ok, err := s.Get(key(42))
	if got != nil || ok || err != nil {
		t.Fatalf("Get on empty store = %q, %v, %v; want nil, false, nil", got, ok, err)
	}
}

func TestSetOverwrites(t *testing.T) {
	s := newStore(t, Config{}, nil)
	_ = s.Set(key(1), []byte("old"))
	_ = s.Set(key(1), []byte("new"))
	got, ok, _ := s.Get(key(1))
	if !ok || string(got) != "new" {
		t.Fatalf("Get after overwrite = %q, %v; want \"new\"", got, ok)
	}
}

func TestEmptyValueRoundTrips(t *testing.T) {
	s := newStore(t, Config{}, nil)
	if err := s.Set(key(1), nil); err != nil {
		t.Fatalf("Set(nil): %v", err)
	}
	got, ok, err := s.Get(key(1))
	if !ok || err != nil || len(got) != 0 {
		t.Fatalf("Get = %q, %v, %v; want empty hit", got, ok, err)
	}
}

func TestTTLExpiry(t *testing.T) {
	s := newStore(t, Config{TTL: 10 * time.Second}, nil)
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }

	_ = s.Set(key(1), []byte("v"))
	now = now.Add(10*time.Second - time.Nanosecond)
	if _, ok, _ := s.Get(key(1)); !ok {
		t.Fatal("entry expired before its TTL")
	}
	now = now.Add(time.Nanosecond)
	if got, ok, err := s.Get(key(1)); ok || err != nil || got != nil {
		t.Fatalf("Get at TTL = %q, %v, %v; want a miss", got, ok, err)
	}
}

// TestTTLExpiryRealClock checks the stamp against the real clock once, with a
// TTL below bigcache's one-second resolution.
func TestTTLExpiryRealClock(t *testing.T) {
	s := newStore(t, Config{TTL: 50 * time.Millisecond}, nil)
	_ = s.Set(key(1), []byte("v"))
	if _, ok, _ := s.Get(key(1)); !ok {
		t.Fatal("fresh entry missed")
	}
	time.Sleep(80 * time.Millisecond)
	if _, ok, _ := s.Get(key(1)); ok {
		t.Fatal("entry served after its TTL")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"shards not power of two", Config{Shards: 100}, "power of two"},
		{"negative shards", Config{Shards: -4}, "power of two"},
		{"negative size", Config{MaxMB: -1}, "negative"},
		{"negative ttl", Config{TTL: -time.Second}, "negative"},
		{"shards too small for size", Config{MaxMB: 1, Shards: 1024}, "fewer shards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg, nil)
			if err == nil {
				_ = s.Close()
				t.Fatalf("New(%+v) succeeded, want error containing %q", tc.cfg, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%+v) error %q does not mention %q", tc.cfg, err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s := newStore(t, Config{}, nil)
	if s.ttl != DefaultTTL {
		t.Fatalf("ttl = %s, want %s", s.ttl, DefaultTTL)
	}
	// 64 MiB over 256 shards is 256 KiB a shard; half of it is storable.
	if want := 128*1024 - entryOverhead; s.maxValueBytes != want {
		t.Fatalf("maxValueBytes = %d, want %d", s.maxValueBytes, want)
	}
}

// TestHardCapHolds writes about 64 times the cap and checks the memory
// bigcache allocated for entries never exceeds MaxMB: bigcache caps each
// shard's queue at MaxMB/Shards bytes and overwrites the oldest entries.
func TestHardCapHolds(t *testing.T) {
	const capBytes = 1 << 20
	s := newStore(t, Config{MaxMB: 1, Shards: 256}, nil)
	val := bytes.Repeat([]byte("v"), 400)
	for i := range 64 * capBytes / len(val) {
		if err := s.Set(key(i), val); err != nil {
			t.Fatalf("Set #%d: %v", i, err)
		}
	}
	if c := s.bc.Capacity(); c > capBytes {
		t.Fatalf("bigcache capacity %d bytes exceeds the %d-byte cap", c, capBytes)
	}
	// Roughly cap/(400+overhead) entries survive; more would mean the cap
	// is not enforced, none would mean everything was evicted.
	if n, most := s.Len(), capBytes/len(val); n == 0 || n > most {
		t.Fatalf("Len = %d after overfilling, want 1..%d", n, most)
	}
	// The newest entry is always still there.
	if _, ok, _ := s.Get(key(64*capBytes/len(val) - 1)); !ok {
		t.Fatal("newest entry was evicted")
	}
}

func TestOversizeValueErrorsWithoutPanic(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := newStore(t, Config{MaxMB: 1, Shards: 256}, reg)
	// Fill the shards so we can see an oversize Set does not flush them.
	for i := range 100 {
		_ = s.Set(key(i), []byte("small"))
	}
	before := s.Len()

	for _, size := range []int{s.maxValueBytes + 1, 4096, 2 << 20} {
		err := s.Set(key(1000+size), make([]byte, size))
		if !errors.Is(err, ErrValueTooLarge) {
			t.Fatalf("Set(%d bytes) = %v, want ErrValueTooLarge", size, err)
		}
	}
	if s.Len() != before {
		t.Fatalf("oversize Sets changed Len from %d to %d", before, s.Len())
	}
	if got := testutil.ToFloat64(s.setErr); got != 3 {
		t.Fatalf("sets{result=error} = %v, want 3", got)
	}
	// The largest allowed value must really fit, even into a full shard.
	if err := s.Set(key(1), make([]byte, s.maxValueBytes)); err != nil {
		t.Fatalf("Set(maxValueBytes=%d): %v", s.maxValueBytes, err)
	}
	if got, ok, _ := s.Get(key(1)); !ok || len(got) != s.maxValueBytes {
		t.Fatalf("largest value did not round-trip: ok=%v len=%d", ok, len(got))
	}
}

func TestConcurrentGetSet(t *testing.T) {
	s := newStore(t, Config{MaxMB: 1, Shards: 16}, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := key(i % 300)
				if (i+g)%3 == 0 {
					if err := s.Set(k, []byte("decision")); err != nil {
						t.Errorf("Set: %v", err)
						return
					}
					continue
				}
				if v, ok, err := s.Get(k); err != nil || (ok && string(v) != "decision") {
					t.Errorf("Get = %q, %v, %v", v, ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := newStore(t, Config{}, reg)

	_ = s.Set(key(1), []byte("a"))
	_ = s.Set(key(2), []byte("b"))
	_ = s.Set(key(3), make([]byte, s.maxValueBytes+1))
	s.Get(key(1))
	s.Get(key(1))
	s.Get(key(9))

	for _, c := range []struct {
		name string
		c    prometheus.Counter
		want float64
	}{
		{"requests hit", s.hit, 2},
		{"requests miss", s.miss, 1},
		{"requests error", s.getErr, 0},
		{"sets ok", s.setOK, 2},
		{"sets error", s.setErr, 1},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}

	// Five counter series (all labels pre-created) plus two gauges.
	if n := testutil.CollectAndCount(reg); n != 7 {
		t.Errorf("collected %d series, want 7", n)
	}
	if n := testutil.CollectAndCount(reg, "llmfw_cache_entries"); n != 1 {
		t.Errorf("llmfw_cache_entries series = %d, want 1", n)
	}
	want := `
# HELP llmfw_cache_entries Entries currently held by the decision cache, including expired ones not yet swept.
# TYPE llmfw_cache_entries gauge
llmfw_cache_entries 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "llmfw_cache_entries"); err != nil {
		t.Error(err)
	}
	gathered, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range gathered {
		if mf.GetName() == "llmfw_cache_capacity_bytes" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v <= 0 || v > 64<<20 {
				t.Errorf("llmfw_cache_capacity_bytes = %v, want in (0, 64 MiB]", v)
			}
		}
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestMetricsLintPerCollector(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := newStore(t, Config{}, reg)
	for _, c := range s.collectors {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}

func TestDoubleRegistrationFailsAndCloseUnregisters(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	first := newStore(t, Config{}, reg)
	if s, err := New(Config{}, reg); err == nil {
		_ = s.Close()
		t.Fatal("second store on the same registry registered its metrics")
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// A replacement store (say, after a config reload) can now register.
	newStore(t, Config{}, reg)
}

func TestFaulty(t *testing.T) {
	boom := errors.New("boom")
	var f Faulty = Faulty{Err: boom}
	if v, ok, err := f.Get(key(1)); v != nil || ok || !errors.Is(err, boom) {
		t.Fatalf("Faulty.Get = %q, %v, %v", v, ok, err)
	}
	if err := f.Set(key(1), []byte("x")); !errors.Is(err, boom) {
		t.Fatalf("Faulty.Set = %v", err)
	}
}

// Store and Faulty must stay interchangeable for the pipeline.
var _ interface {
	Get([32]byte) ([]byte, bool, error)
	Set([32]byte, []byte) error
} = (*Store)(nil)

var _ interface {
	Get([32]byte) ([]byte, bool, error)
	Set([32]byte, []byte) error
} = Faulty{}
