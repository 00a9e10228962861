package extproc

// A text/event-stream answer goes through the scan step's stream scanner
// (internal/scan Stream) chunk by chunk; this file keeps the Envoy side:
// which answers are scanned that way, the budget, and the replies.

import (
	"bytes"
	"context"
	"strings"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// guardsStream says whether the answer is an event stream the guard can
// scan as it arrives: text/event-stream without a content-encoding (a
// compressed stream is held and scanned whole instead).
func (tx *transaction) guardsStream(d *direction) bool {
	if !codec.IsEventStream(d.contentType) {
		return false
	}
	if enc := d.encoding; enc != "" && !equalFoldTrim(enc, "identity") {
		return false
	}
	return d.mode.is(filterv3.ProcessingMode_STREAMED) || d.mode.is(filterv3.ProcessingMode_BUFFERED) || !d.mode.known
}

// streamChunk answers one chunk of an event stream through the guard. In
// BUFFERED mode the chunk is the whole body: a block is then a clean local
// reply, since the headers are still paused.
func (tx *transaction) streamChunk(d *direction, ph phase, chunk []byte, eos bool) *extprocv3.ProcessingResponse {
	buffered := d.mode.is(filterv3.ProcessingMode_BUFFERED)
	if buffered {
		eos = true // a BUFFERED body is whole even when trailers follow
	}
	if tx.guard == nil {
		tx.guard = tx.s.step.NewStream(tx.policy, tx.api, tx.selector.RouteName, &tx.conv, func() (context.Context, context.CancelFunc) {
			return tx.s.budgetCtx(tx.ctx)
		})
		d.started = time.Now()
	}
	if tx.guard.Final() != nil {
		return continueReply(ph, nil, clearBody(), nil) // after a cut: drop the rest
	}
	// The guard keeps the stream's text and the held events.
	if !tx.charge(2 * int64(len(chunk))) {
		return tx.overBudget(d)
	}
	if !tx.s.acquireScan(tx.ctx) {
		return tx.scanOverload(d)
	}
	out, err := tx.guard.Feed(chunk, eos)
	tx.s.releaseScan()
	if err != nil {
		return continueReply(ph, nil, clearBody(), nil)
	}
	fv := tx.guard.Final()
	if fv == nil {
		return continueReply(ph, nil, replaceBody(out), nil)
	}
	v := *fv
	v.DecisionID = tx.id
	d.verdict = &v
	if v.Cause == pipeline.CauseNone {
		tx.s.engine.Record(d.dir, &v) // fail-closed verdicts were counted when made
	}
	if v.Action == pipeline.Block {
		if buffered {
			return tx.refuse(d, &v)
		}
		// Cut mid-stream: the released events stay, the provider's error
		// event and a clean end follow.
		tx.outcome = blockOutcome(&v)
	}
	o := bodyOut{streamed: !buffered, setLength: d.hasLength}
	switch {
	case !buffered:
		// The guard holds the events back: what it releases replaces the
		// chunk, nothing included.
		o.body = out
		if o.body == nil {
			o.body = []byte{}
		}
	case !bytes.Equal(out, chunk):
		o.body = out
	}
	return tx.answer(d, ph, &v, o)
}

func equalFoldTrim(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), b) }
