//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	// Register the typed_config types the bootstrap uses, for validation.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

type bootstrapPorts struct {
	Admin, Listener int
	FirewallAddr    string // host:port of the firewall's gRPC listener
	UpstreamAddr    string // host:port of the fake LLM
	AccessLog       string
}

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, n
}

func socketAddress(t *testing.T, addr string) map[string]any {
	h, p := hostPort(t, addr)
	return map[string]any{"socket_address": map[string]any{"address": h, "port_value": p}}
}

func staticCluster(t *testing.T, name, addr string, http2 bool) map[string]any {
	c := map[string]any{
		"name":            name,
		"type":            "STATIC",
		"connect_timeout": "1s",
		"load_assignment": map[string]any{
			"cluster_name": name,
			"endpoints": []any{map[string]any{"lb_endpoints": []any{
				map[string]any{"endpoint": map[string]any{"address": socketAddress(t, addr)}},
			}}},
		},
	}
	if http2 {
		// ext_proc needs an HTTP/2 cluster (notes 1.12).
		c["typed_extension_protocol_options"] = map[string]any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": map[string]any{
				"@type":                "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
				"explicit_http_config": map[string]any{"http2_protocol_options": map[string]any{}},
			},
		}
	}
	return c
}

// envoyBootstrap is the real-Envoy twin of envoyemu's fixed configuration:
// listener → ext_proc (BUFFERED both ways, fail closed, 2s message timeout,
// xds.route_name attribute, llmfw receiving namespace) → router → fake LLM.
// Envoy accepts a JSON bootstrap, which needs no YAML library here.
func envoyBootstrap(t *testing.T, p bootstrapPorts) []byte {
	t.Helper()
	cfg := map[string]any{
		"admin": map[string]any{"address": socketAddress(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Admin)))},
		"static_resources": map[string]any{
			"listeners": []any{map[string]any{
				"name":    "main",
				"address": socketAddress(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Listener))),
				// Room for the bodies the suite sends; beyond it Envoy answers 413 itself.
				"per_connection_buffer_limit_bytes": 8 << 20,
				"filter_chains": []any{map[string]any{"filters": []any{map[string]any{
					"name": "envoy.filters.network.http_connection_manager",
					"typed_config": map[string]any{
						"@type":       "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
						"stat_prefix": "ingress",
						"access_log": []any{map[string]any{
							"name": "envoy.access_loggers.file",
							"typed_config": map[string]any{
								"@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
								"path":  p.AccessLog,
								"log_format": map[string]any{
									"text_format_source": map[string]any{"inline_string": "%RESPONSE_CODE% %DYNAMIC_METADATA(llmfw:decision_id)% %RESPONSE_CODE_DETAILS%\n"},
								},
							},
						}},
						"route_config": map[string]any{
							"name": "local",
							"virtual_hosts": []any{map[string]any{
								"name":    "all",
								"domains": []any{"*"},
								"routes": []any{map[string]any{
									"name":  "llm-api",
									"match": map[string]any{"prefix": "/"},
									"route": map[string]any{"cluster": "llm", "timeout": "30s"},
								}},
							}},
						},
						"http_filters": []any{
							map[string]any{
								"name": "envoy.filters.http.ext_proc",
								"typed_config": map[string]any{
									"@type":              "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
									"grpc_service":       map[string]any{"envoy_grpc": map[string]any{"cluster_name": "llmfw"}},
									"failure_mode_allow": false,
									"message_timeout":    "2s",
									"processing_mode": map[string]any{
										"request_header_mode":   "SEND",
										"request_body_mode":     "BUFFERED",
										"response_header_mode":  "SEND",
										"response_body_mode":    "BUFFERED",
										"request_trailer_mode":  "SKIP",
										"response_trailer_mode": "SKIP",
									},
									"request_attributes": []any{"xds.route_name"},
									"metadata_options": map[string]any{
										"receiving_namespaces": map[string]any{"untyped": []any{"llmfw"}},
									},
								},
							},
							map[string]any{
								"name":         "envoy.filters.http.router",
								"typed_config": map[string]any{"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
							},
						},
					},
				}}}},
			}},
			"clusters": []any{
				staticCluster(t, "llmfw", p.FirewallAddr, true),
				staticCluster(t, "llm", p.UpstreamAddr, false),
			},
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validateAll runs protoc-gen-validate rules on m and on every Any inside it
// (ValidateAll itself does not open Any fields).
func validateAll(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("%s: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
	}
	var err error
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		check := func(msg protoreflect.Message) bool {
			inner := msg.Interface()
			if a, ok := inner.(*anypb.Any); ok {
				un, uerr := a.UnmarshalNew()
				if uerr != nil {
					err = fmt.Errorf("any %s: %w", a.GetTypeUrl(), uerr)
					return false
				}
				inner = un
			}
			if e := validateAll(inner); e != nil {
				err = e
				return false
			}
			return true
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				if !check(l.Get(i).Message()) {
					return false
				}
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool { return check(mv.Message()) })
			}
		default:
			return check(v.Message())
		}
		return err == nil
	})
	return err
}

// The bootstrap is checked against go-control-plane's types and validation
// rules even where Envoy cannot run, so the real-Envoy test is not dead code.
func TestEnvoyBootstrapIsValid(t *testing.T) {
	t.Parallel()
	b := envoyBootstrap(t, bootstrapPorts{Admin: 9901, Listener: 10000, FirewallAddr: "127.0.0.1:50051", UpstreamAddr: "127.0.0.1:8080", AccessLog: "/dev/null"})
	var bs bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(b, &bs); err != nil {
		t.Fatalf("bootstrap does not parse as envoy.config.bootstrap.v3.Bootstrap: %v\n%s", err, b)
	}
	if err := validateAll(&bs); err != nil {
		t.Fatalf("bootstrap fails validation: %v", err)
	}
}

func freePort(t *testing.T) int {
	_, p := hostPort(t, freeAddr(t))
	return p
}

// Test 10.
func TestRealEnvoyOpenAIChat(t *testing.T) {
	envoyBin, err := exec.LookPath("envoy")
	if err != nil {
		t.Skip("envoy not on PATH: real-Envoy e2e skipped; the emulator covers the protocol")
	}
	t.Parallel()
	s := newStack(t, nil) // firewall and fake LLM; the emulator stays unused
	dir := t.TempDir()
	p := bootstrapPorts{
		Admin: freePort(t), Listener: freePort(t),
		FirewallAddr: s.fw.GRPCAddr, UpstreamAddr: strings.TrimPrefix(s.llm.URL, "http://"),
		AccessLog: filepath.Join(dir, "access.log"),
	}
	cfgPath := filepath.Join(dir, "envoy.json")
	if err := os.WriteFile(cfgPath, envoyBootstrap(t, p), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cmd := exec.Command(envoyBin, "-c", cfgPath, "--disable-hot-restart", "-l", "warning", "--file-flush-interval-msec", "100")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	hc := s.http
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", p.Admin))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("envoy exited before ready:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("envoy not ready within %v:\n%s", readyTimeout, logs.String())
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}

	c := openai.NewClient(
		ooption.WithBaseURL(fmt.Sprintf("http://127.0.0.1:%d/v1/", p.Listener)),
		ooption.WithAPIKey("test"), ooption.WithMaxRetries(0), ooption.WithHTTPClient(hc))
	var httpResp *http.Response
	resp, err := c.Chat.Completions.New(testCtx(t), chatParams(prompt), ooption.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("chat completion through real Envoy: %v\nenvoy log:\n%s", err, logs.String())
	}
	if got := resp.Choices[0].Message.Content; got != "echo: "+prompt {
		t.Errorf("answer %q", got)
	}
	if httpResp.Header.Get("x-llmfw-decision") == "" {
		t.Errorf("no x-llmfw-decision header: %v", httpResp.Header)
	}
	if up, ok := s.llm.Last(); !ok || !bytes.Contains(up.Body, []byte(prompt)) {
		t.Error("upstream did not receive the prompt")
	}
	// The access log shows llmfw:decision_id once Envoy flushes it.
	deadline = time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(p.AccessLog)
		line := strings.TrimSpace(string(b))
		if line != "" {
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "200" || f[1] == "-" {
				t.Errorf("access log %q: want 200 and a decision_id", line)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Error("access log stayed empty")
			break
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	// Envoy's own counters: nothing spurious, no failure, no fail-open.
	sresp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/stats?filter=ext_proc", p.Admin))
	if err == nil {
		b, _ := io.ReadAll(sresp.Body)
		sresp.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			for _, bad := range []string{"spurious_msgs_received", "streams_failed", "failure_mode_allowed", "message_timeouts"} {
				if strings.Contains(l, bad+":") && !strings.HasSuffix(l, ": 0") {
					t.Errorf("envoy stat %s", l)
				}
			}
		}
	}
}
