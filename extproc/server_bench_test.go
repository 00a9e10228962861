package extproc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/llm-firewall/llm-firewall/cache"
	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/extproc"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// benchServer is the production wiring with the embedded default policy.
func benchServer(b *testing.B) *extproc.Server {
	ps, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		b.Fatal(err)
	}
	store, err := cache.New(cache.Config{MaxMB: 64}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	srv := extproc.NewServer(extproc.Config{RequireProtocolConfig: true}, pipeline.NewEngine(all.EngineOptions(pipeline.WithCache(store))...), nil, nil)
	srv.SetPolicies(ps)
	return srv
}

// prompt builds an OpenAI chat body of about size bytes; n makes it unique
// so the decision cache does not answer.
func prompt(size, n int) []byte {
	words := strings.Repeat("the quick brown fox jumps over the lazy dog ", size/44+1)
	b, _ := json.Marshal(map[string]any{
		"model": "gpt-4o-mini",
		"messages": []map[string]any{
			{"role": "system", "content": "You are a helpful assistant."},
			{"role": "user", "content": fmt.Sprintf("%d %s", n, words[:max(0, size-120)])},
		},
	})
	return b
}

func transactionMessages(body, resp []byte) []*extprocv3.ProcessingRequest {
	first := reqHeaders(chatPath, false, "content-length", itoa(len(body)))
	first.ProtocolConfig = &extprocv3.ProtocolConfiguration{RequestBodyMode: filterv3.ProcessingMode_BUFFERED, ResponseBodyMode: filterv3.ProcessingMode_BUFFERED}
	return []*extprocv3.ProcessingRequest{
		first,
		reqBody(body, true),
		respHeaders("200", false, "content-length", itoa(len(resp))),
		respBody(resp, true),
	}
}

// BenchmarkTransactionLoopback runs whole buffered transactions (request
// headers, body, response headers, body) over a real loopback gRPC stream,
// the client playing Envoy. Allocations include the client side.
func BenchmarkTransactionLoopback(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		for _, cached := range []bool{false, true} {
			name := fmt.Sprintf("%dKB/cache=%s", size>>10, map[bool]string{false: "miss", true: "hit"}[cached])
			b.Run(name, func(b *testing.B) {
				srv := benchServer(b)
				lis, _ := net.Listen("tcp", "127.0.0.1:0")
				gs := grpc.NewServer(grpc.MaxRecvMsgSize(16 << 20))
				extprocv3.RegisterExternalProcessorServer(gs, srv)
				go gs.Serve(lis)
				defer gs.Stop()
				conn, _ := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
				defer conn.Close()
				client := extprocv3.NewExternalProcessorClient(conn)
				resp := completion("Paris is the capital of France.")
				durs := make([]time.Duration, 0, b.N)
				b.ReportAllocs()
				b.SetBytes(int64(len(prompt(size, 0))))
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					n := i
					if cached {
						n = 0
					}
					msgs := transactionMessages(prompt(size, n), resp)
					start := time.Now()
					st, err := client.Process(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					for _, m := range msgs {
						if err := st.Send(m); err != nil {
							b.Fatal(err)
						}
						r, err := st.Recv()
						if err != nil {
							b.Fatal(err)
						}
						if r.GetImmediateResponse() != nil {
							b.Fatalf("unexpected block: %s", r.GetImmediateResponse().GetBody())
						}
					}
					st.CloseSend()
					durs = append(durs, time.Since(start))
				}
				reportPercentiles(b, durs)
			})
		}
	}
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	pct := func(p float64) float64 {
		return float64(durs[min(len(durs)-1, int(float64(len(durs))*p))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// memStream is an in-memory ExternalProcessor_ProcessServer: it isolates the
// server's own cost (codec, pipeline, reply building) from gRPC transport.
type memStream struct {
	grpc.ServerStream
	ctx  context.Context
	in   []*extprocv3.ProcessingRequest
	next int
	out  int
}

func (m *memStream) Context() context.Context { return m.ctx }
func (m *memStream) Send(*extprocv3.ProcessingResponse) error {
	m.out++
	return nil
}
func (m *memStream) Recv() (*extprocv3.ProcessingRequest, error) {
	if m.next == len(m.in) {
		return nil, io.EOF
	}
	m.next++
	return m.in[m.next-1], nil
}
func (m *memStream) SetHeader(metadata.MD) error  { return nil }
func (m *memStream) SendHeader(metadata.MD) error { return nil }
func (m *memStream) SetTrailer(metadata.MD)       {}

// BenchmarkTransactionServer is the server's own work per transaction with
// the default policy and unique prompts (cache misses).
func BenchmarkTransactionServer(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			srv := benchServer(b)
			resp := completion("Paris is the capital of France.")
			body := prompt(size, 0)
			// Unique prompts without rebuilding JSON: overwrite a fixed run
			// of digits in place (the server keeps no reference after a stream).
			at := strings.Index(string(body), `"0 the`) + 1
			digits := []byte(strings.Repeat("9", 12) + " ")
			body = append(body[:at], append(digits, body[at+2:]...)...)
			msgs := transactionMessages(body, resp) // body is rewritten in place below
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			i := 0
			for b.Loop() {
				i++
				n := i
				for j := 11; j >= 0; j-- {
					body[at+j] = byte('0' + n%10)
					n /= 10
				}
				ms := &memStream{ctx: context.Background(), in: msgs}
				if err := srv.Process(ms); err != nil {
					b.Fatal(err)
				}
				if ms.out != 4 {
					b.Fatalf("%d replies", ms.out)
				}
			}
		})
	}
}
