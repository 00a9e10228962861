package envoyemu

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// responder answers one message; nil means "return from Process with OK now".
type responder func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse

// scripted is a tiny ext_proc server driven by a responder, recording what it got.
type scripted struct {
	extprocv3.UnimplementedExternalProcessorServer
	respond responder
	hold    func(req *extprocv3.ProcessingRequest) bool // true: never answer, wait for the stream to end
	err     error                                       // returned after the first message, when set
	// afterSend runs after each reply is sent; it may block (e.g. to stop reading).
	afterSend func(stream extprocv3.ExternalProcessor_ProcessServer)
	opts      []grpc.ServerOption

	mu   sync.Mutex
	got  []*extprocv3.ProcessingRequest
	mds  []metadata.MD
	ends []error // what Recv returned when the stream ended
}

func (s *scripted) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	s.mu.Lock()
	s.mds = append(s.mds, md)
	s.mu.Unlock()
	for {
		req, err := stream.Recv()
		if err != nil {
			s.mu.Lock()
			s.ends = append(s.ends, err)
			s.mu.Unlock()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		s.mu.Lock()
		s.got = append(s.got, req)
		s.mu.Unlock()
		if s.err != nil {
			return s.err
		}
		if s.hold != nil && s.hold(req) {
			<-stream.Context().Done()
			return stream.Context().Err()
		}
		resp := s.respond(req)
		if resp == nil {
			return nil
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
		if s.afterSend != nil {
			s.afterSend(stream)
			return stream.Context().Err()
		}
	}
}

func (s *scripted) requests() []*extprocv3.ProcessingRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*extprocv3.ProcessingRequest(nil), s.got...)
}

// continueReply answers req with an empty CONTINUE of the matching oneof.
func continueReply(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	return replyWith(req, &extprocv3.CommonResponse{})
}

func replyWith(req *extprocv3.ProcessingRequest, cr *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
	switch req.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_RequestBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_ResponseBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: cr}}}
	}
	panic("unexpected request kind")
}

func setHeader(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}}
}

// upstream is a recording echo server.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	hdrs   []http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, b)
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		u.hdrs = append(u.hdrs, h)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Upstream", "yes")
		_, _ = w.Write(append([]byte("upstream saw: "), b...))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.bodies)
}

func (u *upstream) last(t *testing.T) ([]byte, http.Header) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		t.Fatal("upstream received nothing")
	}
	return u.bodies[len(u.bodies)-1], u.hdrs[len(u.hdrs)-1]
}

// fixture starts the scripted ext_proc server, an upstream and the emulator.
func fixture(t *testing.T, s *scripted, mod func(*Config)) (*Server, *upstream) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(s.opts...)
	extprocv3.RegisterExternalProcessorServer(gs, s)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(ln)
	}()
	up := newUpstream(t)
	cfg := Config{ExtProcAddr: ln.Addr().String(), UpstreamURL: up.URL, TestMode: true}
	if mod != nil {
		mod(&cfg)
	}
	emu, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := emu.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
		gs.Stop()
		<-served
	})
	return emu, up
}

func post(t *testing.T, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func headerValue(hm *corev3.HeaderMap, key string) (string, bool) {
	for _, h := range hm.GetHeaders() {
		if h.GetKey() == key {
			return string(h.GetRawValue()), true
		}
	}
	return "", false
}

func kinds(reqs []*extprocv3.ProcessingRequest) []string {
	var out []string
	for _, r := range reqs {
		switch r.GetRequest().(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			out = append(out, "request_headers")
		case *extprocv3.ProcessingRequest_RequestBody:
			out = append(out, "request_body")
		case *extprocv3.ProcessingRequest_ResponseHeaders:
			out = append(out, "response_headers")
		case *extprocv3.ProcessingRequest_ResponseBody:
			out = append(out, "response_body")
		default:
			out = append(out, "other")
		}
	}
	return out
}

func TestContinueForwardsAndSendsEnvoyShapedMessages(t *testing.T) {
	s := &scripted{respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		resp := continueReply(req)
		if req.GetRequestHeaders() != nil {
			resp.DynamicMetadata = &structpb.Struct{Fields: map[string]*structpb.Value{
				"llmfw": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
					"decision_id": structpb.NewStringValue("d-1"),
				}}),
				"other": structpb.NewStructValue(&structpb.Struct{}),
			}}
		}
		return resp
	}}
	emu, up := fixture(t, s, func(c *Config) {
		c.Routes = []Route{{PathPrefix: "/v1/", Name: "llm-route", InitialMetadata: map[string]string{"x-llmfw-policy": "strict"}}}
	})
	resp, body := post(t, emu.URL+"/v1/chat?x=1", `{"hi":1}`, "Content-Type", "application/json", "X-Custom", "v")
	if resp.StatusCode != 200 || string(body) != `upstream saw: {"hi":1}` {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Upstream") != "yes" {
		t.Errorf("upstream response header lost: %v", resp.Header)
	}
	if _, h := up.last(t); h.Get("X-Custom") != "v" || h.Get("X-Request-Id") == "" {
		t.Errorf("upstream request headers = %v", h)
	}

	reqs := s.requests()
	want := []string{"request_headers", "request_body", "response_headers", "response_body"}
	if got := kinds(reqs); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("messages = %v, want %v", got, want)
	}
	first := reqs[0]
	pc := first.GetProtocolConfig()
	if pc.GetRequestBodyMode() != extprocfilterv3.ProcessingMode_BUFFERED || pc.GetResponseBodyMode() != extprocfilterv3.ProcessingMode_BUFFERED {
		t.Errorf("protocol_config = %v", pc)
	}
	if rn := first.GetAttributes()["envoy.filters.http.ext_proc"].GetFields()["xds.route_name"].GetStringValue(); rn != "llm-route" {
		t.Errorf("route attribute = %q", rn)
	}
	for i, r := range reqs[1:] {
		if r.GetProtocolConfig() != nil || r.GetAttributes() != nil {
			t.Errorf("message %d carries protocol_config or attributes", i+1)
		}
	}
	rh := first.GetRequestHeaders()
	if rh.GetEndOfStream() {
		t.Error("request headers end_of_stream with a body")
	}
	for k, v := range map[string]string{":method": "POST", ":path": "/v1/chat?x=1", ":scheme": "http", ":authority": strings.TrimPrefix(emu.URL, "http://"), "x-custom": "v", "content-length": "8"} {
		if got, ok := headerValue(rh.GetHeaders(), k); !ok || got != v {
			t.Errorf("request header %s = %q, want %q", k, got, v)
		}
	}
	for _, h := range rh.GetHeaders().GetHeaders() {
		if h.GetKey() != strings.ToLower(h.GetKey()) || h.GetValue() != "" {
			t.Errorf("header %q not lower-cased raw_value-only", h.GetKey())
		}
	}
	if b := reqs[1].GetRequestBody(); string(b.GetBody()) != `{"hi":1}` || !b.GetEndOfStream() {
		t.Errorf("request body message = %v", b)
	}
	if st, _ := headerValue(reqs[2].GetResponseHeaders().GetHeaders(), ":status"); st != "200" {
		t.Errorf("response :status = %q", st)
	}
	if got := s.mds[0].Get("x-llmfw-policy"); len(got) != 1 || got[0] != "strict" {
		t.Errorf("initial metadata = %v", s.mds[0])
	}

	rec, ok := emu.Record(resp.Header.Get(HeaderRequestID))
	if !ok {
		t.Fatal("no record for", resp.Header.Get(HeaderRequestID))
	}
	if v, _ := rec.Metadata("llmfw", "decision_id"); v != "d-1" {
		t.Errorf("dynamic metadata = %v", rec.DynamicMetadata)
	}
	if len(rec.MetadataUpdates) != 1 || rec.MetadataUpdates[0].Phase != "request_headers" || rec.MetadataUpdates[0].Namespace != "llmfw" {
		t.Errorf("metadata updates = %+v", rec.MetadataUpdates)
	}
	if _, ok := rec.DynamicMetadata["other"]; ok {
		t.Error("namespace outside receiving_namespaces kept")
	}
	if rec.Outcome != OutcomeForwarded || rec.Route != "llm-route" {
		t.Errorf("record = %+v", rec)
	}
	st := emu.Stats()
	if st.FailOpen != 0 || st.MsgsSent != 4 || st.MsgsReceived != 4 || st.StreamsStarted != 1 {
		t.Errorf("stats = %+v", st)
	}
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.ends) == 1 })
	if s.ends[0] != io.EOF {
		t.Errorf("stream should end with a half-close, got %v", s.ends[0])
	}
}

func TestNoBodyEndsStreamOnHeaders(t *testing.T) {
	s := &scripted{respond: continueReply}
	emu, up := fixture(t, s, nil)
	resp, err := http.Get(emu.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := kinds(s.requests())
	if strings.Join(got, ",") != "request_headers,response_headers,response_body" {
		t.Fatalf("messages = %v", got)
	}
	if !s.requests()[0].GetRequestHeaders().GetEndOfStream() {
		t.Error("GET without body: end_of_stream should be true on headers")
	}
	if up.count() != 1 {
		t.Error("upstream not called")
	}
}

func TestHeaderAndBodyMutationWithContentLengthFix(t *testing.T) {
	const redacted = `{"hi":"[REDACTED]"}`
	s := &scripted{respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		switch req.GetRequest().(type) {
		case *extprocv3.ProcessingRequest_RequestBody:
			return replyWith(req, &extprocv3.CommonResponse{
				HeaderMutation: &extprocv3.HeaderMutation{
					SetHeaders:    []*corev3.HeaderValueOption{setHeader("content-length", strconv.Itoa(len(redacted))), setHeader("x-redacted", "1"), setHeader("host", "evil")},
					RemoveHeaders: []string{"x-secret", ":path"},
				},
				BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte(redacted)}},
			})
		case *extprocv3.ProcessingRequest_ResponseBody:
			return replyWith(req, &extprocv3.CommonResponse{
				HeaderMutation: &extprocv3.HeaderMutation{RemoveHeaders: []string{"content-length"}, SetHeaders: []*corev3.HeaderValueOption{setHeader("x-llmfw-decision", "allow")}},
				BodyMutation:   &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte("rewritten")}},
			})
		}
		return continueReply(req)
	}}
	emu, up := fixture(t, s, nil)
	resp, body := post(t, emu.URL+"/v1/chat", `{"hi":"sk-123"}`, "X-Secret", "s")
	if resp.StatusCode != 200 || string(body) != "rewritten" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Llmfw-Decision") != "allow" {
		t.Errorf("response header mutation lost: %v", resp.Header)
	}
	gotBody, h := up.last(t)
	if string(gotBody) != redacted || h.Get("Content-Length") != "" && h.Get("Content-Length") != strconv.Itoa(len(redacted)) {
		t.Errorf("upstream got %q (content-length %q)", gotBody, h.Get("Content-Length"))
	}
	if h.Get("X-Redacted") != "1" || h.Get("X-Secret") != "" {
		t.Errorf("upstream headers = %v", h)
	}
	if h.Get("Host") == "evil" {
		t.Error("host mutation must be ignored under default mutation rules")
	}
	if st := emu.Stats(); st.RejectedHeaderMutations != 2 {
		t.Errorf("rejected_header_mutations = %d, want 2 (host set, :path remove)", st.RejectedHeaderMutations)
	}
}

func TestBodyMutationWithStaleContentLengthIs500(t *testing.T) {
	for _, tc := range []struct {
		name string
		bm   *extprocv3.BodyMutation
	}{
		{"replace", &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte("short")}}},
		// Envoy compares with body_mutation.body(), empty for clear_body.
		{"clear", &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
				if req.GetRequestBody() != nil {
					return replyWith(req, &extprocv3.CommonResponse{BodyMutation: tc.bm})
				}
				return continueReply(req)
			}}
			emu, up := fixture(t, s, nil)
			resp, _ := post(t, emu.URL+"/v1/chat", `{"a":"a long enough body"}`)
			if resp.StatusCode != 500 {
				t.Fatalf("status = %d, want 500", resp.StatusCode)
			}
			if up.count() != 0 {
				t.Error("upstream must not be called")
			}
			if d := resp.Header.Get(HeaderDetails); !strings.Contains(d, "mismatch_between_content_length") {
				t.Errorf("details = %q", d)
			}
		})
	}
}

func TestContinueAndReplaceOnRequestHeaders(t *testing.T) {
	s := &scripted{respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		if req.GetRequestHeaders() != nil {
			return replyWith(req, &extprocv3.CommonResponse{
				Status:       extprocv3.CommonResponse_CONTINUE_AND_REPLACE,
				BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte("replaced body")}},
			})
		}
		return continueReply(req)
	}}
	emu, up := fixture(t, s, nil)
	resp, _ := post(t, emu.URL+"/x", "original")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if b, _ := up.last(t); string(b) != "replaced body" {
		t.Errorf("upstream got %q", b)
	}
	if got := kinds(s.requests()); strings.Join(got, ",") != "request_headers,response_headers,response_body" {
		t.Errorf("no request_body message expected after CONTINUE_AND_REPLACE, got %v", got)
	}
}

func TestImmediateResponse(t *testing.T) {
	block := func(code typev3.StatusCode) *extprocv3.ProcessingResponse {
		ir := &extprocv3.ImmediateResponse{
			Body:    []byte(`{"error":{"message":"blocked"}}`),
			Headers: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{setHeader("content-type", "application/json")}},
			Details: "llmfw blocked",
		}
		if code != 0 {
			ir.Status = &typev3.HttpStatus{Code: code}
		}
		return &extprocv3.ProcessingResponse{
			Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: ir},
			DynamicMetadata: &structpb.Struct{Fields: map[string]*structpb.Value{
				"llmfw": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"decision_id": structpb.NewStringValue("d-block")}}),
			}},
		}
	}
	for _, tc := range []struct {
		name         string
		at           string
		code         typev3.StatusCode
		wantStatus   int
		wantUpstream int
	}{
		{"request body 403", "request_body", typev3.StatusCode_Forbidden, 403, 0},
		{"request headers 413", "request_headers", typev3.StatusCode_PayloadTooLarge, 413, 0},
		{"missing status becomes 200", "request_body", 0, 200, 0},
		{"response headers replace upstream", "response_headers", typev3.StatusCode_Forbidden, 403, 1},
		{"response body replace upstream", "response_body", typev3.StatusCode_Forbidden, 403, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
				if kinds([]*extprocv3.ProcessingRequest{req})[0] == tc.at {
					return block(tc.code)
				}
				return continueReply(req)
			}}
			emu, up := fixture(t, s, nil)
			resp, body := post(t, emu.URL+"/v1/chat", `{"x":1}`)
			if resp.StatusCode != tc.wantStatus || string(body) != `{"error":{"message":"blocked"}}` {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type = %q", ct)
			}
			if resp.Header.Get("X-Upstream") != "" {
				t.Error("upstream headers leaked into the local reply")
			}
			if up.count() != tc.wantUpstream {
				t.Errorf("upstream calls = %d, want %d", up.count(), tc.wantUpstream)
			}
			rec, _ := emu.Record(resp.Header.Get(HeaderRequestID))
			if rec.Outcome != OutcomeImmediateResponse || rec.Phase != tc.at || rec.Details != "llmfw_blocked" {
				t.Errorf("record = %+v", rec)
			}
			if v, _ := rec.Metadata("llmfw", "decision_id"); v != "d-block" {
				t.Errorf("metadata = %v", rec.DynamicMetadata)
			}
		})
	}
}

func TestWrongOneofIsSpurious500(t *testing.T) {
	s := &scripted{respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		if req.GetRequestHeaders() != nil {
			// A body reply while Envoy waits for the header reply.
			return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}
		}
		return continueReply(req)
	}}
	emu, up := fixture(t, s, nil)
	resp, _ := post(t, emu.URL+"/v1/chat", `{}`)
	if resp.StatusCode != 500 {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
	if st := emu.Stats(); st.SpuriousMsgsReceived != 1 || st.FailOpen != 0 {
		t.Errorf("stats = %+v", st)
	}
	if up.count() != 0 {
		t.Error("upstream must not be called")
	}
}

func TestEmptyReplyIsSpurious500(t *testing.T) {
	s := &scripted{respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		return &extprocv3.ProcessingResponse{}
	}}
	emu, _ := fixture(t, s, nil)
	resp, _ := post(t, emu.URL+"/v1/chat", `{}`)
	if resp.StatusCode != 500 || emu.Stats().SpuriousMsgsReceived != 1 {
		t.Fatalf("status = %d stats = %+v", resp.StatusCode, emu.Stats())
	}
}

func TestMessageTimeoutIs504(t *testing.T) {
	s := &scripted{
		respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
			// Asking for more time is ignored: max_message_timeout is unset.
			return &extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(time.Minute)}
		},
	}
	emu, up := fixture(t, s, func(c *Config) { c.MessageTimeout = 100 * time.Millisecond })
	start := time.Now()
	resp, _ := post(t, emu.URL+"/v1/chat", `{}`)
	if resp.StatusCode != 504 {
		t.Fatalf("status = %d, want 504", resp.StatusCode)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("timeout took %v", el)
	}
	if d := resp.Header.Get(HeaderDetails); d != DetailsMessageTimeout {
		t.Errorf("details = %q", d)
	}
	if st := emu.Stats(); st.MessageTimeouts != 1 || st.OverrideMessageTimeoutIgnored != 1 {
		t.Errorf("stats = %+v", st)
	}
	if up.count() != 0 {
		t.Error("upstream must not be called")
	}
}

func TestMessageTimeoutOnSilentServer(t *testing.T) {
	s := &scripted{respond: continueReply, hold: func(req *extprocv3.ProcessingRequest) bool { return req.GetRequestBody() != nil }}
	emu, up := fixture(t, s, func(c *Config) { c.MessageTimeout = 100 * time.Millisecond })
	resp, _ := post(t, emu.URL+"/v1/chat", `{}`)
	if resp.StatusCode != 504 || up.count() != 0 {
		t.Fatalf("status = %d, upstream calls = %d", resp.StatusCode, up.count())
	}
}

func TestServerClosingOKEarlyFailsOpen(t *testing.T) {
	s := &scripted{respond: func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		if req.GetRequestBody() != nil {
			return nil // return from Process with a nil error
		}
		return continueReply(req)
	}}
	emu, up := fixture(t, s, nil)
	resp, body := post(t, emu.URL+"/v1/chat", `{"prompt":"unscanned"}`)
	if resp.StatusCode != 200 || string(body) != `upstream saw: {"prompt":"unscanned"}` {
		t.Fatalf("got %d %q: Envoy continues unprocessed after an OK close", resp.StatusCode, body)
	}
	if up.count() != 1 {
		t.Error("upstream should have been called")
	}
	if st := emu.Stats(); st.FailOpen != 1 {
		t.Errorf("FailOpen = %d, want 1", st.FailOpen)
	}
	rec, _ := emu.LastRecord()
	if !rec.FailOpen || rec.FailOpenPhase != "request_body" || rec.Outcome != OutcomeFailOpen {
		t.Errorf("record = %+v", rec)
	}
	if got := kinds(s.requests()); len(got) != 2 {
		t.Errorf("no messages after an OK close, got %v", got)
	}
}

func TestGRPCErrorIs500(t *testing.T) {
	s := &scripted{respond: continueReply, err: status.Error(codes.Internal, "boom")}
	emu, up := fixture(t, s, nil)
	resp, _ := post(t, emu.URL+"/v1/chat", `{}`)
	if resp.StatusCode != 500 {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
	if d := resp.Header.Get(HeaderDetails); d != "ext_proc_error_gRPC_error_13{boom{via_upstream}}" {
		t.Errorf("details = %q", d)
	}
	if st := emu.Stats(); st.StreamsFailed != 1 || st.FailOpen != 0 {
		t.Errorf("stats = %+v", st)
	}
	if up.count() != 0 {
		t.Error("upstream must not be called")
	}
}

func TestUnreachableServerIs500(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	up := newUpstream(t)
	emu, err := Start(Config{ExtProcAddr: addr, UpstreamURL: up.URL, StatusOnError: 503})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	resp, _ := post(t, emu.URL+"/v1/chat", `{}`)
	if resp.StatusCode != 503 {
		t.Fatalf("status = %d, want status_on_error 503", resp.StatusCode)
	}
	if up.count() != 0 || emu.Stats().FailOpen != 0 {
		t.Error("must fail closed")
	}
}

func TestConcurrentRequests(t *testing.T) {
	s := &scripted{respond: continueReply}
	emu, up := fixture(t, s, nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			resp, err := http.Post(emu.URL+"/v1/chat", "text/plain", strings.NewReader(strconv.Itoa(i)))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || !bytes.HasSuffix(body, []byte(strconv.Itoa(i))) {
				t.Errorf("request %d: %d %q %v", i, resp.StatusCode, body, err)
			}
		})
	}
	wg.Wait()
	if up.count() != 20 || emu.Stats().StreamsStarted != 20 {
		t.Errorf("upstream %d, stats %+v", up.count(), emu.Stats())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestChunkedRequestBody(t *testing.T) {
	for _, body := range []string{"chunked payload", ""} {
		t.Run(strconv.Quote(body), func(t *testing.T) {
			s := &scripted{respond: continueReply}
			emu, up := fixture(t, s, nil)
			// An io.Reader of unknown length is sent chunked, without content-length.
			req, _ := http.NewRequest(http.MethodPost, emu.URL+"/v1/x", io.MultiReader(strings.NewReader(body)))
			req.ContentLength = -1
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reqs := s.requests()
			if got := kinds(reqs); strings.Join(got, ",") != "request_headers,request_body,response_headers,response_body" {
				t.Fatalf("messages = %v", got)
			}
			if reqs[0].GetRequestHeaders().GetEndOfStream() {
				t.Error("chunked request: headers must not carry end_of_stream")
			}
			if _, ok := headerValue(reqs[0].GetRequestHeaders().GetHeaders(), "content-length"); ok {
				t.Error("chunked request has no content-length")
			}
			if b := reqs[1].GetRequestBody(); string(b.GetBody()) != body || !b.GetEndOfStream() {
				t.Errorf("body message = %v", b)
			}
			if got, _ := up.last(t); string(got) != body {
				t.Errorf("upstream got %q", got)
			}
		})
	}
}

// A server that answers the headers and then stops reading: the body message
// gets no reply and the message timer fires.
func TestMessageTimeoutWhenServerStopsReading(t *testing.T) {
	s := &scripted{
		respond: continueReply,
		// After the header reply, never Recv again.
		afterSend: func(stream extprocv3.ExternalProcessor_ProcessServer) { <-stream.Context().Done() },
	}
	emu, up := fixture(t, s, func(c *Config) { c.MessageTimeout = 200 * time.Millisecond })
	start := time.Now()
	resp, _ := post(t, emu.URL+"/v1/chat", strings.Repeat("x", 1<<20))
	if resp.StatusCode != 504 {
		t.Fatalf("status = %d, want 504", resp.StatusCode)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	if up.count() != 0 {
		t.Error("upstream must not be called")
	}
}
