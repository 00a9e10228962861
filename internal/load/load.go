package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// maxMsg lifts grpc-go's 4 MiB message limit (the firewall accepts 16 MiB).
const maxMsg = 16 << 20

// Phase names, as reported in Result.Phases.
const (
	PhaseRequestHeaders  = "request_headers"
	PhaseRequestBody     = "request_body"
	PhaseResponseHeaders = "response_headers"
	PhaseResponseBody    = "response_body"  // a buffered answer, or a streamed one the server did not switch
	PhaseResponseChunk   = "response_chunk" // one STREAMED chunk
)

// Phases lists the phase names in transaction order.
var Phases = []string{PhaseRequestHeaders, PhaseRequestBody, PhaseResponseHeaders, PhaseResponseBody, PhaseResponseChunk}

// Config is one load run.
type Config struct {
	Addr        string        // ext_proc server host:port
	Concurrency int           // workers, each with one transaction in flight; default 16
	Duration    time.Duration // stop starting transactions after this (Warmup included); 0 needs Count
	Count       int64         // stop after this many transactions; 0 means Duration alone
	Warmup      time.Duration // transactions started earlier are played but not recorded
	Texts       []Text        // the benign/attack mix; default DefaultTexts
	Size        int           // request body bytes (padded or truncated); 0 keeps each text as is
	Repeat      bool          // same body for the same text on every pass, so the decision cache answers
	StreamRatio float64       // share (0..1) of transactions answered as a stream (stream:true, SSE)
	Chunks      int           // SSE chunks per streamed answer; default 8
	RouteName   string        // xds.route_name attribute; default "bench"
	Timeout     time.Duration // per transaction; default 10s
	Conns       int           // gRPC connections shared by the workers; default 1
	Seed        uint64        // the order of texts and which transactions stream

	RSS         func() (int64, error) // the server's resident bytes, sampled during the run; nil skips
	RSSInterval time.Duration         // default 1s
}

func (c *Config) defaults() error {
	if c.Addr == "" {
		return errors.New("load: no ext_proc address")
	}
	if c.Duration <= 0 && c.Count <= 0 {
		return errors.New("load: set a duration or a count")
	}
	if c.StreamRatio < 0 || c.StreamRatio > 1 {
		return fmt.Errorf("load: stream ratio %g is outside 0..1", c.StreamRatio)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if len(c.Texts) == 0 {
		c.Texts = DefaultTexts()
	}
	if c.Chunks <= 0 {
		c.Chunks = 8
	}
	if c.RouteName == "" {
		c.RouteName = "bench"
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Conns <= 0 {
		c.Conns = 1
	}
	if c.RSSInterval <= 0 {
		c.RSSInterval = time.Second
	}
	return nil
}

// Result is what a run measured; latencies are over recorded transactions
// (after Warmup), including blocked ones up to their block.
type Result struct {
	Addr           string             `json:"addr"`
	ElapsedS       float64            `json:"elapsed_s"`
	Transactions   int64              `json:"transactions"` // recorded and finished without error (completed + blocked)
	Completed      int64              `json:"completed"`    // every phase answered with CONTINUE
	Streamed       int64              `json:"streamed"`     // streamed answers played to their end
	ModeOverrides  int64              `json:"mode_overrides"`
	Attacks        int64              `json:"attacks"` // transactions with an attack-labelled text
	Blocks         int64              `json:"blocks"`  // immediate responses
	BlocksByStatus map[string]int64   `json:"blocks_by_status"`
	BlockedAttacks int64              `json:"blocked_attacks"`
	BlockedBenign  int64              `json:"blocked_benign"`
	Errors         int64              `json:"errors"` // gRPC errors, timeouts, replies of the wrong kind
	ErrorKinds     map[string]int64   `json:"error_kinds"`
	RPS            float64            `json:"rps"`
	Latency        Summary            `json:"latency"`
	Phases         map[string]Summary `json:"phases"`
	RSS            *RSSStats          `json:"rss,omitempty"`
}

// run is one Run's shared state.
type run struct {
	cfg     Config
	clients []extprocv3.ExternalProcessorClient
	texts   []requestText
	order   []int
	resp    template
	salt    uint64
	attrs   map[string]*structpb.Struct
	recFrom time.Time

	total  Histogram
	phases map[string]*Histogram

	completed, streamed, overrides, attacks atomic.Int64
	blocks, blockedAttacks, blockedBenign   atomic.Int64
	mu                                      sync.Mutex
	blockStatus                             map[string]int64
	errKinds                                map[string]int64
	errors                                  atomic.Int64
}

// Run plays the load until cfg.Duration or cfg.Count, then waits for the
// transactions in flight. Cancelling ctx stops it early; transactions cut
// by the cancellation are not counted as errors.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	r := &run{
		cfg:         cfg,
		resp:        completion(),
		salt:        uint64(time.Now().UnixNano()/1000) % 900_000_000_000,
		phases:      map[string]*Histogram{},
		blockStatus: map[string]int64{},
		errKinds:    map[string]int64{},
		attrs: map[string]*structpb.Struct{"envoy.filters.http.ext_proc": {
			Fields: map[string]*structpb.Value{"xds.route_name": structpb.NewStringValue(cfg.RouteName)},
		}},
	}
	if cfg.Repeat {
		r.salt = 0
	}
	for _, p := range Phases {
		r.phases[p] = &Histogram{}
	}
	r.texts = make([]requestText, len(cfg.Texts))
	r.order = make([]int, len(cfg.Texts))
	for i, t := range cfg.Texts {
		r.texts[i] = prepareText(t, cfg.Size)
		r.order[i] = i
	}
	// Shuffle so a file sorted by label still gives a steady mix.
	rng := splitmix(cfg.Seed + 0x9e3779b97f4a7c15)
	for i := len(r.order) - 1; i > 0; i-- {
		j := int(rng.next() % uint64(i+1))
		r.order[i], r.order[j] = r.order[j], r.order[i]
	}

	for range cfg.Conns {
		cc, err := grpc.NewClient(cfg.Addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
		if err != nil {
			return Result{}, fmt.Errorf("load: connect %s: %w", cfg.Addr, err)
		}
		defer cc.Close()
		r.clients = append(r.clients, extprocv3.NewExternalProcessorClient(cc))
	}

	var sampler *rssSampler
	if cfg.RSS != nil {
		sampler = startRSS(cfg.RSS, cfg.RSSInterval)
	}
	start := time.Now()
	r.recFrom = start.Add(cfg.Warmup)
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() {
			client := r.clients[w%len(r.clients)]
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if cfg.Count > 0 && i >= cfg.Count {
					return
				}
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				r.transaction(ctx, client, uint64(i))
			}
		})
	}
	wg.Wait()
	end := time.Now()

	res := Result{
		Addr:           cfg.Addr,
		Completed:      r.completed.Load(),
		Streamed:       r.streamed.Load(),
		ModeOverrides:  r.overrides.Load(),
		Attacks:        r.attacks.Load(),
		Blocks:         r.blocks.Load(),
		BlocksByStatus: r.blockStatus,
		BlockedAttacks: r.blockedAttacks.Load(),
		BlockedBenign:  r.blockedBenign.Load(),
		Errors:         r.errors.Load(),
		ErrorKinds:     r.errKinds,
		Latency:        r.total.Summary(),
		Phases:         map[string]Summary{},
	}
	res.Transactions = res.Completed + res.Blocks
	for p, h := range r.phases {
		if h.Count() > 0 {
			res.Phases[p] = h.Summary()
		}
	}
	if from := r.recFrom; end.After(from) {
		res.ElapsedS = math.Round(end.Sub(from).Seconds()*1000) / 1000
		res.RPS = math.Round(float64(res.Transactions)/end.Sub(from).Seconds()*10) / 10
	}
	if sampler != nil {
		st := sampler.stop()
		res.RSS = &st
	}
	return res, nil
}

// outcome of one transaction.
type outcome int

const (
	outCompleted outcome = iota
	outBlocked
	outError
	outCancelled
)

// transaction plays one HTTP transaction as Envoy does with request and
// response body modes BUFFERED, switching the answer to STREAMED when the
// server's response-headers reply asks for it.
func (r *run) transaction(parent context.Context, client extprocv3.ExternalProcessorClient, i uint64) {
	cfg := &r.cfg
	ti := r.order[int(i%uint64(len(r.order)))]
	text := r.texts[ti]
	stream := cfg.StreamRatio > 0 && float64(splitmix(cfg.Seed^i).next()>>11)/(1<<53) < cfg.StreamRatio
	nonce := r.salt + i
	if cfg.Repeat {
		nonce = uint64(ti)
	}
	start := time.Now()
	record := !start.Before(r.recFrom)

	ctx, cancel := context.WithTimeout(parent, cfg.Timeout)
	defer cancel()
	t := &txn{r: r, record: record}
	out := t.play(ctx, client, text, stream, nonce)
	if out == outError && parent.Err() != nil {
		out = outCancelled
	}
	if !record || out == outCancelled {
		return
	}
	if out != outError {
		r.total.Record(time.Since(start))
	}
	if text.attack {
		r.attacks.Add(1)
	}
	switch out {
	case outCompleted:
		r.completed.Add(1)
	case outBlocked:
		r.blocks.Add(1)
		if text.attack {
			r.blockedAttacks.Add(1)
		} else {
			r.blockedBenign.Add(1)
		}
		r.mu.Lock()
		r.blockStatus[strconv.Itoa(t.blockStatus)]++
		r.mu.Unlock()
	case outError:
		r.errors.Add(1)
		r.mu.Lock()
		r.errKinds[t.errKind]++
		r.mu.Unlock()
	}
	if stream && out == outCompleted {
		r.streamed.Add(1)
	}
	if t.override {
		r.overrides.Add(1)
	}
}

// txn is one transaction's state.
type txn struct {
	r           *run
	record      bool
	st          extprocv3.ExternalProcessor_ProcessClient
	blockStatus int
	errKind     string
	override    bool
}

// step sends one message and waits for its reply; ok false means the
// transaction ended (blocked or failed).
func (t *txn) step(phase string, req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, outcome, bool) {
	start := time.Now()
	if err := t.st.Send(req); err != nil {
		if errors.Is(err, io.EOF) {
			// The server ended the stream; Recv reports why.
			_, err = t.st.Recv()
		}
		return nil, t.fail(phase, err), false
	}
	resp, err := t.st.Recv()
	if err != nil {
		return nil, t.fail(phase, err), false
	}
	if t.record {
		t.r.phases[phase].Record(time.Since(start))
	}
	if ir := resp.GetImmediateResponse(); ir != nil {
		t.blockStatus = int(ir.GetStatus().GetCode())
		return resp, outBlocked, false
	}
	if !replyMatches(phase, resp) {
		t.errKind = "wrong_reply_" + phase
		return nil, outError, false
	}
	return resp, outCompleted, true
}

func (t *txn) fail(phase string, err error) outcome {
	switch {
	case err == nil || errors.Is(err, io.EOF):
		t.errKind = "stream_closed_" + phase
	case status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
		t.errKind = "timeout"
	default:
		t.errKind = "grpc_" + status.Code(err).String()
	}
	return outError
}

func replyMatches(phase string, r *extprocv3.ProcessingResponse) bool {
	switch phase {
	case PhaseRequestHeaders:
		return r.GetRequestHeaders() != nil
	case PhaseRequestBody:
		return r.GetRequestBody() != nil
	case PhaseResponseHeaders:
		return r.GetResponseHeaders() != nil
	default:
		return r.GetResponseBody() != nil
	}
}

func (t *txn) play(ctx context.Context, client extprocv3.ExternalProcessorClient, text requestText, stream bool, nonce uint64) outcome {
	st, err := client.Process(ctx)
	if err != nil {
		return t.fail("open", err)
	}
	t.st = st
	defer func() {
		// Half-close and let the server finish, as Envoy's graceful close does.
		if st.CloseSend() == nil {
			for {
				if _, err := st.Recv(); err != nil {
					break
				}
			}
		}
	}()
	cfg := &t.r.cfg
	body := chatRequest(text, cfg.Size, stream, nonce)

	first := &extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: headers(false,
			":method", "POST", ":path", "/v1/chat/completions", ":scheme", "https", ":authority", "llm.bench",
			"content-type", "application/json", "content-length", strconv.Itoa(len(body)), "user-agent", "llm-firewall-bench")},
		ProtocolConfig: &extprocv3.ProtocolConfiguration{
			RequestBodyMode: filterv3.ProcessingMode_BUFFERED, ResponseBodyMode: filterv3.ProcessingMode_BUFFERED,
		},
		Attributes: t.r.attrs,
	}
	steps := []struct {
		phase string
		req   *extprocv3.ProcessingRequest
	}{
		{PhaseRequestHeaders, first},
		{PhaseRequestBody, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
			RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}}},
	}
	var respHdrs *extprocv3.HttpHeaders
	var respBody []byte
	if stream {
		respHdrs = headers(false, ":status", "200", "content-type", "text/event-stream", "cache-control", "no-cache")
	} else {
		respBody = t.r.resp.stamp(nonce)
		respHdrs = headers(false, ":status", "200", "content-type", "application/json", "content-length", strconv.Itoa(len(respBody)))
	}
	steps = append(steps, struct {
		phase string
		req   *extprocv3.ProcessingRequest
	}{PhaseResponseHeaders, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: respHdrs}}})

	var last *extprocv3.ProcessingResponse
	for _, s := range steps {
		resp, out, ok := t.step(s.phase, s.req)
		if !ok {
			return out
		}
		last = resp
	}
	if !stream {
		_, out, _ := t.step(PhaseResponseBody, respBodyMsg(respBody, true))
		return out
	}
	chunks := sseChunks(cfg.Chunks, nonce)
	if mo := last.GetModeOverride(); mo != nil && mo.GetResponseBodyMode() == filterv3.ProcessingMode_STREAMED {
		t.override = true
		for k, c := range chunks {
			_, out, ok := t.step(PhaseResponseChunk, respBodyMsg(c, k == len(chunks)-1))
			if !ok {
				return out
			}
		}
		return outCompleted
	}
	// No override: Envoy buffers the whole stream and sends it once.
	var whole []byte
	for _, c := range chunks {
		whole = append(whole, c...)
	}
	_, out, _ := t.step(PhaseResponseBody, respBodyMsg(whole, true))
	return out
}

func respBodyMsg(b []byte, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
		ResponseBody: &extprocv3.HttpBody{Body: b, EndOfStream: eos}}}
}

// headers builds a header map the way recent Envoy sends it: lower-case
// keys, values in raw_value.
func headers(eos bool, kv ...string) *extprocv3.HttpHeaders {
	hm := &corev3.HeaderMap{Headers: make([]*corev3.HeaderValue, 0, len(kv)/2)}
	for i := 0; i+1 < len(kv); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return &extprocv3.HttpHeaders{Headers: hm, EndOfStream: eos}
}

// splitmix is a tiny deterministic generator (SplitMix64).
type splitmixState uint64

func splitmix(seed uint64) *splitmixState { s := splitmixState(seed); return &s }

func (s *splitmixState) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
