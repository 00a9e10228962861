//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/llm-firewall/llm-firewall/e2e/internal/envoyemu"
	"github.com/llm-firewall/llm-firewall/e2e/internal/fakellm"
)

const (
	readyTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
)

// lockedBuffer collects a process's output from its copy goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// firewall is one running `llm-firewall serve` process.
type firewall struct {
	GRPCAddr, AdminAddr string
	cmd                 *exec.Cmd
	stderr              *lockedBuffer
	exited              chan struct{}
	waitErr             error
	stopOnce            sync.Once
	stopErr             error
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startFirewall runs the binary with env on fresh loopback ports, waits for
// /readyz, and stops it (asserting a clean exit) when the test ends.
func startFirewall(t testing.TB, env map[string]string) *firewall {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		fw, err := tryStart(t, env)
		if err == nil {
			t.Cleanup(func() {
				if err := fw.stop(); err != nil {
					t.Errorf("firewall shutdown: %v\nstderr:\n%s", err, fw.stderr)
				}
			})
			return fw
		}
		lastErr = err
		// A port picked by freeAddr can be taken before the binary binds it.
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("firewall did not become ready: %v", lastErr)
	return nil
}

func tryStart(t testing.TB, env map[string]string) (*firewall, error) {
	fw := &firewall{GRPCAddr: freeAddr(t), AdminAddr: freeAddr(t), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command(binPath, "serve")
	cmd.Env = append(os.Environ(),
		"LLMFW_GRPC_ADDR="+fw.GRPCAddr,
		"LLMFW_ADMIN_ADDR="+fw.AdminAddr,
		"LLMFW_LOG_FORMAT=json",
	)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout = fw.stderr
	cmd.Stderr = fw.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binPath, err)
	}
	fw.cmd = cmd
	go func() {
		fw.waitErr = cmd.Wait()
		close(fw.exited)
	}()

	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-fw.exited:
			return nil, fmt.Errorf("process exited before ready (%v)\nstderr:\n%s", fw.waitErr, fw.stderr)
		default:
		}
		resp, err := client.Get("http://" + fw.AdminAddr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return fw, nil
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-fw.exited
			return nil, fmt.Errorf("GET /readyz not 200 within %v (last error %v)\nstderr:\n%s", readyTimeout, err, fw.stderr)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// stop sends SIGTERM and requires exit code 0 within stopTimeout.
func (fw *firewall) stop() error {
	fw.stopOnce.Do(func() {
		select {
		case <-fw.exited:
			fw.stopErr = fmt.Errorf("process had already exited: %v", fw.waitErr)
			return
		default:
		}
		start := time.Now()
		if err := fw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			fw.stopErr = fmt.Errorf("SIGTERM: %w", err)
			return
		}
		select {
		case <-fw.exited:
		case <-time.After(stopTimeout):
			_ = fw.cmd.Process.Kill()
			<-fw.exited
			fw.stopErr = fmt.Errorf("no exit within %v of SIGTERM (killed)", stopTimeout)
			return
		}
		if fw.waitErr != nil {
			fw.stopErr = fmt.Errorf("exit after SIGTERM: %v (after %v)", fw.waitErr, time.Since(start))
			return
		}
		if code := fw.cmd.ProcessState.ExitCode(); code != 0 {
			fw.stopErr = fmt.Errorf("exit code %d", code)
		}
	})
	return fw.stopErr
}

// frontKind names the proxy in front of the firewall: the emulator or the
// pinned real Envoy. Every scenario runs through both; where they differ,
// Envoy is right.
type frontKind string

const (
	viaEmulator frontKind = "envoyemu"
	viaEnvoy    frontKind = "envoy"
)

var fronts = []frontKind{viaEmulator, viaEnvoy}

// eachFront runs body once per front, as parallel subtests named after it.
func eachFront(t *testing.T, body func(t *testing.T, f frontKind)) {
	t.Helper()
	for _, f := range fronts {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			body(t, f)
		})
	}
}

// front is what a scenario observes of the proxy: where to send requests,
// and its record of each transaction and its ext_proc counters (the
// emulator's own, or real Envoy's access log and admin stats).
type front interface {
	URL() string
	RequestID(resp *http.Response) string
	Record(id string) (envoyemu.Record, bool)
	Records() []envoyemu.Record
	LastRecord() (envoyemu.Record, bool)
	Stats() envoyemu.Stats
}

// emuFront adapts envoyemu.Server to front.
type emuFront struct{ *envoyemu.Server }

func (e emuFront) URL() string { return e.Server.URL }
func (e emuFront) RequestID(resp *http.Response) string {
	return resp.Header.Get(envoyemu.HeaderRequestID)
}

// stack is one firewall with a proxy (emulated or real Envoy) in front and a
// fake LLM behind.
type stack struct {
	kind  frontKind
	fw    *firewall
	llm   *fakellm.Server
	front front
	url   string       // the proxy's base URL
	http  *http.Client // for raw requests and the SDKs; idle connections closed at cleanup
}

// newStack starts a firewall (with extra env) behind a fresh proxy of kind;
// opts adjust the proxy's configuration (the emulator's, which the real
// Envoy's bootstrap is generated from).
func newStack(t testing.TB, kind frontKind, env map[string]string, opts ...func(*envoyemu.Config)) *stack {
	t.Helper()
	fw := startFirewall(t, env)
	return newStackFor(t, kind, fw, opts...)
}

// newStackFor puts a fresh proxy and fake upstream in front of fw.
func newStackFor(t testing.TB, kind frontKind, fw *firewall, opts ...func(*envoyemu.Config)) *stack {
	t.Helper()
	llm := fakellm.New()
	t.Cleanup(llm.Close)
	cfg := envoyemu.Config{
		ExtProcAddr:    fw.GRPCAddr,
		UpstreamURL:    llm.URL,
		MessageTimeout: 2 * time.Second,
		Routes:         []envoyemu.Route{{PathPrefix: "/v1/", Name: "llm-api"}, {Name: "other"}},
		TestMode:       true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	var f front
	switch kind {
	case viaEmulator:
		emu, err := envoyemu.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := emu.Close(); err != nil {
				t.Errorf("close emulator: %v", err)
			}
		})
		f = emuFront{emu}
	case viaEnvoy:
		f = startEnvoy(t, cfg)
	default:
		t.Fatalf("unknown front %q", kind)
	}
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	return &stack{kind: kind, fw: fw, llm: llm, front: f, url: f.URL(), http: hc}
}

func (s *stack) openai() openai.Client {
	return openai.NewClient(
		ooption.WithBaseURL(s.url+"/v1/"),
		ooption.WithAPIKey("test"),
		ooption.WithMaxRetries(0),
		ooption.WithHTTPClient(s.http),
	)
}

func (s *stack) anthropic() anthropic.Client {
	return anthropic.NewClient(
		aoption.WithoutEnvironmentDefaults(), // no ANTHROPIC_* or profile files from the host
		aoption.WithBaseURL(s.url+"/"),
		aoption.WithAPIKey("test"),
		aoption.WithMaxRetries(0),
		aoption.WithHTTPClient(s.http),
	)
}

// post sends a raw request through the emulator.
func (s *stack) post(t testing.TB, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
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

// record returns the proxy's record of the transaction behind resp.
func (s *stack) record(t testing.TB, resp *http.Response) envoyemu.Record {
	t.Helper()
	if resp == nil {
		t.Fatal("no HTTP response captured")
	}
	id := s.front.RequestID(resp)
	rec, ok := s.front.Record(id)
	if !ok {
		t.Fatalf("%s has no record of request %q", s.kind, id)
	}
	return rec
}

// assertNoFailOpen: the firewall never ended a stream with OK before its
// last reply (Envoy would then pass the traffic unscanned).
func (s *stack) assertNoFailOpen(t testing.TB) {
	t.Helper()
	if st := s.front.Stats(); st.FailOpen != 0 || st.SpuriousMsgsReceived != 0 {
		t.Errorf("%s stats: FailOpen=%d Spurious=%d, want 0 (stats %+v)", s.kind, st.FailOpen, st.SpuriousMsgsReceived, st)
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// asStatus extracts the HTTP status of an SDK error.
func openAIStatus(t testing.TB, err error) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want *openai.Error, got %T: %v", err, err)
	}
	return apiErr
}

func anthropicStatus(t testing.TB, err error) *anthropic.Error {
	t.Helper()
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want *anthropic.Error, got %T: %v", err, err)
	}
	return apiErr
}
