package audit

import (
	"bytes"
	"testing"
)

// BenchmarkVerify verifies a signed log of 1000 decisions (a signature
// every 100 records); ns/op is per log.
func BenchmarkVerify(b *testing.B) {
	data := joinLines(writeLog(b, 1000, Config{SigningKey: testKey, SignEvery: 100}))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for range b.N {
		rep, err := Verify(testPub(), Source{R: bytes.NewReader(data)})
		if err != nil || rep.Tampered() {
			b.Fatal(err)
		}
	}
}
