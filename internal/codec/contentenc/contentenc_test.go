package contentenc

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

func compress(t testing.TB, coding string, in []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	case "deflate":
		w, _ = zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	case "rawdeflate":
		w, _ = flate.NewWriter(&buf, flate.BestSpeed)
	case "br":
		w = brotli.NewWriterLevel(&buf, brotli.BestSpeed)
	case "zstd":
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	default:
		t.Fatalf("no compressor for %s", coding)
	}
	if _, err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecompressRoundTrip(t *testing.T) {
	plain := []byte(strings.Repeat(`{"messages":[{"role":"user","content":"hello"}]}`, 50))
	for _, c := range []struct{ coding, header string }{
		{"gzip", "gzip"}, {"gzip", "X-GZIP"}, {"deflate", "deflate"}, {"rawdeflate", "deflate"},
		{"br", "br"}, {"zstd", " zstd "},
	} {
		t.Run(c.coding+"/"+c.header, func(t *testing.T) {
			out, err := Decompress(c.header, compress(t, c.coding, plain), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, plain) {
				t.Fatal("round trip changed the body")
			}
		})
	}
	for _, h := range []string{"", "identity", " Identity "} {
		out, err := Decompress(h, plain, 10)
		if err != nil || !bytes.Equal(out, plain) {
			t.Errorf("%q: want body unchanged, got err %v", h, err)
		}
	}
}

func TestDecompressStacked(t *testing.T) {
	plain := []byte("stacked body text")
	// "gzip, br" means gzip was applied first.
	body := compress(t, "br", compress(t, "gzip", plain))
	out, err := Decompress("gzip, BR", body, 0)
	if err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("got %q, %v", out, err)
	}
	body = compress(t, "zstd", compress(t, "deflate", compress(t, "gzip", plain)))
	out, err = Decompress("gzip,identity, deflate,zstd", body, 0)
	if err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("got %q, %v", out, err)
	}
	if _, err := Decompress("gzip,gzip,gzip,gzip,gzip", body, 0); !errors.Is(err, ErrUnsupportedEncoding) {
		t.Fatalf("5 stacked: err = %v", err)
	}
}

func TestDecompressBomb(t *testing.T) {
	zeros := make([]byte, 100<<20)
	for _, coding := range []string{"gzip", "deflate", "br", "zstd"} {
		t.Run(coding, func(t *testing.T) {
			in := zeros
			if coding != "gzip" {
				in = zeros[:24<<20] // same property, less time building the bomb under -race
			}
			bomb := compress(t, coding, in)
			start := time.Now()
			out, err := Decompress(coding, bomb, 1<<20)
			if !errors.Is(err, ErrTooLarge) || out != nil {
				t.Fatalf("err = %v, len %d; want ErrTooLarge", err, len(out))
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	// The limit is exact: maxBytes passes, maxBytes+1 does not.
	body := compress(t, "gzip", []byte("12345"))
	if _, err := Decompress("gzip", body, 5); err != nil {
		t.Errorf("exact size: %v", err)
	}
	if _, err := Decompress("gzip", body, 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one over: %v", err)
	}
}

func TestDecompressBombMemory(t *testing.T) {
	bomb := compress(t, "gzip", make([]byte, 100<<20))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decompress("gzip", bomb, 1<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("bomb allocated %d bytes", alloc)
	}
}

func TestDecompressErrors(t *testing.T) {
	good := compress(t, "gzip", []byte("hello"))
	truncated := good[:len(good)-6]
	tests := []struct {
		coding string
		body   []byte
		want   error
	}{
		{"gzip", []byte("not gzip at all"), ErrMalformed},
		{"gzip", truncated, ErrMalformed},
		{"deflate", []byte{0xff, 0xff, 0xff, 0xff}, ErrMalformed},
		{"br", []byte("definitely not brotli data"), ErrMalformed},
		{"zstd", []byte("not zstd"), ErrMalformed},
		{"compress", good, ErrUnsupportedEncoding},
		{"gzip, snappy", good, ErrUnsupportedEncoding},
		{"x-" + strings.Repeat("a", 100), good, ErrUnsupportedEncoding},
	}
	for _, tt := range tests {
		_, err := Decompress(tt.coding, tt.body, 0)
		if !errors.Is(err, tt.want) {
			t.Errorf("%.20s: err = %v, want %v", tt.coding, err, tt.want)
		}
	}
}

func TestDecompressZstdPoolLeaksNoGoroutines(t *testing.T) {
	enc := compress(t, "zstd", []byte("pooled decoder"))
	before := runtime.NumGoroutine()
	for range 50 {
		if _, err := Decompress("zstd", enc, 0); err != nil {
			t.Fatal(err)
		}
		_, _ = Decompress("zstd", enc[:len(enc)/2], 0) // corrupt: the decoder is still reusable
	}
	runtime.GC()
	if after := runtime.NumGoroutine(); after > before+1 {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
}

func BenchmarkDecompress(b *testing.B) {
	body := bytes.Repeat([]byte(`{"role":"user","content":"Tomatoes need six hours of sun and steady water."},`), 16<<10/64)
	for _, coding := range []string{"gzip", "deflate", "br", "zstd"} {
		enc := compress(b, coding, body)
		b.Run(coding, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decompress(coding, enc, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDecompress: no panic, output never exceeds the bound, errors are one
// of the three classes.
func FuzzDecompress(f *testing.F) {
	plain := []byte(`{"messages":[{"role":"user","content":"hi"}]}`)
	for _, c := range []string{"gzip", "deflate", "rawdeflate", "br", "zstd"} {
		hdr := c
		if c == "rawdeflate" {
			hdr = "deflate"
		}
		f.Add(hdr, compress(f, c, plain))
	}
	f.Add("gzip, br", compress(f, "br", compress(f, "gzip", plain)))
	f.Add("identity", plain)
	f.Add("compress", plain)
	f.Fuzz(func(t *testing.T, encoding string, body []byte) {
		const limit = 1 << 16
		out, err := Decompress(encoding, body, limit)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupportedEncoding) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(out) > limit && !bytes.Equal(out, body) {
			t.Fatalf("output of %d bytes exceeds the bound", len(out))
		}
	})
}
