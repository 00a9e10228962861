//go:build wasip1

// Command competitors is an example firewall rule configured from the
// policy: it flags competitor names, as whole words, and suggests redacting
// them.
//
//	config: {names: ["Acme Corp", "Globex"], score: 0.9}
package main

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/llm-firewall/llm-firewall/detectors/wasm/abi"
	"github.com/llm-firewall/llm-firewall/detectors/wasm/guest"
)

type config struct {
	Names []string `json:"names"`
	Score float64  `json:"score"`
}

var (
	names []string
	score uint32 = abi.MaxScore
	spans []abi.Span
)

func init() {
	guest.HandleConfig(configure)
	guest.Handle(detect)
}

func configure(b []byte) error {
	var c config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return errors.New("competitors: config: want {names: [...], score: 0..1}")
	}
	if len(c.Names) == 0 {
		return errors.New("competitors: config: names is empty")
	}
	if c.Score < 0 || c.Score > 1 {
		return errors.New("competitors: config: score must be in [0, 1]")
	}
	if c.Score > 0 {
		score = uint32(c.Score * abi.MaxScore)
	}
	names = names[:0]
	for _, n := range c.Names {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			names = append(names, n) // the text we get is lower-cased
		}
	}
	return nil
}

func detect(req *abi.Request) *abi.Verdict {
	spans = spans[:0]
	t := req.Text
	for _, n := range names {
		for off := 0; ; {
			i := strings.Index(t[off:], n)
			if i < 0 {
				break
			}
			start, end := off+i, off+i+len(n)
			if (start == 0 || !wordByte(t[start-1])) && (end == len(t) || !wordByte(t[end])) {
				spans = append(spans, abi.Span{Start: uint32(start), End: uint32(end)})
			}
			off = start + 1
		}
	}
	if len(spans) == 0 {
		return nil
	}
	return &abi.Verdict{Score: score, Action: abi.ActionRedact, Rule: "name", Entity: "COMPETITOR", Spans: spans}
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

func main() {}
