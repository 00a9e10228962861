package audit

import (
	"bytes"
	"testing"
)

// FuzzVerify: any input verifies without a panic, and an untouched log
// stays untampered.
func FuzzVerify(f *testing.F) {
	signed := joinLines(writeLog(f, 6, Config{SigningKey: testKey, SignEvery: 2}))
	f.Add(signed)
	f.Add(joinLines(writeLog(f, 2, Config{})))
	f.Add([]byte("{}\n{\"seq\":1}\n\n{\"seq\":18446744073709551615,\"prev\":\"\",\"type\":\"sig\",\"sig\":\"AAAA\"}"))
	f.Add([]byte("{\"seq\":1,\"time\":\"2024-01-01T00:00:00Z\",\"type\":\"gap\",\"dropped\":5,\"prev\":\"x\"}\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, pub := range [][]byte{nil, testPub()} {
			rep, err := Verify(pub, Source{Name: "f", R: bytes.NewReader(data)}, Source{Name: "g", R: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			rep.WriteText(&b, true)
			if bytes.Equal(data, signed) && rep.Tampered() {
				t.Fatal("the untouched log is reported tampered")
			}
		}
	})
}
