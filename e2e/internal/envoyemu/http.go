package envoyemu

// The downstream side: the listener that plays Envoy's HTTP connection
// manager, and the replies written to the client.

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// httpResponse is a response about to go downstream; headers include :status.
type httpResponse struct {
	headers headerMap
	body    []byte
	hasBody bool // the codec saw a body (possibly empty when chunked)
	// reader is the upstream body not read yet (an event stream that may
	// be switched to STREAMED); streamed says the body goes downstream
	// chunk by chunk through the server (see txn.streamBody).
	reader   io.ReadCloser
	streamed bool
}

func (r *httpResponse) status() int {
	v, _ := r.headers.get(":status")
	n, _ := strconv.Atoi(v)
	return n
}

// ServeHTTP runs one downstream request through the emulated filter chain
// (ext_proc, then router).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.stats.requests.Add(1)
	route := e.route(r.URL.Path)
	rec := e.newRecord(route.Name)
	t := &txn{e: e, rec: rec, route: route, dctx: r.Context()}
	resp := t.run(r)
	if resp != nil {
		t.rec.Status = resp.status()
	}
	if resp != nil && resp.streamed {
		// Headers go downstream now; the body follows chunk by chunk.
		e.write(w, resp, rec)
		ok := t.streamBody(w, resp)
		if !ok {
			e.store(rec) // a clean end was stored by streamBody
		}
		t.finish(ok)
		if !ok {
			// Headers are out: a failure can only reset the stream.
			panic(http.ErrAbortHandler)
		}
		return
	}
	e.store(rec) // before writing, so a client that got the response sees the record
	if resp == nil {
		t.finish(false)
		// The downstream went away: nothing to write; reset like a codec would.
		panic(http.ErrAbortHandler)
	}
	e.write(w, resp, rec)
	t.finish(rec.Outcome == OutcomeForwarded)
}

func (e *Emulator) write(w http.ResponseWriter, resp *httpResponse, rec *Record) {
	h := w.Header()
	for _, kv := range resp.headers {
		if strings.HasPrefix(kv.key, ":") || hopByHop[kv.key] {
			continue
		}
		h.Add(kv.key, kv.value)
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // no net/http content sniffing: Envoy adds no content-type
	}
	if e.cfg.TestMode {
		h.Set(HeaderRequestID, rec.ID)
		if rec.Details != "" && rec.Details != DetailsViaUpstream {
			h.Set(HeaderDetails, rec.Details)
		}
	}
	w.WriteHeader(resp.status())
	if resp.streamed {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return
	}
	_, _ = w.Write(resp.body)
}

// localReply builds a reply the way Http::Utility::sendLocalReply does: a
// text/plain content-type when there is a body, then the caller's header
// mutation (per Envoy source source/common/http/utility.cc, not run).
func localReply(code int, body []byte) *httpResponse {
	h := headerMap{{":status", strconv.Itoa(code)}}
	if len(body) > 0 {
		h.add("content-type", "text/plain")
	}
	h.add("content-length", strconv.Itoa(len(body)))
	return &httpResponse{headers: h, body: body, hasBody: len(body) > 0}
}
