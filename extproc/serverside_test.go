package extproc_test

import (
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/extproc"
)

// A WebSocket upgrade (the Realtime API) is decided at the headers: its
// frames never reach ext_proc. The default policy action is refuse.
func TestWebSocketUpgradeRefused(t *testing.T) {
	h := newHarness(t, extproc.Config{})
	e := h.open()
	resp := e.send(reqHeaders("/v1/realtime?model=gpt-realtime", true, "upgrade", "websocket", "connection", "Upgrade"))
	ir := resp.GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != 400 || !strings.Contains(string(ir.GetBody()), "server_side.websocket") {
		t.Fatalf("want a 400 naming server_side.websocket, got %v", resp)
	}
	// Hard negative: an ordinary request on the same path goes on.
	e2 := h.open()
	if r := e2.send(reqHeaders("/v1/realtime/sessions", false)); r.GetImmediateResponse() != nil {
		t.Fatalf("a request without upgrade was refused: %v", r)
	}
}
