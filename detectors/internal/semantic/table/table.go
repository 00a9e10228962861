// Package table holds the static embedding table distilled from the
// sentence encoder (`make semantic`, ../distill/distill.py). Only trainers
// import it: a shipped model folds its weights into one number per token
// (see package semantic), so the table never reaches the binary.
package table

import (
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"sync"
)

//go:embed table.bin
var tableBin []byte

// Format (little-endian): magic "LFWSEMT1", uint32 rows, uint32 dims, the
// encoder weights' SHA-256 (32 bytes), rows float32 scales, rows*dims int8
// values (row-major), CRC-32 (IEEE) of every byte before it.
const (
	magic      = "LFWSEMT1"
	headerSize = 8 + 4 + 4 + 32
)

// Table is a token-embedding table: row i, dequantized, is Scale[i]*Values[i*Dims:(i+1)*Dims].
type Table struct {
	Rows, Dims int
	// EncoderSHA256 is the digest of the encoder weights it was distilled from.
	EncoderSHA256 string
	Scale         []float32
	Values        []int8
}

// Row writes token id's dequantized row into dst (len Dims).
func (t *Table) Row(dst []float64, id int32) {
	s := float64(t.Scale[id])
	v := t.Values[int(id)*t.Dims : int(id+1)*t.Dims]
	for i, x := range v {
		dst[i] = s * float64(x)
	}
}

var (
	once   sync.Once
	loaded *Table
	errLd  error
)

// Load decodes the embedded table (once).
func Load() (*Table, error) {
	once.Do(func() { loaded, errLd = Decode(tableBin) })
	return loaded, errLd
}

// Decode parses and checks a table file.
func Decode(b []byte) (*Table, error) {
	le := binary.LittleEndian
	if len(b) < headerSize+4 || string(b[:8]) != magic {
		return nil, errors.New("semantic table: bad header")
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != le.Uint32(b[len(b)-4:]) {
		return nil, errors.New("semantic table: checksum mismatch")
	}
	rows, dims := int(le.Uint32(b[8:])), int(le.Uint32(b[12:]))
	if rows <= 0 || dims <= 0 || len(body) != headerSize+4*rows+rows*dims {
		return nil, fmt.Errorf("semantic table: %d bytes for %d rows x %d dims", len(body), rows, dims)
	}
	t := &Table{Rows: rows, Dims: dims, EncoderSHA256: hex.EncodeToString(b[16:48]),
		Scale: make([]float32, rows), Values: make([]int8, rows*dims)}
	off := headerSize
	for i := range t.Scale {
		t.Scale[i] = math.Float32frombits(le.Uint32(b[off:]))
		off += 4
	}
	for i := range t.Values {
		t.Values[i] = int8(b[off+i])
	}
	return t, nil
}

// LoadFile decodes a table file that is not embedded (the multilingual
// table: 64 MB, built by `make semantic-e5`, never committed).
func LoadFile(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}
