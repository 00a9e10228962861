package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

const testToken = "test-token-0123456789"

// Test-only detector families: guardtest_slow waits for its deadline
// (budget), guardtest_panic panics, guardtest_mark reports every segment
// containing MARK with a rule naming the direction.
func init() {
	pipeline.Register("guardtest_slow", func(*yaml.Node) (pipeline.Detector, error) { return slowDetector{}, nil })
	pipeline.Register("guardtest_panic", func(*yaml.Node) (pipeline.Detector, error) { return panicDetector{}, nil })
	pipeline.Register("guardtest_mark", func(*yaml.Node) (pipeline.Detector, error) { return markDetector{}, nil })
}

type slowDetector struct{}

func (slowDetector) Family() string { return "guardtest_slow" }
func (slowDetector) Detect(ctx context.Context, _ *pipeline.Input) ([]pipeline.Finding, error) {
	<-ctx.Done()
	return nil, nil
}

type panicDetector struct{}

func (panicDetector) Family() string { return "guardtest_panic" }
func (panicDetector) Detect(context.Context, *pipeline.Input) ([]pipeline.Finding, error) {
	panic("guardtest: detector panic")
}

type markDetector struct{}

func (markDetector) Family() string { return "guardtest_mark" }
func (markDetector) Detect(_ context.Context, in *pipeline.Input) ([]pipeline.Finding, error) {
	var out []pipeline.Finding
	for i, s := range in.Segments {
		if j := strings.Index(s.Text, "MARK"); j >= 0 {
			out = append(out, pipeline.Finding{
				Rule: "guardtest_mark." + in.Direction.String(), Family: "guardtest_mark", Score: 1,
				Spans: []pipeline.Span{{Segment: i, Start: j, End: j + 4}},
			})
		}
	}
	return out, nil
}

// testPolicies is the embedded default set plus test policies.
const testPolicyYAML = `
version: guard-test-1
default: balanced
policies:
  balanced:
    allow_unscanned_media: true  # as the embedded balanced: the multimodal cases scan text parts
    detectors:
      limits: {action: block, max_body_bytes: 1048576}
      injection: {action: block}
  redacting:
    detectors:
      injection: {action: redact}
  slow:
    detectors:
      guardtest_slow: {}
  panicky:
    detectors:
      guardtest_panic: {}
  mark:
    detectors:
      guardtest_mark: {action: block}
  markshadow:
    mode: shadow
    detectors:
      guardtest_mark: {action: block}
  lenient:
    malformed: allow
    detectors:
      injection: {action: block}
`

// testPolicySet adds a pii policy when the pii family is linked in (it is
// being built beside this package).
func testPolicySet(t testing.TB) *pipeline.PolicySet {
	t.Helper()
	src := testPolicyYAML
	if hasFamily("pii") {
		src += "  pii:\n    detectors:\n      pii: {action: redact}\n      injection: {action: block}\n"
	}
	set, err := pipeline.ParsePolicySet([]byte(src), "test policy")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

type fixture struct {
	h     *Handler
	reg   *prometheus.Registry
	set   *pipeline.PolicySet
	logs  *bytes.Buffer
	token string
}

func newFixture(t testing.TB, cfg Config, set *pipeline.PolicySet) *fixture {
	t.Helper()
	if set == nil {
		set = testPolicySet(t)
	}
	if cfg.Tokens.Len() == 0 && !cfg.AllowUnauthenticated {
		cfg.Tokens = NewTokens(testToken)
	}
	reg := prometheus.NewRegistry()
	logs := &bytes.Buffer{}
	log := slogJSON(logs)
	engine := pipeline.NewEngine(all.EngineOptions(pipeline.WithMetrics(pipeline.NewMetrics(reg)), pipeline.WithLogger(log))...)
	h, err := NewHandler(cfg, engine, func() *pipeline.PolicySet { return set }, NewMetrics(reg), log)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{h: h, reg: reg, set: set, logs: logs, token: testToken}
	return f
}

// post sends body to path through the handler and decodes the JSON answer.
func (f *fixture) post(t testing.TB, path string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	resp := rec.Result()
	out, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s: answer is not JSON (%d): %s", path, resp.StatusCode, out)
	}
	return resp, m
}

// detectedTypes lists the breakdown's detected detector types.
func detectedTypes(m map[string]any) []string {
	var out []string
	bd, _ := m["breakdown"].([]any)
	for _, e := range bd {
		it := e.(map[string]any)
		if it["detected"] == true {
			out = append(out, it["detector_type"].(string))
		}
	}
	slices.Sort(out)
	return out
}

func hasFamily(name string) bool { return slices.Contains(pipeline.Families(), name) }

var limitsForTest = codec.Limits{MaxBytes: 1 << 20}
