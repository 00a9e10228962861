//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llm-firewall/llm-firewall/e2e/internal/envoyemu"
)

// envoyBinary is the pinned real Envoy the Makefile installs (LLMFW_ENVOY).
// A missing Envoy fails the suite: the scenarios are not proven without it.
func envoyBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("LLMFW_ENVOY")
	if p == "" {
		t.Fatal("LLMFW_ENVOY is not set: run the e2e suite with `make e2e` (or `make test`), which installs the pinned Envoy from .envoy-version into bin/tools/ and sets it")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("LLMFW_ENVOY=%s: %v (run `make tools`)", p, err)
	}
	pin, err := os.ReadFile("../.envoy-version")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := envoyVersion(t, p), strings.TrimSpace(string(pin)); got != want {
		t.Fatalf("LLMFW_ENVOY=%s is Envoy %s, but .envoy-version pins %s (run `make tools`)", p, got, want)
	}
	return p
}

var (
	envoyVersionOnce sync.Once
	envoyVersionText string
	envoyVersionRE   = regexp.MustCompile(`/(\d+\.\d+\.\d+)/`)
)

// envoyVersion is the version the binary reports ("1.40.0").
func envoyVersion(t testing.TB, bin string) string {
	envoyVersionOnce.Do(func() {
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if m := envoyVersionRE.FindStringSubmatch(string(out)); err == nil && m != nil {
			envoyVersionText = m[1]
		}
	})
	if envoyVersionText == "" {
		t.Fatalf("%s --version: no version found", bin)
	}
	return envoyVersionText
}

// accessLogFormat is the JSON access log the real-Envoy front reads its
// records from: one line per transaction, written when it ends.
var accessLogFormat = map[string]any{
	"id":       "%REQ(X-REQUEST-ID)%",
	"route":    "%ROUTE_NAME%",
	"status":   "%RESPONSE_CODE%",
	"details":  "%RESPONSE_CODE_DETAILS%",
	"flags":    "%RESPONSE_FLAGS%",
	"upstream": "%UPSTREAM_HOST%",
	"llmfw":    "%DYNAMIC_METADATA(llmfw)%",
	"extproc":  "%FILTER_STATE(envoy.filters.http.ext_proc:TYPED)%",
}

// envoyBootstrapFor is the real-Envoy twin of an envoyemu.Config: the same
// routes (name, prefix, per-route gRPC initial metadata), message timeout,
// status_on_error, receiving namespaces and admitted mode override, in front
// of upstreamAddr, with ext_proc to extProcAddr.
func envoyBootstrapFor(t testing.TB, cfg envoyemu.Config, admin, listener int, accessLog string) []byte {
	t.Helper()
	b, err := json.MarshalIndent(envoyBootstrapMap(t, cfg, admin, listener, accessLog), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envoyBootstrapMap is envoyBootstrapFor before encoding, for tests that
// change one Envoy setting the emulator has no knob for.
func envoyBootstrapMap(t testing.TB, cfg envoyemu.Config, admin, listener int, accessLog string) map[string]any {
	t.Helper()
	if cfg.MessageTimeout == 0 {
		cfg.MessageTimeout = 2 * time.Second
	}
	if cfg.StatusOnError == 0 {
		cfg.StatusOnError = http.StatusInternalServerError
	}
	if cfg.ReceivingNamespaces == nil {
		cfg.ReceivingNamespaces = []string{"llmfw"}
	}
	if len(cfg.Routes) == 0 {
		cfg.Routes = []envoyemu.Route{{Name: "default"}}
	}
	upstream := strings.TrimPrefix(cfg.UpstreamURL, "http://")
	var routes []any
	for _, r := range cfg.Routes {
		prefix := r.PathPrefix
		if prefix == "" {
			prefix = "/"
		}
		route := map[string]any{
			"name":  r.Name,
			"match": map[string]any{"prefix": prefix},
			"route": map[string]any{"cluster": "llm", "timeout": "60s"},
		}
		if len(r.InitialMetadata) > 0 {
			var md []any
			for k, v := range r.InitialMetadata {
				md = append(md, map[string]any{"key": k, "value": v})
			}
			route["typed_per_filter_config"] = map[string]any{
				"envoy.filters.http.ext_proc": map[string]any{
					"@type":     "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute",
					"overrides": map[string]any{"grpc_initial_metadata": md},
				},
			}
		}
		routes = append(routes, route)
	}
	mode := map[string]any{
		"request_header_mode":   "SEND",
		"request_body_mode":     "BUFFERED",
		"response_header_mode":  "SEND",
		"response_body_mode":    "BUFFERED",
		"request_trailer_mode":  "SKIP",
		"response_trailer_mode": "SKIP",
	}
	extproc := map[string]any{
		"@type":              "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
		"grpc_service":       map[string]any{"envoy_grpc": map[string]any{"cluster_name": "llmfw"}},
		"failure_mode_allow": false,
		"message_timeout":    durationJSON(cfg.MessageTimeout),
		"status_on_error":    map[string]any{"code": cfg.StatusOnError},
		"processing_mode":    mode,
		"request_attributes": []any{"xds.route_name"},
		"metadata_options": map[string]any{
			"receiving_namespaces": map[string]any{"untyped": cfg.ReceivingNamespaces},
		},
	}
	if cfg.AllowModeOverride {
		streamed := map[string]any{}
		for k, v := range mode {
			streamed[k] = v
		}
		streamed["response_body_mode"] = "STREAMED"
		extproc["allow_mode_override"] = true
		extproc["allowed_override_modes"] = []any{streamed}
	}
	bs := map[string]any{
		"admin": map[string]any{"address": socketAddress(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(admin)))},
		"static_resources": map[string]any{
			"listeners": []any{map[string]any{
				"name":    "main",
				"address": socketAddress(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(listener))),
				// Room for the bodies the suite sends (2 MiB prompts, a
				// 32 MiB gzip bomb is small on the wire); beyond it Envoy
				// answers 413 itself.
				"per_connection_buffer_limit_bytes": 8 << 20,
				"filter_chains": []any{map[string]any{"filters": []any{map[string]any{
					"name": "envoy.filters.network.http_connection_manager",
					"typed_config": map[string]any{
						"@type":                             "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
						"stat_prefix":                       "ingress",
						"always_set_request_id_in_response": true,
						"access_log": []any{map[string]any{
							"name": "envoy.access_loggers.file",
							"typed_config": map[string]any{
								"@type":      "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
								"path":       accessLog,
								"log_format": map[string]any{"json_format": accessLogFormat},
							},
						}},
						"route_config": map[string]any{
							"name": "local",
							"virtual_hosts": []any{map[string]any{
								"name": "all", "domains": []any{"*"}, "routes": routes,
							}},
						},
						"http_filters": []any{
							map[string]any{"name": "envoy.filters.http.ext_proc", "typed_config": extproc},
							map[string]any{
								"name":         "envoy.filters.http.router",
								"typed_config": map[string]any{"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
							},
						},
					},
				}}}},
			}},
			"clusters": []any{
				staticCluster(t, "llmfw", cfg.ExtProcAddr, true),
				staticCluster(t, "llm", upstream, false),
			},
		},
	}
	return bs
}

// Parts of an envoyBootstrapMap result, for tweaks.
func bootstrapListener(bs map[string]any) map[string]any {
	return bs["static_resources"].(map[string]any)["listeners"].([]any)[0].(map[string]any)
}

func bootstrapExtProc(bs map[string]any) map[string]any {
	l := bootstrapListener(bs)
	hcm := l["filter_chains"].([]any)[0].(map[string]any)["filters"].([]any)[0].(map[string]any)["typed_config"].(map[string]any)
	return hcm["http_filters"].([]any)[0].(map[string]any)["typed_config"].(map[string]any)
}

// startEnvoyTweaked is startEnvoy with tweak applied to the bootstrap.
func startEnvoyTweaked(t testing.TB, cfg envoyemu.Config, tweak func(bs map[string]any)) *realEnvoy {
	t.Helper()
	return startEnvoyFrom(t, func(admin, listener int, accessLog string) []byte {
		bs := envoyBootstrapMap(t, cfg, admin, listener, accessLog)
		tweak(bs)
		b, err := json.Marshal(bs)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func durationJSON(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// realEnvoy is one Envoy process in front of the firewall and the fake LLM.
type realEnvoy struct {
	t         testing.TB
	url       string
	adminURL  string
	accessLog string
	cmd       *exec.Cmd
	logs      *lockedBuffer
	exited    chan struct{}
	httpc     *http.Client
	// statPrefix is the HCM's stat_prefix, upstreams the clusters whose
	// requests count as upstream requests.
	statPrefix string
	upstreams  []string

	mu      sync.Mutex
	read    int64 // bytes of the access log parsed so far
	partial []byte
	records []envoyemu.Record
	byID    map[string]int
}

// startEnvoy runs the pinned Envoy with a bootstrap generated from cfg on
// free loopback ports and waits for it to be ready.
func startEnvoy(t testing.TB, cfg envoyemu.Config) *realEnvoy {
	t.Helper()
	return startEnvoyFrom(t, func(admin, listener int, accessLog string) []byte {
		return envoyBootstrapFor(t, cfg, admin, listener, accessLog)
	})
}

// startEnvoyFrom runs the pinned Envoy with the bootstrap build returns for
// the ports and access log it is given, retrying when a port was taken.
func startEnvoyFrom(t testing.TB, build func(admin, listener int, accessLog string) []byte) *realEnvoy {
	t.Helper()
	bin := envoyBinary(t)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		e, err := tryStartEnvoy(t, bin, build)
		if err == nil {
			return e
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") && !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("envoy did not start: %v", lastErr)
	return nil
}

// tryStartEnvoy starts Envoy with the bootstrap build returns for the ports
// and access log path it chose.
func tryStartEnvoy(t testing.TB, bin string, build func(admin, listener int, accessLog string) []byte) (*realEnvoy, error) {
	dir := t.TempDir()
	admin, listener := freePort(t), freePort(t)
	e := &realEnvoy{
		t:         t,
		url:       fmt.Sprintf("http://127.0.0.1:%d", listener),
		adminURL:  fmt.Sprintf("http://127.0.0.1:%d", admin),
		accessLog: filepath.Join(dir, "access.log"),
		logs:      &lockedBuffer{},
		exited:    make(chan struct{}),
		httpc:     &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}},
		byID:      map[string]int{},

		statPrefix: "ingress",
		upstreams:  []string{"llm"},
	}
	cfgPath := filepath.Join(dir, "envoy.json")
	if err := os.WriteFile(cfgPath, build(admin, listener, e.accessLog), 0o600); err != nil {
		return nil, err
	}
	// One worker thread: the suite runs many Envoys side by side on 2 cores.
	cmd := exec.Command(bin, "-c", cfgPath, "--disable-hot-restart", "--concurrency", "1",
		"-l", envoyLogLevel(), "--file-flush-interval-msec", "50", "--base-id-path", filepath.Join(dir, "base-id"))
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	e.cmd = cmd
	go func() { _ = cmd.Wait(); close(e.exited) }()
	t.Cleanup(e.stop)

	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := e.httpc.Get(e.adminURL + "/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		select {
		case <-e.exited:
			return nil, fmt.Errorf("envoy exited before ready:\n%s", e.logs)
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("envoy not ready within %v:\n%s", readyTimeout, e.logs)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

// stop ends Envoy and its process group and reports unexpected log lines.
func (e *realEnvoy) stop() {
	e.httpc.CloseIdleConnections()
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.exited
	}
	if e.t.Failed() {
		e.t.Logf("envoy log:\n%s", e.logs)
	}
}

func (e *realEnvoy) URL() string { return e.url }

func (e *realEnvoy) RequestID(resp *http.Response) string { return resp.Header.Get("x-request-id") }

// accessEntry is one line of accessLogFormat.
type accessEntry struct {
	ID       string         `json:"id"`
	Route    string         `json:"route"`
	Status   any            `json:"status"`
	Details  string         `json:"details"`
	Flags    string         `json:"flags"`
	Upstream string         `json:"upstream"`
	LLMFW    map[string]any `json:"llmfw"`
	ExtProc  map[string]any `json:"extproc"`
}

// load parses the access log lines written since the last call.
func (e *realEnvoy) load() {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, err := os.Open(e.accessLog)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(e.read, io.SeekStart); err != nil {
		return
	}
	b, _ := io.ReadAll(f)
	e.read += int64(len(b))
	b = append(e.partial, b...)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	consumed := 0
	for sc.Scan() {
		line := sc.Bytes()
		if consumed+len(line) >= len(b) {
			break // no newline yet: keep for the next load
		}
		consumed += len(line) + 1
		var a accessEntry
		if err := json.Unmarshal(line, &a); err != nil {
			e.t.Errorf("envoy access log line %q: %v", line, err)
			continue
		}
		rec := a.record()
		e.byID[rec.ID] = len(e.records)
		e.records = append(e.records, rec)
	}
	e.partial = append([]byte(nil), b[consumed:]...)
}

// phases in ext_proc order, with the ExtProcLoggingInfo field prefix of each.
var extProcPhases = []struct{ name, field string }{
	{"request_headers", "request_header"},
	{"request_body", "request_body"},
	{"response_headers", "response_header"},
	{"response_body", "response_body"},
}

func (a accessEntry) record() envoyemu.Record {
	status := 0
	switch v := a.Status.(type) {
	case float64:
		status = int(v)
	case string:
		status, _ = strconv.Atoi(v)
	}
	rec := envoyemu.Record{
		ID: a.ID, Route: a.Route, Status: status, Details: a.Details,
		UpstreamCalled: a.Upstream != "" && a.Upstream != "-",
	}
	if a.LLMFW != nil {
		rec.DynamicMetadata = map[string]map[string]any{"llmfw": a.LLMFW}
	}
	for _, p := range extProcPhases {
		n := 0
		switch v := a.ExtProc[p.field+"_call_count"].(type) {
		case float64:
			n = int(v)
		}
		if _, ok := a.ExtProc[p.field+"_latency_us"]; ok && n == 0 {
			n = 1
		}
		for range n {
			rec.Messages = append(rec.Messages, p.name)
		}
		if n > 0 {
			rec.Phase = p.name
		}
		if p.name == "response_body" && n > 1 {
			rec.Streamed = true
		}
	}
	seen := map[string]bool{}
	for _, m := range rec.Messages {
		seen[m] = true
	}
	// A transaction forwarded without every phase reaching the firewall
	// went on unprocessed: Envoy failed open (failure_mode_allow) or the
	// server closed its stream cleanly too early.
	failedOpen, _ := a.ExtProc["failed_open"].(bool)
	switch {
	case strings.HasPrefix(a.Details, "llmfw_"):
		rec.Outcome = envoyemu.OutcomeImmediateResponse
	case strings.HasPrefix(a.Details, "ext_proc_error"), strings.Contains(a.Details, "ext_proc"):
		rec.Outcome = envoyemu.OutcomeLocalReplyError
	case a.Details == "via_upstream":
		rec.Outcome = envoyemu.OutcomeForwarded
	case strings.Contains(a.Flags, "DC"):
		rec.Outcome = envoyemu.OutcomeDownstreamReset
	case strings.Contains(a.Flags, "UR"), strings.Contains(a.Details, "reset"):
		rec.Outcome = envoyemu.OutcomeStreamReset
	default:
		rec.Outcome = envoyemu.Outcome("envoy:" + a.Details)
	}
	if rec.Outcome == envoyemu.OutcomeForwarded && len(seen) < len(extProcPhases) || failedOpen {
		rec.FailOpen = true
		for _, p := range extProcPhases {
			if !seen[p.name] {
				rec.FailOpenPhase = p.name
				break
			}
		}
	}
	return rec
}

// Record waits (briefly) for the access log line of the transaction id.
func (e *realEnvoy) Record(id string) (envoyemu.Record, bool) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.load()
		e.mu.Lock()
		i, ok := e.byID[id]
		var rec envoyemu.Record
		if ok {
			rec = e.records[i]
		}
		e.mu.Unlock()
		if ok || time.Now().After(deadline) {
			return rec, ok
		}
		time.Sleep(20 * time.Millisecond) // access log flush interval is 50ms
	}
}

// Records returns what the access log holds once it has settled.
func (e *realEnvoy) Records() []envoyemu.Record {
	e.settle()
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]envoyemu.Record(nil), e.records...)
}

// LastRecord is the last transaction logged, after the log settled.
func (e *realEnvoy) LastRecord() (envoyemu.Record, bool) {
	recs := e.Records()
	if len(recs) == 0 {
		return envoyemu.Record{}, false
	}
	return recs[len(recs)-1], true
}

// settle waits until the number of logged transactions matches Envoy's
// downstream request counter (a request is logged when it ends).
func (e *realEnvoy) settle() {
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.load()
		st := e.rawStats()
		e.mu.Lock()
		n := len(e.records)
		e.mu.Unlock()
		if int64(n) >= st["http."+e.statPrefix+".downstream_rq_completed"] || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rawStats reads Envoy's counters from the admin endpoint.
func (e *realEnvoy) rawStats() map[string]int64 {
	resp, err := e.httpc.Get(e.adminURL + "/stats?format=json")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Stats []struct {
			Name  string `json:"name"`
			Value *int64 `json:"value"`
		} `json:"stats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil
	}
	out := map[string]int64{}
	for _, s := range body.Stats {
		if s.Value != nil {
			out[s.Name] = *s.Value
		}
	}
	return out
}

// Stats maps Envoy's ext_proc counters onto the emulator's.
func (e *realEnvoy) Stats() envoyemu.Stats {
	e.settle()
	s := e.rawStats()
	p := "http." + e.statPrefix + ".ext_proc."
	var upstream int64
	for _, c := range e.upstreams {
		upstream += s["cluster."+c+".upstream_rq_total"]
	}
	st := envoyemu.Stats{
		Requests:                      s["http."+e.statPrefix+".downstream_rq_total"],
		StreamsStarted:                s[p+"streams_started"],
		MsgsSent:                      s[p+"stream_msgs_sent"],
		MsgsReceived:                  s[p+"stream_msgs_received"],
		SpuriousMsgsReceived:          s[p+"spurious_msgs_received"],
		StreamsFailed:                 s[p+"streams_failed"],
		MessageTimeouts:               s[p+"message_timeouts"],
		RejectedHeaderMutations:       s[p+"rejected_header_mutations"],
		OverrideMessageTimeoutIgnored: s[p+"override_message_timeout_ignored"],
		UpstreamRequests:              upstream,
		FailOpen:                      s[p+"failure_mode_allowed"],
	}
	e.mu.Lock()
	for _, r := range e.records {
		if r.FailOpen {
			st.FailOpen++
		}
	}
	e.mu.Unlock()
	return st
}

// RawStats exposes every Envoy counter for the Envoy-only assertions.
func (e *realEnvoy) RawStats() map[string]int64 { return e.rawStats() }

func (e *realEnvoy) Close() error { return nil }

// envoyLogLevel is Envoy's log level; LLMFW_E2E_ENVOY_LOG=debug shows every
// ext_proc decision Envoy takes (printed for failed tests).
func envoyLogLevel() string {
	if v := os.Getenv("LLMFW_E2E_ENVOY_LOG"); v != "" {
		return v
	}
	return "warning"
}
