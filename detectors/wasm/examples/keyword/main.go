//go:build wasip1

// Command keyword is an example firewall rule: it flags internal project
// code names anywhere in a message. The list is compiled in; see
// examples/competitors for a rule that takes its list from the policy.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o keyword.wasm .
package main

import (
	"strings"

	"github.com/llm-firewall/llm-firewall/detectors/wasm/abi"
	"github.com/llm-firewall/llm-firewall/detectors/wasm/guest"
)

// The host hands rules normalized text: lower-cased, confusables folded,
// letter spacing collapsed. Keywords are written the same way.
var keywords = []string{"project bluebird", "falcon-7", "hydra ledger"}

func init() { guest.Handle(detect) }

// spans is reused across calls: an instance serves one call at a time.
var spans []abi.Span

func detect(req *abi.Request) *abi.Verdict {
	spans = spans[:0]
	for _, k := range keywords {
		for off := 0; ; {
			i := strings.Index(req.Text[off:], k)
			if i < 0 {
				break
			}
			start := off + i
			spans = append(spans, abi.Span{Start: uint32(start), End: uint32(start + len(k))})
			off = start + len(k)
		}
	}
	if len(spans) == 0 {
		return nil
	}
	return &abi.Verdict{Score: abi.MaxScore, Rule: "keyword", Entity: "INTERNAL_CODE", Spans: spans}
}

func main() {}
