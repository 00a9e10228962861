package envoyemu

// The ext_proc side stream: opening it, one call per phase with the
// message timeout, gRPC failures as Envoy reports them, dynamic metadata,
// and the end of the stream.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// open starts the Process stream with the route's initial metadata.
func (t *txn) open() error {
	ctx, cancel := context.WithCancel(context.Background())
	if len(t.route.InitialMetadata) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, metadata.New(t.route.InitialMetadata))
	}
	stream, err := t.e.client.Process(ctx)
	if err != nil {
		cancel()
		return err
	}
	t.e.stats.streamsStarted.Add(1)
	t.stream, t.cancel = stream, cancel
	t.recvCh = make(chan recvResult)
	t.done = make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			m, err := stream.Recv()
			select {
			case t.recvCh <- recvResult{m, err}:
			case <-t.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return nil
}

// call sends one message and waits for its reply under the message timer.
func (t *txn) call(req *extprocv3.ProcessingRequest, phase string) callResult {
	if t.complete {
		return callResult{kind: callSkip}
	}
	if t.stream == nil {
		if err := t.open(); err != nil {
			return t.grpcFailure(err)
		}
	}
	if !t.sentFirst {
		// protocol_config rides on the first message of the stream (per Envoy
		// source ext_proc.cc, "protocol_config_encoded_", not run).
		req.ProtocolConfig = &extprocv3.ProtocolConfiguration{ // the configured modes, before any override
			RequestBodyMode:  extprocfilterv3.ProcessingMode_BUFFERED,
			ResponseBodyMode: extprocfilterv3.ProcessingMode_BUFFERED,
		}
		t.sentFirst = true
	}
	// The timer starts when the message is handed to the stream: Envoy's
	// sends are asynchronous, while grpc-go's Send can block once the
	// stream's write quota is used up, so Send runs under the timer too.
	timer := time.NewTimer(t.e.cfg.MessageTimeout)
	defer timer.Stop()
	sent := make(chan error, 1)
	go func() { sent <- t.stream.Send(req) }()
	select {
	case err := <-sent:
		// A failed Send surfaces its real status through Recv (grpc-go
		// returns io.EOF from Send once the stream has ended).
		if err != nil && !errors.Is(err, io.EOF) {
			return t.grpcFailure(err)
		}
	case <-timer.C:
		t.cancel()
		<-sent
		t.e.stats.messageTimeouts.Add(1)
		t.complete = true
		t.rec.Messages = append(t.rec.Messages, phase)
		return callResult{kind: callLocal, local: t.errorReply(http.StatusGatewayTimeout, DetailsMessageTimeout)}
	case <-t.dctx.Done():
		t.cancel()
		<-sent
		t.complete = true
		t.rec.Outcome = OutcomeDownstreamReset
		return callResult{kind: callAbort}
	}
	t.e.stats.msgsSent.Add(1)
	t.rec.Messages = append(t.rec.Messages, phase)

	for {
		select {
		case rr := <-t.recvCh:
			if rr.err != nil {
				t.streamEnded = true
				t.complete = true
				if errors.Is(rr.err, io.EOF) {
					// A clean close means "stop consulting me": Envoy continues
					// unprocessed whatever failure_mode_allow says (per Envoy
					// source ext_proc.cc onGrpcClose, not run).
					t.e.stats.failOpen.Add(1)
					t.rec.FailOpen = true
					t.rec.FailOpenPhase = phase
					return callResult{kind: callSkip}
				}
				return t.grpcFailure(rr.err)
			}
			m := rr.msg
			t.replied = true
			if m.GetOverrideMessageTimeout() != nil {
				// max_message_timeout is 0, so the request is ignored and the
				// timer keeps running (per Envoy source ext_proc.cc
				// onNewTimeout, stat override_message_timeout_ignored, not run).
				t.e.stats.overrideMessageTimeoutIgnored.Add(1)
				continue
			}
			t.recordMetadata(m, phase)
			if cr, ok := matches(m, phase); ok {
				t.e.stats.msgsReceived.Add(1)
				return callResult{kind: callMatched, common: cr, override: m.GetModeOverride()}
			}
			if ir := m.GetImmediateResponse(); ir != nil {
				t.e.stats.msgsReceived.Add(1)
				t.e.stats.immediateResponses.Add(1)
				t.complete = true
				return callResult{kind: callImmediate, immediate: ir}
			}
			// Wrong oneof for this state, or none: spurious. With
			// ext_proc_fail_close_spurious_resp (envoy PR #39994) that fails
			// closed with status_on_error; older Envoy ignored the message.
			t.e.stats.spuriousMsgsReceived.Add(1)
			t.complete = true
			return callResult{kind: callLocal, local: t.errorReply(t.e.cfg.StatusOnError, DetailsSpurious)}
		case <-timer.C:
			// Hard-coded 504, not status_on_error (per Envoy source ext_proc.cc
			// onMessageTimeout, envoy PR #34856, not run).
			t.e.stats.messageTimeouts.Add(1)
			t.complete = true
			return callResult{kind: callLocal, local: t.errorReply(http.StatusGatewayTimeout, DetailsMessageTimeout)}
		case <-t.dctx.Done():
			t.complete = true
			t.rec.Outcome = OutcomeDownstreamReset
			return callResult{kind: callAbort}
		}
	}
}

// matches reports whether m answers the message of the given phase, and
// returns its CommonResponse (nil means CONTINUE with no mutation).
func matches(m *extprocv3.ProcessingResponse, phase string) (*extprocv3.CommonResponse, bool) {
	switch r := m.GetResponse().(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		return r.RequestHeaders.GetResponse(), phase == "request_headers"
	case *extprocv3.ProcessingResponse_RequestBody:
		return r.RequestBody.GetResponse(), phase == "request_body"
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		return r.ResponseHeaders.GetResponse(), phase == "response_headers"
	case *extprocv3.ProcessingResponse_ResponseBody:
		return r.ResponseBody.GetResponse(), phase == "response_body"
	}
	return nil, false
}

// grpcFailure: a stream that cannot open or ends with a non-OK status fails
// closed with status_on_error (per Envoy source ext_proc.cc onGrpcError, not run).
func (t *txn) grpcFailure(err error) callResult {
	t.e.stats.streamsFailed.Add(1)
	t.complete = true
	st := status.Convert(err)
	if st.Code() == codes.Canceled && t.dctx.Err() != nil {
		t.rec.Outcome = OutcomeDownstreamReset
		return callResult{kind: callAbort}
	}
	code, msg := st.Code(), st.Message()
	if code == codes.Unavailable && t.replied && isTransportReset(msg) {
		// Envoy's gRPC client reports a connection lost after the server's
		// response started as INTERNAL with the stream-reset reason (seen on
		// Envoy 1.40, TestFactSideStreamFailsMidBody); grpc-go says
		// UNAVAILABLE. Before any reply both say UNAVAILABLE.
		code, msg = codes.Internal, "upstream_reset_after_response_started{connection_termination}"
	} else if !isTransportReset(msg) && !strings.HasPrefix(msg, "connection error") {
		// A status the server sent: Envoy appends where it came from.
		msg += "{via_upstream}"
	}
	t.rec.GRPCStatus = code.String()
	details := fmt.Sprintf("ext_proc_error_gRPC_error_%d{%s}", int(code), msg)
	return callResult{kind: callLocal, local: t.errorReply(t.e.cfg.StatusOnError, details)}
}

// isTransportReset reports whether a grpc-go UNAVAILABLE message is the
// connection going away rather than a status the server sent.
func isTransportReset(msg string) bool {
	for _, m := range []string{"error reading from server", "connection reset", "transport is closing", "EOF"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// recordMetadata keeps dynamic_metadata namespaces listed in
// receiving_namespaces, merging keys into earlier values (per Envoy source
// ext_proc.cc setDynamicMetadata, not run). Other namespaces are dropped.
func (t *txn) recordMetadata(m *extprocv3.ProcessingResponse, phase string) {
	dm := m.GetDynamicMetadata()
	if dm == nil {
		return
	}
	for ns, v := range dm.GetFields() {
		allowed := false
		for _, a := range t.e.cfg.ReceivingNamespaces {
			allowed = allowed || a == ns
		}
		sv := v.GetStructValue()
		if !allowed || sv == nil {
			t.e.stats.droppedMetadataNamespaces.Add(1)
			continue
		}
		if t.rec.DynamicMetadata == nil {
			t.rec.DynamicMetadata = map[string]map[string]any{}
		}
		if t.rec.DynamicMetadata[ns] == nil {
			t.rec.DynamicMetadata[ns] = map[string]any{}
		}
		values := sv.AsMap()
		for k, fv := range values {
			t.rec.DynamicMetadata[ns][k] = fv
		}
		t.rec.MetadataUpdates = append(t.rec.MetadataUpdates, MetadataUpdate{Phase: phase, Namespace: ns, Values: values})
	}
}

// finish closes the stream. After a normal end Envoy half-closes and gives
// the server a short while to finish (runtime flag
// ext_proc_graceful_grpc_close); on errors it resets the stream.
func (t *txn) finish(graceful bool) {
	if t.stream == nil {
		return
	}
	if graceful && !t.streamEnded {
		_ = t.stream.CloseSend()
		timer := time.NewTimer(t.e.cfg.GracefulCloseTimeout)
	wait:
		for {
			select {
			case rr := <-t.recvCh:
				if rr.err != nil {
					break wait
				}
				// A message after processing completed is ignored.
			case <-timer.C:
				break wait
			}
		}
		timer.Stop()
	}
	close(t.done)
	t.cancel()
	t.wg.Wait()
}
