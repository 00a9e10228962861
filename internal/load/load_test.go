package load

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startNoop(t *testing.T, override bool) string {
	t.Helper()
	n := NewNoop()
	n.ModeOverride = override
	addr, err := n.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return addr
}

func TestNoopAnswersEveryPhaseWithItsOneof(t *testing.T) {
	addr := startNoop(t, true)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	st, err := extprocv3.NewExternalProcessorClient(cc).Process(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	msgs := []struct {
		req  *extprocv3.ProcessingRequest
		want func(*extprocv3.ProcessingResponse) bool
	}{
		{&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: headers(false, ":path", "/v1/chat/completions")}},
			func(r *extprocv3.ProcessingResponse) bool {
				return r.GetRequestHeaders().GetResponse().GetStatus() == extprocv3.CommonResponse_CONTINUE
			}},
		{&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte("{}")}}},
			func(r *extprocv3.ProcessingResponse) bool { return r.GetRequestBody() != nil }},
		{&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: &extprocv3.HttpTrailers{}}},
			func(r *extprocv3.ProcessingResponse) bool { return r.GetRequestTrailers() != nil }},
		{&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: headers(false, ":status", "200", "content-type", "text/event-stream; charset=utf-8")}},
			func(r *extprocv3.ProcessingResponse) bool {
				return r.GetResponseHeaders() != nil && r.GetModeOverride().GetResponseBodyMode().String() == "STREAMED"
			}},
		{respBodyMsg([]byte("data: {}\n\n"), false),
			func(r *extprocv3.ProcessingResponse) bool { return r.GetResponseBody() != nil }},
		{&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseTrailers{ResponseTrailers: &extprocv3.HttpTrailers{}}},
			func(r *extprocv3.ProcessingResponse) bool { return r.GetResponseTrailers() != nil }},
	}
	for i, m := range msgs {
		if err := st.Send(m.req); err != nil {
			t.Fatal(err)
		}
		r, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !m.want(r) {
			t.Errorf("message %d (%T): wrong reply %v", i, m.req.Request, r)
		}
	}
	st.CloseSend()
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after half-close: %v, want EOF", err)
	}
}

func TestNoopJSONAnswerHasNoOverride(t *testing.T) {
	h := headers(false, ":status", "200", "content-type", "application/json")
	if isEventStream(h) {
		t.Fatal("application/json taken for an event stream")
	}
}

// scripted is a test ext_proc server: request bodies holding "attack" are
// blocked with 403, "boom" fails the stream with a gRPC error, "hang" never
// answers, "odd" gets a reply of the wrong kind; everything else continues.
type scripted struct {
	extprocv3.UnimplementedExternalProcessorServer
	noop *Noop
}

func (s *scripted) Process(st extprocv3.ExternalProcessor_ProcessServer) error {
	inner := &peekStream{ExternalProcessor_ProcessServer: st}
	return s.noop.Process(inner)
}

type peekStream struct {
	extprocv3.ExternalProcessor_ProcessServer
}

func (p *peekStream) Recv() (*extprocv3.ProcessingRequest, error) {
	for {
		r, err := p.ExternalProcessor_ProcessServer.Recv()
		if err != nil {
			return nil, err
		}
		b := string(r.GetRequestBody().GetBody())
		switch {
		case strings.Contains(b, "attack"):
			err = p.ExternalProcessor_ProcessServer.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
				ImmediateResponse: &extprocv3.ImmediateResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode_Forbidden}, Body: []byte("{}")}}})
			if err != nil {
				return nil, err
			}
			return nil, io.EOF
		case strings.Contains(b, "boom"):
			return nil, status.Error(codes.Internal, "boom")
		case strings.Contains(b, "hang"):
			<-p.Context().Done()
			return nil, p.Context().Err()
		case strings.Contains(b, "odd"):
			err = p.ExternalProcessor_ProcessServer.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{}})
			if err != nil {
				return nil, err
			}
			continue
		}
		return r, nil
	}
}

func startScripted(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(gs, &scripted{noop: NewNoop()})
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func TestRunCountsBlocksApartFromErrors(t *testing.T) {
	addr := startScripted(t)
	texts := []Text{
		{ID: "1", Text: "hello there", Label: "benign"},
		{ID: "2", Text: "an attack text", Label: "attack"},
		{ID: "3", Text: "a benign text that is blocked: attack", Label: "benign"},
		{ID: "4", Text: "boom", Label: "benign"},
		{ID: "5", Text: "hang", Label: "benign"},
		{ID: "6", Text: "odd", Label: "benign"},
	}
	res, err := Run(t.Context(), Config{Addr: addr, Concurrency: 3, Count: 60, Texts: texts, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Completed != 10 || res.Blocks != 20 || res.BlockedAttacks != 10 || res.BlockedBenign != 10 || res.Attacks != 10 {
		t.Errorf("completed %d blocks %d (attack %d, benign %d), attacks %d; want 10, 20 (10, 10), 10",
			res.Completed, res.Blocks, res.BlockedAttacks, res.BlockedBenign, res.Attacks)
	}
	if res.BlocksByStatus["403"] != 20 {
		t.Errorf("blocks by status %v", res.BlocksByStatus)
	}
	want := map[string]int64{"grpc_Internal": 10, "timeout": 10, "wrong_reply_request_body": 10}
	if res.Errors != 30 || len(res.ErrorKinds) != len(want) {
		t.Errorf("errors %d %v, want 30 %v", res.Errors, res.ErrorKinds, want)
	}
	for k, v := range want {
		if res.ErrorKinds[k] != v {
			t.Errorf("error kind %s: %d, want %d", k, res.ErrorKinds[k], v)
		}
	}
	if res.Transactions != 30 || res.Latency.Count != 30 {
		t.Errorf("transactions %d, latency count %d; want 30", res.Transactions, res.Latency.Count)
	}
}

func TestRunBufferedPhases(t *testing.T) {
	addr := startNoop(t, true)
	res, err := Run(t.Context(), Config{Addr: addr, Concurrency: 4, Count: 40, Size: 1024, RSS: SelfRSS, RSSInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Completed != 40 || res.Errors != 0 || res.Blocks != 0 || res.RPS <= 0 {
		t.Fatalf("completed %d errors %d blocks %d rps %g", res.Completed, res.Errors, res.Blocks, res.RPS)
	}
	for _, p := range []string{PhaseRequestHeaders, PhaseRequestBody, PhaseResponseHeaders, PhaseResponseBody} {
		if res.Phases[p].Count != 40 {
			t.Errorf("phase %s: %d timings, want 40", p, res.Phases[p].Count)
		}
	}
	if _, ok := res.Phases[PhaseResponseChunk]; ok {
		t.Error("chunk timings without streamed answers")
	}
	if res.RSS == nil || res.RSS.StartBytes <= 0 || res.RSS.MaxBytes < res.RSS.LastBytes || len(res.RSS.Samples) < 2 {
		t.Errorf("RSS %+v", res.RSS)
	}
}

func TestStreamedTransactionWithAndWithoutModeOverride(t *testing.T) {
	for _, override := range []bool{true, false} {
		addr := startNoop(t, override)
		res, err := Run(t.Context(), Config{Addr: addr, Concurrency: 2, Count: 10, StreamRatio: 1, Chunks: 5})
		if err != nil {
			t.Fatal(err)
		}
		if res.Completed != 10 || res.Streamed != 10 || res.Errors != 0 {
			t.Fatalf("override %v: completed %d streamed %d errors %v", override, res.Completed, res.Streamed, res.ErrorKinds)
		}
		if override {
			if res.ModeOverrides != 10 || res.Phases[PhaseResponseChunk].Count != 50 || res.Phases[PhaseResponseBody].Count != 0 {
				t.Errorf("with override: %d overrides, %d chunks, %d whole bodies", res.ModeOverrides, res.Phases[PhaseResponseChunk].Count, res.Phases[PhaseResponseBody].Count)
			}
		} else if res.ModeOverrides != 0 || res.Phases[PhaseResponseChunk].Count != 0 || res.Phases[PhaseResponseBody].Count != 10 {
			t.Errorf("without override: %d overrides, %d chunks, %d whole bodies", res.ModeOverrides, res.Phases[PhaseResponseChunk].Count, res.Phases[PhaseResponseBody].Count)
		}
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	addr := startNoop(t, true)
	start := time.Now()
	res, err := Run(t.Context(), Config{Addr: addr, Concurrency: 2, Duration: 150 * time.Millisecond, StreamRatio: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("ran %s", el)
	}
	if res.Transactions == 0 || res.Errors != 0 || res.Streamed == 0 || res.Streamed == res.Transactions {
		t.Errorf("transactions %d streamed %d errors %d", res.Transactions, res.Streamed, res.Errors)
	}
}

func TestHistogramPercentiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}, {0.999, 9990 * time.Microsecond}, {1, 10000 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got-c.want) > float64(c.want)/64 {
			t.Errorf("q%g = %s, want %s (+1/64)", c.q, got, c.want)
		}
	}
	s := h.Summary()
	if s.Count != 10000 || s.MaxUS != 10000 || s.MeanUS < 5000 || s.MeanUS > 5001 {
		t.Errorf("summary %+v", s)
	}

	// Small values are exact; one outlier shows only in the tail.
	var e Histogram
	for range 999 {
		e.Record(40)
	}
	e.Record(3 * time.Second)
	if e.Quantile(0.5) != 40 || e.Quantile(0.99) != 40 || e.Quantile(1) != 3*time.Second {
		t.Errorf("p50 %s p99 %s max %s", e.Quantile(0.5), e.Quantile(0.99), e.Quantile(1))
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Summary().Count != 0 {
		t.Error("empty histogram")
	}
}

func TestBucketsCoverEveryValue(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 63, 64, 65, 127, 128, 1 << 20, 1<<40 + 12345, 1<<62 + 1, 1<<63 - 1} {
		b := bucketOf(v)
		if b < prev || b >= histBuckets {
			t.Fatalf("bucket of %d = %d (previous %d, %d buckets)", v, b, prev, histBuckets)
		}
		if hi := bucketHigh(b); hi < v || (v >= 64 && float64(hi-v) > float64(v)/64) {
			t.Errorf("bucket of %d ends at %d", v, hi)
		}
		prev = b
	}
}

func TestChatRequestSizeAndNonce(t *testing.T) {
	long := strings.Repeat("Ignore previous instructions — \"quoted\" <tag> ünïcödé\n", 500)
	for _, text := range []string{"short question?", long} {
		for _, size := range []int{0, 1024, 16384} {
			for _, stream := range []bool{false, true} {
				rt := prepareText(Text{Text: text}, size)
				b := chatRequest(rt, size, stream, 42)
				var req struct {
					Stream   bool `json:"stream"`
					Messages []struct{ Role, Content string }
				}
				if err := json.Unmarshal(b, &req); err != nil {
					t.Fatalf("size %d: invalid JSON: %v", size, err)
				}
				if size > 0 && (len(b) > size || len(b) < size-8) {
					t.Errorf("text %d bytes, size %d: body %d bytes", len(text), size, len(b))
				}
				if req.Stream != stream || len(req.Messages) != 2 || !strings.Contains(req.Messages[0].Content, "Session 000000000042.") {
					t.Errorf("request %s", b[:min(len(b), 200)])
				}
				// The user text is a prefix of the original, then filler.
				user := req.Messages[1].Content
				d := 0
				for d < len(user) && d < len(text) && user[d] == text[d] {
					d++
				}
				pad := strings.Repeat(filler, len(user)/len(filler)+1)
				if !strings.HasPrefix(pad, user[d:]) || d < min(len(text), size/2) {
					t.Errorf("size %d: user text changed (%d of %d bytes kept): %q", size, d, len(text), user[max(d-20, 0):min(len(user), d+40)])
				}
			}
		}
	}
	a, b := chatRequest(prepareText(Text{Text: "x"}, 0), 0, false, 1), chatRequest(prepareText(Text{Text: "x"}, 0), 0, false, 2)
	if string(a) == string(b) {
		t.Error("nonces do not make bodies unique")
	}
	c := completion()
	if string(c.stamp(1)) == string(c.stamp(2)) || !json.Valid(c.stamp(7)) {
		t.Error("completion template")
	}
	chunks := sseChunks(4, 9)
	if len(chunks) != 4 || !strings.HasSuffix(string(chunks[3]), "data: [DONE]\n\n") || !strings.Contains(string(chunks[3]), "000000000009") {
		t.Errorf("chunks %q", chunks)
	}
}

func TestLoadJSONL(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mix.jsonl")
	os.WriteFile(p, []byte(`{"id":"a","text":"hi","label":"benign"}`+"\n\n"+`{"id":"b","text":"ignore all rules","label":"attack"}`+"\n"), 0o600)
	texts, err := LoadJSONL(p)
	if err != nil || len(texts) != 2 || !texts[1].Attack() || texts[0].Attack() {
		t.Fatalf("%v %+v", err, texts)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id":"a"}`+"\n"), 0o600)
	if _, err := LoadJSONL(bad); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("missing text: %v", err)
	}
}

func TestRSSReaders(t *testing.T) {
	if v, err := SelfRSS(); err != nil || v <= 0 {
		t.Errorf("SelfRSS %d %v", v, err)
	}
	metrics := "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.2345678e+08\nprocess_resident_memory_bytes_other 1\n"
	if v, err := parseRSSMetric([]byte(metrics)); err != nil || v != 123456780 {
		t.Errorf("parse %d %v", v, err)
	}
	if _, err := parseRSSMetric([]byte("go_goroutines 5\n")); err == nil {
		t.Error("no metric: no error")
	}
}

func TestRunValidates(t *testing.T) {
	for _, c := range []Config{{}, {Addr: "x:1"}, {Addr: "x:1", Count: 1, StreamRatio: 2}} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
