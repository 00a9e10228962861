//go:build wasip1

// Command memhog is a faulty example rule: a message containing "grow"
// makes it allocate and keep memory until its instance hits the policy's
// memory_pages limit. The Go runtime then aborts (a trap); the host counts a
// memory failure and throws the instance away.
package main

import (
	"strings"

	"github.com/llm-firewall/llm-firewall/detectors/wasm/abi"
	"github.com/llm-firewall/llm-firewall/detectors/wasm/guest"
)

var hoard [][]byte

func init() { guest.Handle(detect) }

func detect(req *abi.Request) *abi.Verdict {
	if strings.Contains(req.Text, "grow") {
		for {
			b := make([]byte, 256<<10)
			b[0] = 1
			hoard = append(hoard, b)
		}
	}
	return nil
}

func main() {}
