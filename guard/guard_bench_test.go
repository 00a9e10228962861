package guard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// BenchmarkGuard measures one /v2/guard request of a 1 KB chat (system
// prompt + user turn of ordinary prose) through the whole handler: auth,
// JSON, codec, the embedded default policy's detectors (balanced: limits,
// injection, pii, secrets, output; no decision cache), answer.
func BenchmarkGuard(b *testing.B) {
	set, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		b.Fatal(err)
	}
	f := newFixture(b, Config{}, set)
	user := strings.Repeat("Please summarise the quarterly report and list the three main risks for the board. ", 12)[:900]
	body, _ := json.Marshal(map[string]any{
		"messages": []map[string]string{
			{"role": "system", "content": "You are a concise analyst."},
			{"role": "user", "content": user},
		},
		"payload": true, "breakdown": true,
	})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, PathGuard, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}
