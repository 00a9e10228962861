//go:build wasip1

// Command loop is a faulty example rule: a message containing "spin" sends
// it into an endless loop. The host cuts it at the rule's timeout, applies
// the rule's on_failure action and throws the instance away.
package main

import (
	"strings"

	"github.com/llm-firewall/llm-firewall/detectors/wasm/abi"
	"github.com/llm-firewall/llm-firewall/detectors/wasm/guest"
)

// counter gives the loop a body; it is never read because the loop never ends.
//
//lint:ignore U1000 see above
var counter uint64

func init() { guest.Handle(detect) }

func detect(req *abi.Request) *abi.Verdict {
	if strings.Contains(req.Text, "spin") {
		for {
			counter++
		}
	}
	return nil
}

func main() {}
