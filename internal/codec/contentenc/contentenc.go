// Package contentenc undoes HTTP content-encodings (gzip, deflate, br,
// zstd, stacked) within a size bound, so a compression bomb costs at most
// the bound. It is the codec's helper for bodies that arrive compressed.
package contentenc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Errors Decompress wraps; test with errors.Is.
var (
	ErrMalformed           = errors.New("malformed body")
	ErrTooLarge            = errors.New("body too large")
	ErrUnsupportedEncoding = errors.New("unsupported content-encoding")
)

// DefaultMaxDecompressed bounds Decompress output when maxBytes <= 0.
const DefaultMaxDecompressed = 8 << 20

// maxStackedEncodings bounds a Content-Encoding list; real clients use one.
const maxStackedEncodings = 4

// zstdPool reuses stream decoders: building one costs more than decoding a
// typical request. Concurrency 1 keeps decoding on the calling goroutine,
// and the window cap bounds memory whatever a frame header claims.
var zstdPool = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(64<<20),
		zstd.WithDecoderMaxWindow(16<<20),
		zstd.WithDecoderLowmem(true),
	)
	if err != nil {
		panic(fmt.Sprintf("contentenc: zstd decoder options: %v", err)) // static options: a bug, not input
	}
	return d
}}

// Decompress undoes a Content-Encoding value ("gzip", "br, gzip", ...),
// returning at most maxBytes (8 MiB when maxBytes <= 0) or ErrTooLarge. It
// stops reading as soon as the bound is passed, so a compression bomb costs
// at most maxBytes of memory. "" and "identity" return body unchanged.
func Decompress(encoding string, body []byte, maxBytes int) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxDecompressed
	}
	var codings []string
	for c := range strings.SplitSeq(encoding, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" || c == "identity" {
			continue
		}
		codings = append(codings, c)
	}
	if len(codings) > maxStackedEncodings {
		return nil, fmt.Errorf("%d stacked content-encodings, at most %d supported: %w", len(codings), maxStackedEncodings, ErrUnsupportedEncoding)
	}
	// Encodings are listed in the order they were applied: undo from the end.
	out := body
	for i := len(codings) - 1; i >= 0; i-- {
		var err error
		if out, err = decodeOne(codings[i], out, maxBytes); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeOne(coding string, in []byte, maxBytes int) ([]byte, error) {
	switch coding {
	case "gzip", "x-gzip":
		r, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			return nil, corrupt(coding, err)
		}
		defer r.Close()
		return readBounded(coding, r, maxBytes)
	case "deflate":
		// HTTP "deflate" means zlib, but many servers send raw DEFLATE;
		// browsers accept both, so do we.
		if looksZlib(in) {
			if r, err := zlib.NewReader(bytes.NewReader(in)); err == nil {
				out, err := readBounded(coding, r, maxBytes)
				r.Close()
				if err == nil || errors.Is(err, ErrTooLarge) {
					return out, err
				}
			}
		}
		r := flate.NewReader(bytes.NewReader(in))
		defer r.Close()
		return readBounded(coding, r, maxBytes)
	case "br":
		return readBounded(coding, brotli.NewReader(bytes.NewReader(in)), maxBytes)
	case "zstd":
		d := zstdPool.Get().(*zstd.Decoder)
		if err := d.Reset(bytes.NewReader(in)); err != nil {
			zstdPool.Put(d)
			return nil, corrupt(coding, err)
		}
		out, err := readBounded(coding, d, maxBytes)
		// Reset(nil) drops the reference to the input before pooling.
		if d.Reset(nil) == nil {
			zstdPool.Put(d)
		}
		return out, err
	}
	name := coding
	if len(name) > 32 {
		name = name[:32]
	}
	return nil, fmt.Errorf("content-encoding %q: %w", name, ErrUnsupportedEncoding)
}

// looksZlib checks the two-byte zlib header (CM 8, FCHECK).
func looksZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

func readBounded(coding string, r io.Reader, maxBytes int) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, int64(maxBytes)+1))
	if len(out) > maxBytes {
		return nil, fmt.Errorf("%s body decodes to more than %d bytes: %w", coding, maxBytes, ErrTooLarge)
	}
	if err != nil {
		return nil, corrupt(coding, err)
	}
	return out, nil
}

func corrupt(coding string, err error) error {
	return fmt.Errorf("decode %s body: %w (%v)", coding, ErrMalformed, err)
}
