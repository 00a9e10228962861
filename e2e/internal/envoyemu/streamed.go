package envoyemu

import (
	"errors"
	"io"
	"net/http"

	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// streamOverride applies a mode_override from a response-headers reply:
// only with AllowModeOverride, and only the one admitted mode (the merged
// mode must equal an allowed_override_modes entry; both body modes are
// taken from the override, per Envoy source ext_proc.cc
// effectiveModeOverride, not run).
func (t *txn) streamOverride(mo *extprocfilterv3.ProcessingMode) bool {
	if mo == nil {
		return false
	}
	if !t.e.cfg.AllowModeOverride {
		t.e.stats.modeOverridesIgnored.Add(1)
		return false
	}
	keep := func(m extprocfilterv3.ProcessingMode_HeaderSendMode, want extprocfilterv3.ProcessingMode_HeaderSendMode) bool {
		return m == extprocfilterv3.ProcessingMode_DEFAULT || m == want
	}
	ok := mo.GetRequestBodyMode() == extprocfilterv3.ProcessingMode_BUFFERED &&
		mo.GetResponseBodyMode() == extprocfilterv3.ProcessingMode_STREAMED &&
		keep(mo.GetResponseHeaderMode(), extprocfilterv3.ProcessingMode_SEND) &&
		keep(mo.GetRequestTrailerMode(), extprocfilterv3.ProcessingMode_SKIP) &&
		keep(mo.GetResponseTrailerMode(), extprocfilterv3.ProcessingMode_SKIP)
	if !ok {
		t.e.stats.modeOverridesIgnored.Add(1)
	}
	return ok
}

// streamBody sends a STREAMED response body: each chunk read from the
// upstream goes to the server, and what its reply leaves of it goes
// downstream at once (body replaces the chunk, clear_body drops it); the
// end of the upstream body is an empty end_of_stream chunk. An immediate
// response, timeout or stream failure after the headers went out can only
// reset the downstream stream (per Envoy source ext_proc.cc, not run). It
// reports whether the body ended cleanly; a clean end is recorded (store)
// here, before its last bytes are written, a failure by the caller.
func (t *txn) streamBody(w http.ResponseWriter, resp *httpResponse) bool {
	defer resp.reader.Close()
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 16<<10)
	for {
		n, rerr := resp.reader.Read(buf)
		eos := errors.Is(rerr, io.EOF)
		if rerr != nil && !eos {
			t.rec.UpstreamError = rerr.Error()
			t.rec.Outcome = OutcomeStreamReset
			return false
		}
		if n == 0 && !eos {
			continue
		}
		chunk := append([]byte(nil), buf[:n]...)
		out := chunk
		if !t.complete {
			msg := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
				ResponseBody: &extprocv3.HttpBody{Body: chunk, EndOfStream: eos},
			}}
			res := t.call(msg, "response_body")
			switch res.kind {
			case callMatched:
				if bm := res.common.GetBodyMutation(); bm != nil {
					out = applyBodyMutation(bm, chunk)
				}
			case callSkip:
			case callAbort:
				return false
			default:
				// Immediate response or local error with headers already
				// sent: the stream is reset.
				t.rec.Outcome = OutcomeStreamReset
				return false
			}
		}
		if eos {
			// Recorded before the last bytes go out, as a buffered answer
			// is recorded before it is written: a client that has read the
			// whole answer sees its record.
			t.rec.Outcome, t.rec.Details = OutcomeForwarded, DetailsViaUpstream
			if t.rec.FailOpen {
				t.rec.Outcome = OutcomeFailOpen
			}
			t.e.store(t.rec)
		}
		if len(out) > 0 {
			if _, err := w.Write(out); err != nil {
				if eos {
					return true // recorded as forwarded; the client went away at the end
				}
				t.rec.Outcome = OutcomeDownstreamReset
				return false
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if eos {
			return true
		}
	}
}
