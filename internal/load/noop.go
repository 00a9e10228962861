package load

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"strings"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Noop is the baseline ext_proc server: it answers CONTINUE to every
// message, with the oneof of the phase it answers, and does nothing else.
// Like the firewall, it switches a text/event-stream answer to STREAMED with
// mode_override (unless ModeOverride is false), so streamed transactions
// carry the same number of messages against both.
type Noop struct {
	extprocv3.UnimplementedExternalProcessorServer

	ModeOverride bool

	gs  *grpc.Server
	lis net.Listener
}

// NewNoop returns a no-op server; Start serves it on its own gRPC server,
// or register it on yours with extprocv3.RegisterExternalProcessorServer.
func NewNoop() *Noop { return &Noop{ModeOverride: true} }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background;
// it returns the bound address.
func (n *Noop) Start(addr string) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("no-op ext_proc server: listen %s: %w", addr, err)
	}
	n.lis = lis
	n.gs = grpc.NewServer(grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
	extprocv3.RegisterExternalProcessorServer(n.gs, n)
	go n.gs.Serve(lis)
	return lis.Addr().String(), nil
}

// Stop ends the server started by Start, cutting open streams.
func (n *Noop) Stop() {
	if n.gs != nil {
		n.gs.Stop()
	}
}

var continueCommon = &extprocv3.CommonResponse{Status: extprocv3.CommonResponse_CONTINUE}

// Process answers one transaction.
func (n *Noop) Process(st extprocv3.ExternalProcessor_ProcessServer) error {
	var reqBodyMode filterv3.ProcessingMode_BodySendMode
	for {
		req, err := st.Recv()
		if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
			return nil
		}
		if err != nil {
			return err
		}
		if pc := req.GetProtocolConfig(); pc != nil {
			reqBodyMode = pc.GetRequestBodyMode()
		}
		r := &extprocv3.ProcessingResponse{}
		switch m := req.Request.(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			r.Response = &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: continueCommon}}
		case *extprocv3.ProcessingRequest_RequestBody:
			r.Response = &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: continueCommon}}
		case *extprocv3.ProcessingRequest_RequestTrailers:
			r.Response = &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{}}
		case *extprocv3.ProcessingRequest_ResponseHeaders:
			r.Response = &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: continueCommon}}
			if n.ModeOverride && !m.ResponseHeaders.GetEndOfStream() && isEventStream(m.ResponseHeaders) {
				r.ModeOverride = &filterv3.ProcessingMode{RequestBodyMode: reqBodyMode, ResponseBodyMode: filterv3.ProcessingMode_STREAMED}
			}
		case *extprocv3.ProcessingRequest_ResponseBody:
			r.Response = &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: continueCommon}}
		case *extprocv3.ProcessingRequest_ResponseTrailers:
			r.Response = &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{}}
		default:
			return status.Errorf(codes.InvalidArgument, "no-op ext_proc server: unknown message %T", req.Request)
		}
		if err := st.Send(r); err != nil {
			return err
		}
	}
}

func isEventStream(h *extprocv3.HttpHeaders) bool {
	for _, hv := range h.GetHeaders().GetHeaders() {
		if hv.GetKey() == "content-type" {
			v := string(hv.GetRawValue())
			if v == "" {
				v = hv.GetValue()
			}
			mt, _, _ := mime.ParseMediaType(v)
			return strings.EqualFold(mt, "text/event-stream")
		}
	}
	return false
}
