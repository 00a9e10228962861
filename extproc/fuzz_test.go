package extproc_test

import (
	"context"
	"encoding/json"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/extproc"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// recordingStream is memStream that keeps the replies.
type recordingStream struct {
	memStream
	replies []*extprocv3.ProcessingResponse
}

func (r *recordingStream) Send(resp *extprocv3.ProcessingResponse) error {
	r.replies = append(r.replies, resp)
	return nil
}

// FuzzRequestBody feeds arbitrary bodies through a whole transaction. Every
// message gets exactly one reply; a body is only let through (CONTINUE) when
// it is valid JSON — malformed input on an LLM route never passes.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{
		string(chat("hello")), `{"messages":[{"role":"user","content":"\ud800"}]}`, `[`, ``, `{"model":"x","messages":[]} x`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, "\x1f\x8b\x08\x00",
		`{"messages":[{"role":"user","content":"a","content":"BLOCKME"}]}`,
	} {
		f.Add([]byte(s), false)
	}
	ps, err := pipeline.ParsePolicySet([]byte(testPolicy), "test")
	if err != nil {
		f.Fatal(err)
	}
	srv := extproc.NewServer(extproc.Config{}, pipeline.NewEngine(all.EngineOptions()...), nil, nil)
	srv.SetPolicies(ps)
	f.Fuzz(func(t *testing.T, body []byte, gzipped bool) {
		hdrs := reqHeaders(chatPath, false)
		msgs := []*extprocv3.ProcessingRequest{hdrs, reqBody(body, true)}
		if gzipped {
			msgs[0] = reqHeaders(chatPath, false, "content-encoding", "gzip")
		}
		rs := &recordingStream{memStream: memStream{ctx: context.Background(), in: msgs}}
		if err := srv.Process(rs); err != nil {
			t.Fatalf("Process: %v", err)
		}
		if len(rs.replies) != 2 {
			t.Fatalf("%d replies to 2 messages", len(rs.replies))
		}
		if rs.replies[0].GetRequestHeaders() == nil {
			t.Fatalf("headers answered with %T", rs.replies[0].Response)
		}
		r := rs.replies[1]
		switch {
		case r.GetImmediateResponse() != nil:
			if r.GetImmediateResponse().GetStatus().GetCode() < 400 {
				t.Fatal("a refusal without an error status")
			}
		case r.GetRequestBody() != nil:
			if !gzipped && !json.Valid(body) {
				t.Fatalf("invalid JSON let through: %q", body)
			}
		default:
			t.Fatalf("body answered with %T", r.Response)
		}
	})
}
