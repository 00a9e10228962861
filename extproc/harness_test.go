package extproc_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"
	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/cache"
	"github.com/llm-firewall/llm-firewall/detectors/all"
	_ "github.com/llm-firewall/llm-firewall/detectors/limits"
	"github.com/llm-firewall/llm-firewall/extproc"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// word is a test detector family standing in for the real ones: BLOCKME
// blocks, "secret-" tokens are redacted, PANIC panics, SLOW outlives any budget.
type word struct{}

func (word) Family() string { return "word" }

func (word) Detect(ctx context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	var out []pipeline.Finding
	for i, s := range in.Segments {
		if strings.Contains(s.Text, "PANIC") {
			panic("test detector panic")
		}
		if strings.Contains(s.Text, "SLOW") {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Second):
			}
		}
		if j := strings.Index(s.Text, "BLOCKME"); j >= 0 {
			out = append(out, pipeline.Finding{Rule: "word.block", Family: "word", Score: 1,
				Spans: []pipeline.Span{{Segment: i, Start: j, End: j + 7}}})
		}
	}
	return out, nil
}

type secretWord struct{}

func (secretWord) Family() string { return "secretword" }

func (secretWord) Detect(_ context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	var out []pipeline.Finding
	for i, s := range in.Segments {
		off := 0
		for {
			j := strings.Index(s.Text[off:], "secret-")
			if j < 0 {
				break
			}
			st := off + j
			end := st + len("secret-")
			for end < len(s.Text) && s.Text[end] >= '0' && s.Text[end] <= '9' {
				end++
			}
			out = append(out, pipeline.Finding{Rule: "secretword.token", Family: "secretword", Score: 1, Entity: "SECRET",
				Spans: []pipeline.Span{{Segment: i, Start: st, End: end}}})
			off = end
		}
	}
	return out, nil
}

func init() {
	pipeline.Register("word", func(*yaml.Node) (pipeline.Detector, error) { return word{}, nil })
	pipeline.Register("secretword", func(*yaml.Node) (pipeline.Detector, error) { return secretWord{}, nil })
}

const testPolicy = `
version: test-1
default: main
policies:
  main:
    detectors:
      word: {action: block}
      secretword: {action: redact}
      limits: {max_body_bytes: 1048576}
  watch:
    mode: shadow
    detectors:
      word: {action: block}
  pseudo:
    detectors:
      word: {action: block}
      secretword:
        action: log
        entities: {SECRET: pseudonymize}
  lenient:
    malformed: allow
    unscanned_body: allow
    detectors:
      word: {action: block}
routes:
  - {host: shadow.example, path_prefix: /v1/, policy: watch}
`

type harness struct {
	t      *testing.T
	client extprocv3.ExternalProcessorClient
	reg    *prometheus.Registry
	srv    *extproc.Server
	gs     *grpc.Server
}

func newHarness(t *testing.T, cfg extproc.Config) *harness {
	t.Helper()
	return newHarnessWithLog(t, cfg, nil)
}

func newHarnessWithLog(t *testing.T, cfg extproc.Config, log *slog.Logger) *harness {
	t.Helper()
	return newHarnessWithStore(t, cfg, log, nil)
}

// newHarnessWithStore runs the server with the given decision store (nil:
// a real bigcache store), e.g. one that fails every call.
func newHarnessWithStore(t *testing.T, cfg extproc.Config, log *slog.Logger, store pipeline.DecisionStore) *harness {
	t.Helper()
	ps, err := pipeline.ParsePolicySet([]byte(testPolicy), "test")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if store == nil {
		bc, err := cache.New(cache.Config{MaxMB: 1}, reg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bc.Close() })
		store = bc
	}
	engine := pipeline.NewEngine(all.EngineOptions(pipeline.WithCache(store), pipeline.WithMetrics(pipeline.NewMetrics(reg)))...)
	cfg.RequireProtocolConfig = true // as served by default
	srv := extproc.NewServer(cfg, engine, extproc.NewMetrics(reg), log)
	srv.SetPolicies(ps)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(16 << 20))
	extprocv3.RegisterExternalProcessorServer(gs, srv)
	go gs.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(16<<20), grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, client: extprocv3.NewExternalProcessorClient(conn), reg: reg, srv: srv, gs: gs}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
	})
	return h
}

// envoy is one scripted ext_proc stream: it plays Envoy for one HTTP
// transaction and checks that every message gets exactly one reply of the
// matching kind.
type envoy struct {
	t      *testing.T
	stream extprocv3.ExternalProcessor_ProcessClient
	cancel context.CancelFunc
	first  bool
	mode   *extprocv3.ProtocolConfiguration
	route  string
}

func (h *harness) open(md ...string) *envoy {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	st, err := h.client.Process(ctx)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	e := &envoy{t: h.t, stream: st, cancel: cancel, first: true,
		mode: &extprocv3.ProtocolConfiguration{RequestBodyMode: filterv3.ProcessingMode_BUFFERED, ResponseBodyMode: filterv3.ProcessingMode_BUFFERED}}
	h.t.Cleanup(func() { e.close() })
	return e
}

func (e *envoy) close() {
	_ = e.stream.CloseSend()
	e.cancel()
}

// send sends one message and returns its reply, failing the test unless the
// reply answers that message (or is an ImmediateResponse where allowed).
func (e *envoy) send(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	e.t.Helper()
	if e.first {
		if e.mode != nil {
			req.ProtocolConfig = e.mode
		}
		if e.route != "" {
			req.Attributes = map[string]*structpb.Struct{extproc.AttributesKey: {Fields: map[string]*structpb.Value{
				extproc.AttrRouteName: structpb.NewStringValue(e.route)}}}
		}
		e.first = false
	}
	if err := e.stream.Send(req); err != nil {
		e.t.Fatalf("send: %v", err)
	}
	resp, err := e.stream.Recv()
	if err != nil {
		e.t.Fatalf("recv: %v", err)
	}
	if err := resp.ValidateAll(); err != nil {
		e.t.Fatalf("reply fails Envoy's validation rules: %v", err)
	}
	want := map[string]bool{}
	switch req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		want["request_headers"], want["immediate"] = true, true
	case *extprocv3.ProcessingRequest_RequestBody:
		want["request_body"], want["immediate"] = true, true
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		want["response_headers"], want["immediate"] = true, true
	case *extprocv3.ProcessingRequest_ResponseBody:
		want["response_body"], want["immediate"] = true, true
	case *extprocv3.ProcessingRequest_RequestTrailers:
		want["request_trailers"] = true
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		want["response_trailers"] = true
	}
	got := ""
	switch r := resp.Response.(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		got = "request_headers"
	case *extprocv3.ProcessingResponse_RequestBody:
		got = "request_body"
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		got = "response_headers"
	case *extprocv3.ProcessingResponse_ResponseBody:
		got = "response_body"
	case *extprocv3.ProcessingResponse_RequestTrailers:
		got = "request_trailers"
	case *extprocv3.ProcessingResponse_ResponseTrailers:
		got = "response_trailers"
	case *extprocv3.ProcessingResponse_ImmediateResponse:
		got = "immediate"
		ir := r.ImmediateResponse
		if ir.GetStatus().GetCode() < 400 {
			e.t.Fatalf("immediate response without an error status: %v", ir.GetStatus())
		}
		if header(ir.GetHeaders(), "content-type") != "application/json" {
			e.t.Fatalf("immediate response without content-type application/json")
		}
	}
	if !want[got] {
		e.t.Fatalf("reply %q does not answer %T", got, req.Request)
	}
	return resp
}

func header(m *extprocv3.HeaderMutation, k string) string {
	for _, h := range m.GetSetHeaders() {
		if h.GetHeader().GetKey() == k {
			if h.GetHeader().GetValue() != "" {
				return "VALUE-FIELD-USED"
			}
			return string(h.GetHeader().GetRawValue())
		}
	}
	return ""
}

func headers(eos bool, kv ...string) *extprocv3.HttpHeaders {
	hm := &corev3.HeaderMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return &extprocv3.HttpHeaders{Headers: hm, EndOfStream: eos}
}

func reqHeaders(path string, eos bool, kv ...string) *extprocv3.ProcessingRequest {
	all := append([]string{":method", "POST", ":path", path, ":authority", "llm.example", "content-type", "application/json"}, kv...)
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: headers(eos, all...)}}
}

func reqBody(b []byte, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: b, EndOfStream: eos}}}
}

func respHeaders(status string, eos bool, kv ...string) *extprocv3.ProcessingRequest {
	all := []string{":status", status}
	if !slices.Contains(kv, "content-type") {
		all = append(all, "content-type", "application/json")
	}
	all = append(all, kv...)
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: headers(eos, all...)}}
}

func respBody(b []byte, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: b, EndOfStream: eos}}}
}

func immediate(t *testing.T, r *extprocv3.ProcessingResponse) *extprocv3.ImmediateResponse {
	t.Helper()
	ir := r.GetImmediateResponse()
	if ir == nil {
		t.Fatalf("want an ImmediateResponse, got %T", r.Response)
	}
	return ir
}

func common(t *testing.T, r *extprocv3.ProcessingResponse) *extprocv3.CommonResponse {
	t.Helper()
	switch x := r.Response.(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		return x.RequestHeaders.GetResponse()
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		return x.ResponseHeaders.GetResponse()
	case *extprocv3.ProcessingResponse_RequestBody:
		return x.RequestBody.GetResponse()
	case *extprocv3.ProcessingResponse_ResponseBody:
		return x.ResponseBody.GetResponse()
	}
	t.Fatalf("want a CONTINUE reply, got %T", r.Response)
	return nil
}
