package cache

import (
	"sync/atomic"
	"testing"
)

var benchVal = make([]byte, 256) // about the size of an encoded verdict

func benchStore(b *testing.B) *Store {
	s := newStore(b, Config{}, nil)
	for i := range 1024 {
		if err := s.Set(key(i), benchVal); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkGetHit(b *testing.B) {
	s := benchStore(b)
	k := key(7)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := s.Get(k); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkGetMiss(b *testing.B) {
	s := benchStore(b)
	k := key(1 << 30)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := s.Get(k); ok {
			b.Fatal("hit")
		}
	}
}

func BenchmarkSet(b *testing.B) {
	s := benchStore(b)
	keys := make([][32]byte, 4096)
	for i := range keys {
		keys[i] = key(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.Set(keys[i&4095], benchVal); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetParallel(b *testing.B) {
	s := benchStore(b)
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := key(int(next.Add(1)) % 1024)
		for pb.Next() {
			if _, ok, _ := s.Get(k); !ok {
				b.Fatal("miss")
			}
		}
	})
}
