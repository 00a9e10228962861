package extproc_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// recStream is memStream that keeps the time each reply is sent and
// whether it released bytes.
type recStream struct {
	grpc.ServerStream
	ctx      context.Context
	in       []*extprocv3.ProcessingRequest
	next     int
	released []int // per reply: bytes of body released
	at       []time.Time
}

func (m *recStream) Context() context.Context { return m.ctx }
func (m *recStream) Send(r *extprocv3.ProcessingResponse) error {
	m.at = append(m.at, time.Now())
	m.released = append(m.released, len(r.GetResponseBody().GetResponse().GetBodyMutation().GetBody()))
	return nil
}
func (m *recStream) Recv() (*extprocv3.ProcessingRequest, error) {
	if m.next == len(m.in) {
		return nil, io.EOF
	}
	m.next++
	return m.in[m.next-1], nil
}
func (m *recStream) SetHeader(metadata.MD) error  { return nil }
func (m *recStream) SendHeader(metadata.MD) error { return nil }
func (m *recStream) SetTrailer(metadata.MD)       {}

// BenchmarkStreamedAnswer feeds a streamed chat answer of token-sized
// events, one event per ext_proc chunk, through the default policy. It
// reports the server's time per chunk and how many chunks (tokens) pass
// before the first byte is released: the first-byte delay the hold-back
// window costs, in tokens.
func BenchmarkStreamedAnswer(b *testing.B) {
	for _, tokens := range []int{200, 1000} {
		b.Run(fmt.Sprintf("tokens=%d", tokens), func(b *testing.B) {
			srv := benchServer(b)
			words := strings.Fields(strings.Repeat("the model writes an ordinary helpful answer about Paris and its museums ", tokens/12+1))[:tokens]
			first := reqHeaders(chatPath, false)
			first.ProtocolConfig = &extprocv3.ProtocolConfiguration{RequestBodyMode: filterv3.ProcessingMode_BUFFERED, ResponseBodyMode: filterv3.ProcessingMode_STREAMED}
			msgs := []*extprocv3.ProcessingRequest{first, reqBody(streamRequest(), true), respHeaders("200", false, "content-type", "text/event-stream")}
			for i, w := range words {
				msgs = append(msgs, respBody([]byte("data: "+deltaEvent(w+" ")+"\n\n"), false))
				if i == len(words)-1 {
					msgs = append(msgs, respBody([]byte("data: [DONE]\n\n"), true))
				}
			}
			chunks := len(msgs) - 3
			var perChunk time.Duration
			var firstRelease int
			b.ReportAllocs()
			for b.Loop() {
				ms := &recStream{ctx: context.Background(), in: msgs}
				start := time.Now()
				if err := srv.Process(ms); err != nil {
					b.Fatal(err)
				}
				perChunk += time.Since(start)
				if len(ms.released) != len(msgs) {
					b.Fatalf("%d replies for %d messages", len(ms.released), len(msgs))
				}
				for i, n := range ms.released[3:] {
					if n > 0 {
						firstRelease = i + 1
						break
					}
				}
			}
			b.ReportMetric(float64(perChunk.Nanoseconds())/float64(b.N)/float64(chunks)/1000, "µs/chunk")
			b.ReportMetric(float64(firstRelease), "first-release-chunk")
		})
	}
}
