package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults used when a Config field is zero.
const (
	DefaultMaxMB  = 64
	DefaultTTL    = 5 * time.Minute
	DefaultShards = 256
)

const (
	keySize = 32
	// stampSize is the expiry deadline (unix nanoseconds) stored in front of
	// every value: bigcache's Get ignores its own LifeWindow and only the
	// once-a-CleanWindow sweeper drops old entries, at one-second resolution,
	// so without the stamp a decision could be served up to TTL+CleanWindow+1s.
	stampSize = 8
	// bigcache wraps each entry in a timestamp, hash and key length (18 bytes)
	// and its queue adds a varint length (at most 5 bytes).
	entryOverhead = 18 + keySize + stampSize + 5
	// maxEntrySize sizes bigcache's initial shard buffers; encoded verdicts
	// are a few hundred bytes.
	maxEntrySize = 512
	// pooledBufSize bounds the Set scratch buffers kept in the pool.
	pooledBufSize = 1024
)

// ErrValueTooLarge is returned by Set for a value that cannot fit in one
// shard of the capped store.
var ErrValueTooLarge = errors.New("cache: value too large for the store's per-shard size cap")

// Config sizes the store. Zero fields take the defaults above.
type Config struct {
	MaxMB  int           // hard cap on stored entries, in MiB (bigcache HardMaxCacheSize)
	TTL    time.Duration // how long a decision may be served
	Shards int           // bigcache shards; a power of two
}

func (c Config) withDefaults() Config {
	if c.MaxMB == 0 {
		c.MaxMB = DefaultMaxMB
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Shards == 0 {
		c.Shards = DefaultShards
	}
	return c
}

// Store is the production decision store. It is safe for concurrent use.
type Store struct {
	bc            *bigcache.BigCache
	ttl           time.Duration
	maxValueBytes int
	now           func() time.Time // replaced in tests to move time without sleeping
	bufs          sync.Pool        // *[]byte scratch for stamped values

	hit, miss, getErr prometheus.Counter
	setOK, setErr     prometheus.Counter
	reg               prometheus.Registerer
	collectors        []prometheus.Collector
	closeOnce         sync.Once
	closeErr          error
}

// New builds a store. reg may be nil, in which case no metrics are
// registered; registering on a registry that already holds a store's metrics
// is an error (Close the old store first).
func New(cfg Config, reg prometheus.Registerer) (*Store, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.MaxMB < 0:
		return nil, fmt.Errorf("cache: max size %d MiB is negative; use a positive size or 0 for the default %d", cfg.MaxMB, DefaultMaxMB)
	case cfg.TTL < 0:
		return nil, fmt.Errorf("cache: ttl %s is negative; use a positive duration or 0 for the default %s", cfg.TTL, DefaultTTL)
	case cfg.Shards < 0 || cfg.Shards&(cfg.Shards-1) != 0:
		return nil, fmt.Errorf("cache: shards %d is not a power of two; use e.g. 64, 256 or 1024", cfg.Shards)
	}
	// bigcache enforces the cap per shard, so the largest storable value is
	// bounded by one shard's share, not by MaxMB.
	shardBytes := cfg.MaxMB * 1024 * 1024 / cfg.Shards
	// Half a shard: bigcache refuses to grow a shard's queue when the entry
	// would not fit on top of the current capacity, and then evicts the whole
	// shard before failing; refusing up front keeps one oversize value from
	// flushing a shard.
	maxValue := shardBytes/2 - entryOverhead
	if maxValue < maxEntrySize {
		return nil, fmt.Errorf("cache: %d MiB across %d shards leaves %d bytes per shard, too little for a decision; use fewer shards or more memory",
			cfg.MaxMB, cfg.Shards, shardBytes)
	}

	cleanWindow := max(cfg.TTL/2, time.Second)
	bc, err := bigcache.New(
		// Never cancelled: bigcache prints to stdout when its context ends,
		// and Close stops the sweeper anyway.
		context.Background(),
		bigcache.Config{
			Shards:           cfg.Shards,
			LifeWindow:       cfg.TTL,
			CleanWindow:      cleanWindow,
			MaxEntrySize:     maxEntrySize,
			HardMaxCacheSize: cfg.MaxMB,
			StatsEnabled:     false,
			Verbose:          false,
			Logger:           nopLogger{},
		})
	if err != nil {
		return nil, fmt.Errorf("cache: create bigcache (%d MiB, %d shards): %w", cfg.MaxMB, cfg.Shards, err)
	}

	s := &Store{bc: bc, ttl: cfg.TTL, maxValueBytes: maxValue, now: time.Now}
	s.bufs.New = func() any { b := make([]byte, 0, pooledBufSize); return &b }
	if err := s.registerMetrics(reg); err != nil {
		_ = bc.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) registerMetrics(reg prometheus.Registerer) error {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmfw_cache_requests_total",
		Help: "Decision cache lookups by result (hit, miss, error).",
	}, []string{"result"})
	sets := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmfw_cache_sets_total",
		Help: "Decision cache writes by result (ok, error).",
	}, []string{"result"})
	// Resolve the children once: every lookup then costs one atomic add,
	// and all label values are exported from the start (no missing series).
	s.hit = requests.WithLabelValues("hit")
	s.miss = requests.WithLabelValues("miss")
	s.getErr = requests.WithLabelValues("error")
	s.setOK = sets.WithLabelValues("ok")
	s.setErr = sets.WithLabelValues("error")
	if reg == nil {
		return nil
	}

	entries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "llmfw_cache_entries",
		Help: "Entries currently held by the decision cache, including expired ones not yet swept.",
	}, func() float64 { return float64(s.bc.Len()) })
	capacity := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "llmfw_cache_capacity_bytes",
		Help: "Bytes allocated for decision cache entries (bounded by the configured size cap).",
	}, func() float64 { return float64(s.bc.Capacity()) })

	for _, c := range []prometheus.Collector{requests, sets, entries, capacity} {
		if err := reg.Register(c); err != nil {
			for _, done := range s.collectors {
				reg.Unregister(done)
			}
			s.collectors = nil
			return fmt.Errorf("cache: register metrics: %w", err)
		}
		s.collectors = append(s.collectors, c)
	}
	s.reg = reg
	return nil
}

// Get returns the value stored under key. A missing or expired entry is
// (nil, false, nil); any other failure is returned as err, which callers treat
// as a miss. The returned slice is the caller's own copy.
func (s *Store) Get(key [32]byte) (val []byte, ok bool, err error) {
	v, err := s.bc.Get(string(key[:]))
	if err != nil {
		if errors.Is(err, bigcache.ErrEntryNotFound) {
			s.miss.Inc()
			return nil, false, nil
		}
		s.getErr.Inc()
		return nil, false, fmt.Errorf("cache: get: %w", err)
	}
	if len(v) < stampSize {
		s.getErr.Inc()
		return nil, false, fmt.Errorf("cache: get: stored entry is %d bytes, shorter than its %d-byte expiry stamp", len(v), stampSize)
	}
	if s.now().UnixNano() >= int64(binary.BigEndian.Uint64(v)) {
		s.miss.Inc()
		return nil, false, nil
	}
	s.hit.Inc()
	return v[stampSize:], true, nil
}

// Set stores val under key for the store's TTL, replacing any earlier value.
// When the cap is reached bigcache overwrites the oldest entries of the shard.
// A value too large for a shard is refused with ErrValueTooLarge.
func (s *Store) Set(key [32]byte, val []byte) error {
	if len(val) > s.maxValueBytes {
		s.setErr.Inc()
		return fmt.Errorf("cache: set %d-byte value (limit %d): %w", len(val), s.maxValueBytes, ErrValueTooLarge)
	}
	bp := s.bufs.Get().(*[]byte)
	buf := append((*bp)[:0], make([]byte, stampSize)...)
	binary.BigEndian.PutUint64(buf, uint64(s.now().Add(s.ttl).UnixNano()))
	buf = append(buf, val...)
	// bigcache copies the entry into its own queue, so buf can be reused.
	err := s.bc.Set(string(key[:]), buf)
	if cap(buf) <= pooledBufSize {
		*bp = buf
		s.bufs.Put(bp)
	}
	if err != nil {
		s.setErr.Inc()
		return fmt.Errorf("cache: set: %w", err)
	}
	s.setOK.Inc()
	return nil
}

// Len is the number of entries held, including expired ones not yet swept.
func (s *Store) Len() int { return s.bc.Len() }

// Close stops bigcache's sweeper and unregisters the store's metrics so a
// replacement store can register its own. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.reg != nil {
			for _, c := range s.collectors {
				s.reg.Unregister(c)
			}
		}
		if err := s.bc.Close(); err != nil {
			s.closeErr = fmt.Errorf("cache: close: %w", err)
		}
	})
	return s.closeErr
}

// Faulty is a test double for fault injection: every Get and Set returns
// Err, so callers' fail-closed paths can be exercised. Production uses Store.
type Faulty struct{ Err error }

// Get always fails with f.Err.
func (f Faulty) Get(key [32]byte) (val []byte, ok bool, err error) { return nil, false, f.Err }

// Set always fails with f.Err.
func (f Faulty) Set(key [32]byte, val []byte) error { return f.Err }

// nopLogger keeps bigcache silent even if Verbose is ever turned on: its
// collision messages would print keys.
type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
