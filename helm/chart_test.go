package helm_test

// Tests of the Helm chart in ./llm-firewall with the real helm renderer.
// The helm binary comes from LLMFW_HELM, else from PATH; without one the tests
// skip. The EnvoyFilter patch is validated the way ../envoy/validate_test.go
// validates envoy/istio/envoyfilter.yaml (YAML → JSON → strict protojson into
// go-control-plane v1.40 types → ValidateAll), with a copy of the minimal
// logic needed here (a _test package cannot be imported).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"

	// Every "@type" in the EnvoyFilter must be in protoregistry.GlobalTypes
	// for strict protojson to resolve it (ExternalProcessor, ExtProcPerRoute).
	// The named import above registers it already; this keeps the
	// registration explicit if the named use goes away.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
)

const (
	chartDir    = "llm-firewall"
	release     = "llmfw"
	namespace   = "llm-firewall"
	fullname    = "llmfw-llm-firewall"
	grpcPort    = 50051
	adminPort   = 9090
	shutdownSec = 15 // LLMFW_SHUTDOWN_GRACE default
	budget      = 150 * time.Millisecond
	policyPath  = "/etc/llm-firewall/policy.yaml"
)

// testPolicy is the example of docs/configuration.md without comments (commas
// would be split by --set).
const testPolicy = `version: 2026-11-25.1
default: balanced
policies:
  balanced:
    mode: enforce
    block_status: 403
    fail_closed_status: 503
    malformed: block
    unscanned_body: block
    detectors:
      limits:
        action: block
        threshold: 0.5
        max_body_bytes: 1048576
        max_response_body_bytes: 8388608
        max_messages: 1000
        max_estimated_tokens: 1000000
        max_requested_tokens: 128000
`

// ---------------------------------------------------------------------------
// helm

func helmBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LLMFW_HELM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("LLMFW_HELM=%s: %v", p, err)
		}
		return p
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	t.Skip("no helm binary: set LLMFW_HELM or put helm on PATH (go install helm.sh/helm/v3/cmd/helm@v3.16.4)")
	return ""
}

func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	// Isolate from the user's helm config and repositories.
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"HELM_DATA_HOME="+filepath.Join(tmp, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

type object = map[string]any

// render runs helm template and parses every document.
func render(t *testing.T, set ...string) []object {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", release, chartDir, "-n", namespace}, set...)...)
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML does not parse: %v", err)
		}
		if o == nil {
			continue // empty document
		}
		for _, k := range []string{"apiVersion", "kind"} {
			if s, _ := o[k].(string); s == "" {
				t.Errorf("document without %s: %v", k, o)
			}
		}
		if s, _ := dig(o, "metadata", "name").(string); s == "" {
			t.Errorf("document without metadata.name: %v", o)
		}
		if err := decodeStrict(o); err != nil {
			t.Errorf("rendered manifest is not a valid Kubernetes object: %v", err)
		}
		objs = append(objs, o)
	}
	if len(objs) == 0 {
		t.Fatal("nothing rendered")
	}
	return objs
}

func find(objs []object, kind string) object {
	for _, o := range objs {
		if o["kind"] == kind {
			return o
		}
	}
	return nil
}

func mustFind(t *testing.T, objs []object, kind string) object {
	t.Helper()
	o := find(objs, kind)
	if o == nil {
		t.Fatalf("no %s rendered", kind)
	}
	return o
}

// dig walks maps by key and lists by int index.
func dig(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func asInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}

func container(t *testing.T, objs []object) map[string]any {
	t.Helper()
	c, ok := dig(mustFind(t, objs, "Deployment"), "spec", "template", "spec", "containers", 0).(map[string]any)
	if !ok {
		t.Fatal("Deployment has no container")
	}
	return c
}

func envOf(c map[string]any) map[string]string {
	env := map[string]string{}
	l, _ := c["env"].([]any)
	for _, e := range l {
		name, _ := dig(e, "name").(string)
		val, _ := dig(e, "value").(string)
		env[name] = val
	}
	return env
}

// ---------------------------------------------------------------------------
// Lint and defaults

func TestLint(t *testing.T) {
	for _, set := range [][]string{
		nil,
		{"--set", "envoyFilter.enabled=true", "--set", "serviceMonitor.enabled=true",
			"--set", "networkPolicy.enabled=true", "--set", "autoscaling.enabled=true",
			"--set", "preStop.mode=exec", "--set", "grafanaDashboard.enabled=true",
			"--set-string", "policy=" + testPolicy},
	} {
		if out, err := runHelm(t, append([]string{"lint", "--strict", chartDir}, set...)...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

func TestDefaults(t *testing.T) {
	objs := render(t)

	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o["kind"].(string)] = true
	}
	for _, k := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "ServiceAccount"} {
		if !kinds[k] {
			t.Errorf("%s not rendered by default", k)
		}
	}
	for _, k := range []string{"EnvoyFilter", "ServiceMonitor", "HorizontalPodAutoscaler", "NetworkPolicy"} {
		if kinds[k] {
			t.Errorf("%s rendered by default; it must be opt-in", k)
		}
	}

	dep := mustFind(t, objs, "Deployment")
	if got := asInt(dig(dep, "spec", "replicas")); got != 2 {
		t.Errorf("replicas %d, want 2", got)
	}
	pod := dig(dep, "spec", "template", "spec")
	c := container(t, objs)
	if !slices.Equal(toStrings(c["args"]), []string{"serve"}) {
		t.Errorf("args %v, want [serve]", c["args"])
	}
	if img, _ := c["image"].(string); img != "ghcr.io/llm-firewall/llm-firewall:0.1.0" {
		t.Errorf("image %q", img)
	}

	// Ports and probes.
	ports := map[string]int{}
	for _, p := range c["ports"].([]any) {
		ports[dig(p, "name").(string)] = asInt(dig(p, "containerPort"))
	}
	if ports["grpc"] != grpcPort || ports["admin"] != adminPort {
		t.Errorf("container ports %v", ports)
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"} {
		if got := dig(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path %v, want %s", probe, got, path)
		}
		if got := dig(c, probe, "httpGet", "port"); got != "admin" {
			t.Errorf("%s port %v, want admin", probe, got)
		}
	}

	// Environment.
	env := envOf(c)
	for k, want := range map[string]string{
		"LLMFW_GRPC_ADDR": ":50051", "LLMFW_ADMIN_ADDR": ":9090", "LLMFW_BUDGET": "150ms",
		"LLMFW_MAX_RECV_BYTES": "16777216", "LLMFW_MAX_BODY_BYTES": "8388608",
		"LLMFW_SHUTDOWN_GRACE": "15s", "LLMFW_REQUIRE_PROTOCOL_CONFIG": "true",
		"LLMFW_CACHE_MAX_MB": "64", "LLMFW_MAX_INFLIGHT_MB": "1024", "LLMFW_LOG_FORMAT": "json",
	} {
		if env[k] != want {
			t.Errorf("env %s=%q, want %q", k, env[k], want)
		}
	}
	if _, ok := env["LLMFW_POLICY_FILE"]; ok {
		t.Error("LLMFW_POLICY_FILE set without a policy: the embedded default must be used")
	}

	// Security context.
	for path, want := range map[string]any{
		"securityContext.runAsNonRoot":             true,
		"securityContext.readOnlyRootFilesystem":   true,
		"securityContext.allowPrivilegeEscalation": false,
		"securityContext.seccompProfile.type":      "RuntimeDefault",
	} {
		if got := dig(c, toKeys(path)...); got != want {
			t.Errorf("container %s = %v, want %v", path, got, want)
		}
	}
	if !slices.Equal(toStrings(dig(c, "securityContext", "capabilities", "drop")), []string{"ALL"}) {
		t.Errorf("capabilities.drop %v, want [ALL]", dig(c, "securityContext", "capabilities", "drop"))
	}
	if dig(pod, "securityContext", "runAsNonRoot") != true || dig(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("pod securityContext %v", dig(pod, "securityContext"))
	}
	if dig(pod, "automountServiceAccountToken") != false {
		t.Error("automountServiceAccountToken must be false")
	}

	// Shutdown: preStop sleep, then SIGTERM and LLMFW_SHUTDOWN_GRACE.
	sleep := asInt(dig(c, "lifecycle", "preStop", "sleep", "seconds"))
	if sleep <= 0 {
		t.Errorf("no preStop sleep: %v", dig(c, "lifecycle"))
	}
	if tg := asInt(dig(pod, "terminationGracePeriodSeconds")); tg <= sleep+shutdownSec {
		t.Errorf("terminationGracePeriodSeconds %d must exceed preStop %ds + shutdown grace %ds", tg, sleep, shutdownSec)
	}

	// A policy change is hot-reloaded by default: no pod roll.
	if s := dig(dep, "spec", "template", "metadata", "annotations", "checksum/policy"); s != nil {
		t.Errorf("checksum/policy annotation %v by default: policy edits should reload without a restart", s)
	}

	// Soft spreading.
	if dig(pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution") == nil {
		t.Error("no soft pod anti-affinity")
	}
	if dig(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution") != nil {
		t.Error("pod anti-affinity must be soft")
	}
	for i, tsc := range dig(pod, "topologySpreadConstraints").([]any) {
		if dig(tsc, "whenUnsatisfiable") != "ScheduleAnyway" {
			t.Errorf("topologySpreadConstraints[%d] not soft", i)
		}
	}

	// Service: Istio needs the gRPC port declared as gRPC.
	svc := mustFind(t, objs, "Service")
	if dig(svc, "spec", "type") != "ClusterIP" {
		t.Errorf("Service type %v", dig(svc, "spec", "type"))
	}
	svcPorts := map[string]any{}
	for _, p := range dig(svc, "spec", "ports").([]any) {
		svcPorts[dig(p, "name").(string)] = p
	}
	g := svcPorts["grpc-extproc"]
	if !strings.HasPrefix(dig(g, "name").(string), "grpc-") || dig(g, "appProtocol") != "grpc" || asInt(dig(g, "port")) != grpcPort {
		t.Errorf("gRPC Service port %v: want name grpc-*, appProtocol grpc, port %d", g, grpcPort)
	}
	if a := svcPorts["http-admin"]; asInt(dig(a, "port")) != adminPort {
		t.Errorf("admin Service port %v", a)
	}
	if !equalJSON(dig(svc, "spec", "selector"), dig(dep, "spec", "selector", "matchLabels")) {
		t.Error("Service selector differs from the Deployment's")
	}

	pdb := mustFind(t, objs, "PodDisruptionBudget")
	if asInt(dig(pdb, "spec", "minAvailable")) != 1 {
		t.Errorf("PDB minAvailable %v", dig(pdb, "spec", "minAvailable"))
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	var s []string
	for _, e := range l {
		s = append(s, fmt.Sprint(e))
	}
	return s
}

func toKeys(path string) []any {
	var k []any
	for _, p := range strings.Split(path, ".") {
		k = append(k, p)
	}
	return k
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// ---------------------------------------------------------------------------
// Policy

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// firewallBinary builds ../cmd/llm-firewall once per test binary.
func firewallBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "llmfw-helm-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "llm-firewall")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/llm-firewall").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func TestPolicy(t *testing.T) {
	objs := render(t, "--set", "policy="+testPolicy)

	cm := mustFind(t, objs, "ConfigMap")
	got, _ := dig(cm, "data", "policy.yaml").(string)
	if strings.TrimSpace(got) != strings.TrimSpace(testPolicy) {
		t.Errorf("ConfigMap policy.yaml:\n%s\nwant:\n%s", got, testPolicy)
	}

	c := container(t, objs)
	if env := envOf(c); env["LLMFW_POLICY_FILE"] != policyPath {
		t.Errorf("LLMFW_POLICY_FILE=%q, want %s", env["LLMFW_POLICY_FILE"], policyPath)
	}
	mounted := false
	for _, m := range c["volumeMounts"].([]any) {
		if dig(m, "name") == "policy" && dig(m, "mountPath") == filepath.Dir(policyPath) && dig(m, "readOnly") == true {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("policy volume not mounted read-only at %s: %v", filepath.Dir(policyPath), c["volumeMounts"])
	}
	dep := mustFind(t, objs, "Deployment")
	found := false
	for _, v := range dig(dep, "spec", "template", "spec", "volumes").([]any) {
		if dig(v, "name") == "policy" && dig(v, "configMap", "name") == fullname &&
			dig(v, "configMap", "items", 0, "key") == "policy.yaml" && dig(v, "configMap", "items", 0, "path") == filepath.Base(policyPath) {
			found = true
		}
	}
	if !found {
		t.Errorf("no policy volume from ConfigMap %s", fullname)
	}

	// Reloaded in place: the reload interval is set, no checksum rolls pods.
	if env := envOf(c); env["LLMFW_POLICY_RELOAD_INTERVAL"] != "5s" {
		t.Errorf("LLMFW_POLICY_RELOAD_INTERVAL %q, want 5s", env["LLMFW_POLICY_RELOAD_INTERVAL"])
	}
	// policyRollout=restart: a different policy changes the checksum.
	restart := mustFind(t, render(t, "--set", "policy="+testPolicy, "--set", "policyRollout=restart"), "Deployment")
	sum := dig(restart, "spec", "template", "metadata", "annotations", "checksum/policy")
	if s, _ := sum.(string); len(s) != 64 {
		t.Errorf("policyRollout=restart: checksum/policy annotation %v", sum)
	}
	other := mustFind(t, render(t, "--set", "policy="+testPolicy+"\n# edited", "--set", "policyRollout=restart"), "Deployment")
	if sum == dig(other, "spec", "template", "metadata", "annotations", "checksum/policy") {
		t.Error("checksum/policy does not change with the policy")
	}

	// The firewall itself accepts the rendered policy.
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(got), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(firewallBinary(t), "policy", "check", file).CombinedOutput()
	if err != nil {
		t.Errorf("llm-firewall policy check on the rendered policy: %v\n%s", err, out)
	}
	// And refuses a broken one (the check is not vacuous).
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(got+"    bogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(firewallBinary(t), "policy", "check", bad).CombinedOutput(); err == nil {
		t.Errorf("policy check accepted an unknown key:\n%s", out)
	}
}

// ---------------------------------------------------------------------------
// EnvoyFilter

var strict = protojson.UnmarshalOptions{DiscardUnknown: false}

// patchJSON returns the patch.value of a configPatches entry as JSON.
func patchJSON(t *testing.T, patch any) []byte {
	t.Helper()
	js, err := json.Marshal(dig(patch, "patch", "value"))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestEnvoyFilter(t *testing.T) {
	objs := render(t, "--set", "envoyFilter.enabled=true",
		"--set", "envoyFilter.routePolicies[0].route=openai-chat",
		"--set", "envoyFilter.routePolicies[0].policy=strict")
	ef := mustFind(t, objs, "EnvoyFilter")
	if dig(ef, "apiVersion") != "networking.istio.io/v1alpha3" {
		t.Errorf("apiVersion %v", dig(ef, "apiVersion"))
	}
	if dig(ef, "metadata", "namespace") != "istio-system" {
		t.Errorf("namespace %v", dig(ef, "metadata", "namespace"))
	}
	if dig(ef, "spec", "workloadSelector", "labels", "istio") != "ingressgateway" {
		t.Errorf("workloadSelector %v", dig(ef, "spec", "workloadSelector"))
	}

	patches, _ := dig(ef, "spec", "configPatches").([]any)
	var applied []string
	for i, p := range patches {
		applyTo, _ := dig(p, "applyTo").(string)
		applied = append(applied, applyTo)
		where := fmt.Sprintf("configPatches[%d] (%s)", i, applyTo)
		if dig(p, "match", "context") != "GATEWAY" {
			t.Errorf("%s: context %v", where, dig(p, "match", "context"))
		}
		js := patchJSON(t, p)
		switch applyTo {
		case "HTTP_FILTER":
			checkHTTPFilterPatch(t, where, p, js)
		case "LISTENER":
			l := &listenerv3.Listener{}
			if err := strict.Unmarshal(js, l); err != nil {
				t.Errorf("%s: strict protojson: %v", where, err)
			} else if l.GetPerConnectionBufferLimitBytes().GetValue() < 1<<20 {
				t.Errorf("%s: per_connection_buffer_limit_bytes %d below 1 MiB", where, l.GetPerConnectionBufferLimitBytes().GetValue())
			}
		case "HTTP_ROUTE":
			r := &routev3.Route{}
			if err := strict.Unmarshal(js, r); err != nil {
				t.Fatalf("%s: strict protojson: %v", where, err)
			}
			a := r.GetTypedPerFilterConfig()["envoy.filters.http.ext_proc"]
			pr := &extprocv3.ExtProcPerRoute{}
			if err := a.UnmarshalTo(pr); err != nil {
				t.Fatalf("%s: unpack ExtProcPerRoute: %v", where, err)
			}
			if err := pr.ValidateAll(); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			md := pr.GetOverrides().GetGrpcInitialMetadata()
			if len(md) != 1 || md[0].GetKey() != "x-llmfw-policy" || md[0].GetValue() != "strict" {
				t.Errorf("%s: grpc_initial_metadata %v", where, md)
			}
			if pr.GetDisabled() || pr.GetOverrides().GetProcessingMode() != nil || pr.GetOverrides().GetFailureModeAllow() != nil {
				t.Errorf("%s: per-route override undoes fail-closed settings", where)
			}
		default:
			t.Errorf("%s: unexpected patch", where)
		}
	}
	if !slices.Equal(applied, []string{"HTTP_FILTER", "LISTENER", "HTTP_ROUTE"}) {
		t.Errorf("patches %v", applied)
	}
}

func checkHTTPFilterPatch(t *testing.T, where string, p any, js []byte) {
	t.Helper()
	if dig(p, "patch", "operation") != "INSERT_BEFORE" ||
		dig(p, "match", "listener", "filterChain", "filter", "name") != "envoy.filters.network.http_connection_manager" ||
		dig(p, "match", "listener", "filterChain", "filter", "subFilter", "name") != "envoy.filters.http.router" {
		t.Errorf("%s: must be INSERT_BEFORE envoy.filters.http.router in the HCM: %v", where, dig(p, "match"))
	}
	f := &hcmv3.HttpFilter{}
	if err := strict.Unmarshal(js, f); err != nil {
		t.Fatalf("%s: strict protojson into HttpFilter: %v", where, err)
	}
	if err := f.ValidateAll(); err != nil {
		t.Errorf("%s: HttpFilter: %v", where, err)
	}
	if f.GetName() != "envoy.filters.http.ext_proc" {
		t.Errorf("%s: filter name %q", where, f.GetName())
	}
	ep := &extprocv3.ExternalProcessor{}
	if err := f.GetTypedConfig().UnmarshalTo(ep); err != nil {
		t.Fatalf("%s: typed_config is not an ExternalProcessor: %v", where, err)
	}
	if err := ep.ValidateAll(); err != nil {
		t.Errorf("%s: ExternalProcessor: %v", where, err)
	}

	wantCluster := fmt.Sprintf("outbound|%d||%s.%s.svc.cluster.local", grpcPort, fullname, namespace)
	if got := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName(); got != wantCluster {
		t.Errorf("%s: cluster_name %q, want %q", where, got, wantCluster)
	}
	if mr := ep.GetGrpcService().GetEnvoyGrpc().GetMaxReceiveMessageLength().GetValue(); mr < 1<<20 {
		t.Errorf("%s: max_receive_message_length %d below 1 MiB", where, mr)
	}
	if ep.GetFailureModeAllow() {
		t.Errorf("%s: failure_mode_allow must be false", where)
	}
	if ep.GetObservabilityMode() {
		t.Errorf("%s: observability_mode must be false", where)
	}
	if ep.GetAllowModeOverride() {
		modes := ep.GetAllowedOverrideModes()
		if len(modes) == 0 {
			t.Errorf("%s: allow_mode_override without allowed_override_modes admits body mode NONE", where)
		}
		for _, m := range modes {
			if m.GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED ||
				(m.GetResponseBodyMode() != extprocv3.ProcessingMode_BUFFERED && m.GetResponseBodyMode() != extprocv3.ProcessingMode_STREAMED) {
				t.Errorf("%s: allowed override mode %v would stop or weaken scanning", where, m)
			}
		}
	}
	if ep.GetStatusOnError().GetCode() == 0 {
		t.Errorf("%s: status_on_error unset", where)
	}
	pm := ep.GetProcessingMode()
	if pm.GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED || pm.GetResponseBodyMode() != extprocv3.ProcessingMode_BUFFERED {
		t.Errorf("%s: body modes %s/%s, want BUFFERED/BUFFERED", where, pm.GetRequestBodyMode(), pm.GetResponseBodyMode())
	}
	if pm.GetRequestHeaderMode() != extprocv3.ProcessingMode_SEND || pm.GetResponseHeaderMode() != extprocv3.ProcessingMode_SEND {
		t.Errorf("%s: header modes must be SEND", where)
	}
	if mt := ep.GetMessageTimeout().AsDuration(); mt <= budget {
		t.Errorf("%s: message_timeout %v must exceed LLMFW_BUDGET %v", where, mt, budget)
	}
	if mx := ep.GetMaxMessageTimeout().AsDuration(); mx < ep.GetMessageTimeout().AsDuration() {
		t.Errorf("%s: max_message_timeout %v below message_timeout", where, mx)
	}
	if !slices.Contains(ep.GetMetadataOptions().GetReceivingNamespaces().GetUntyped(), "llmfw") {
		t.Errorf("%s: metadata_options.receiving_namespaces.untyped lacks llmfw", where)
	}
	if !slices.Contains(ep.GetRequestAttributes(), "xds.route_name") {
		t.Errorf("%s: request_attributes lacks xds.route_name", where)
	}
	if !ep.GetMutationRules().GetDisallowIsError().GetValue() {
		t.Errorf("%s: mutation_rules.disallow_is_error must be true", where)
	}
}

// The sidecar variant: context, selector and port come from values.
func TestEnvoyFilterSidecarValues(t *testing.T) {
	objs := render(t, "--set", "envoyFilter.enabled=true",
		"--set", "envoyFilter.context=SIDECAR_INBOUND",
		"--set", "envoyFilter.namespace=models",
		"--set", "envoyFilter.workloadSelector.istio=null",
		"--set", "envoyFilter.workloadSelector.app=vllm",
		"--set", "envoyFilter.portNumber=8000",
		"--set", "envoyFilter.listenerBufferLimitBytes=0",
		"--set", "envoyFilter.messageTimeout=0.5s",
		"--set", "clusterDomain=example.internal")
	ef := mustFind(t, objs, "EnvoyFilter")
	if dig(ef, "metadata", "namespace") != "models" {
		t.Errorf("namespace %v", dig(ef, "metadata", "namespace"))
	}
	if sel := dig(ef, "spec", "workloadSelector", "labels"); !equalJSON(sel, map[string]any{"app": "vllm"}) {
		t.Errorf("workloadSelector %v", sel)
	}
	patches, _ := dig(ef, "spec", "configPatches").([]any)
	if len(patches) != 1 {
		t.Fatalf("%d patches, want only HTTP_FILTER", len(patches))
	}
	p := patches[0]
	if dig(p, "match", "context") != "SIDECAR_INBOUND" || asInt(dig(p, "match", "listener", "portNumber")) != 8000 {
		t.Errorf("match %v", dig(p, "match"))
	}
	f := &hcmv3.HttpFilter{}
	if err := strict.Unmarshal(patchJSON(t, p), f); err != nil {
		t.Fatal(err)
	}
	ep := &extprocv3.ExternalProcessor{}
	if err := f.GetTypedConfig().UnmarshalTo(ep); err != nil {
		t.Fatal(err)
	}
	if got, want := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName(), "outbound|50051||"+fullname+"."+namespace+".svc.example.internal"; got != want {
		t.Errorf("cluster_name %q, want %q", got, want)
	}
	if got := ep.GetMessageTimeout().AsDuration(); got != 500*time.Millisecond {
		t.Errorf("message_timeout %v, want 500ms", got)
	}
}

// ---------------------------------------------------------------------------
// Optional objects

func TestOptionalObjects(t *testing.T) {
	objs := render(t, "--set", "serviceMonitor.enabled=true", "--set", "networkPolicy.enabled=true",
		"--set", "autoscaling.enabled=true")
	sm := mustFind(t, objs, "ServiceMonitor")
	if dig(sm, "apiVersion") != "monitoring.coreos.com/v1" || dig(sm, "spec", "endpoints", 0, "port") != "http-admin" ||
		dig(sm, "spec", "endpoints", 0, "path") != "/metrics" {
		t.Errorf("ServiceMonitor %v", dig(sm, "spec"))
	}
	np := mustFind(t, objs, "NetworkPolicy")
	rules, _ := dig(np, "spec", "ingress").([]any)
	if len(rules) != 2 || dig(rules[0], "ports", 0, "port") != "grpc" || dig(rules[1], "ports", 0, "port") != "admin" ||
		dig(rules[0], "from", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != "istio-system" ||
		dig(rules[1], "from", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != "monitoring" {
		t.Errorf("NetworkPolicy ingress %v", rules)
	}
	hpa := mustFind(t, objs, "HorizontalPodAutoscaler")
	if dig(hpa, "spec", "scaleTargetRef", "name") != fullname || asInt(dig(hpa, "spec", "minReplicas")) < 2 {
		t.Errorf("HPA %v", dig(hpa, "spec"))
	}
	if dig(mustFind(t, objs, "Deployment"), "spec", "replicas") != nil {
		t.Error("Deployment sets replicas while the HPA owns them")
	}

	exec := container(t, render(t, "--set", "preStop.mode=exec"))
	if !slices.Equal(toStrings(dig(exec, "lifecycle", "preStop", "exec", "command")), []string{"sleep", "5"}) {
		t.Errorf("exec preStop %v", dig(exec, "lifecycle"))
	}
}

// ---------------------------------------------------------------------------
// Grafana dashboard

// dashboardMetrics mirrors the metrics table of docs/architecture.md
// ("Metrics"): the only series the dashboard may query. Histograms are listed
// by family name (the _bucket/_sum/_count series are stripped to it).
var dashboardMetrics = []string{
	"llmfw_transactions_total",
	"llmfw_messages_total",
	"llmfw_phase_duration_seconds",
	"llmfw_transaction_duration_seconds",
	"llmfw_streams_in_flight",
	"llmfw_inflight_body_bytes",
	"llmfw_decisions_total",
	"llmfw_fail_closed_total",
	"llmfw_evaluation_duration_seconds",
	"llmfw_detector_panics_total",
	"llmfw_cache_requests_total",
	"llmfw_cache_sets_total",
	"llmfw_cache_entries",
	"llmfw_cache_capacity_bytes",
	"llmfw_cache_corrupt_entries_total",
	"llmfw_policy_selector_unknown_total",
	"llmfw_internal_panics_total",
	"llmfw_observability_messages_total",
}

var metricIdent = regexp.MustCompile(`llmfw_[a-z_]+`)

// exprMetrics returns the metric families an expression names.
func exprMetrics(expr string) []string {
	var out []string
	for _, m := range metricIdent.FindAllString(expr, -1) {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if s, ok := strings.CutSuffix(m, suf); ok {
				m = s
				break
			}
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// unknownMetrics returns the families in expr that are not in dashboardMetrics.
func unknownMetrics(expr string) []string {
	var out []string
	for _, m := range exprMetrics(expr) {
		if !slices.Contains(dashboardMetrics, m) {
			out = append(out, m)
		}
	}
	return out
}

func TestDashboardMetricExtractor(t *testing.T) {
	// Negative self-check: a made-up name is reported, real ones (with the
	// histogram suffixes) are not.
	expr := `histogram_quantile(0.99, sum by (le) (rate(llmfw_phase_duration_seconds_bucket[5m]))) ` +
		`+ rate(llmfw_evaluation_duration_seconds_sum[5m]) + rate(llmfw_madeup_requests_total{job="x"}[5m])`
	if got := unknownMetrics(expr); !slices.Equal(got, []string{"llmfw_madeup_requests_total"}) {
		t.Errorf("unknownMetrics = %v, want [llmfw_madeup_requests_total]", got)
	}
	if got := exprMetrics(expr); !slices.Equal(got, []string{"llmfw_phase_duration_seconds",
		"llmfw_evaluation_duration_seconds", "llmfw_madeup_requests_total"}) {
		t.Errorf("exprMetrics = %v", got)
	}
	// The allow-list must stay a mirror of the documented table.
	doc, err := os.ReadFile(filepath.Join("..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range metricIdent.FindAllString(string(doc), -1) {
		documented[m] = true
	}
	for _, m := range dashboardMetrics {
		if !documented[m] {
			t.Errorf("allow-listed %s is not in docs/architecture.md", m)
		}
	}
}

func TestGrafanaDashboard(t *testing.T) {
	isDashboard := func(o object) bool {
		return o["kind"] == "ConfigMap" && dig(o, "metadata", "labels", "grafana_dashboard") != nil
	}
	for _, o := range render(t) {
		if isDashboard(o) || strings.HasSuffix(fmt.Sprint(dig(o, "metadata", "name")), "-dashboard") {
			t.Fatalf("dashboard ConfigMap rendered by default; it must be opt-in: %v", dig(o, "metadata"))
		}
	}

	var cm object
	for _, o := range render(t, "--set", "grafanaDashboard.enabled=true") {
		if isDashboard(o) {
			if cm != nil {
				t.Fatal("two dashboard ConfigMaps rendered")
			}
			cm = o
		}
	}
	if cm == nil {
		t.Fatal("no ConfigMap with label grafana_dashboard rendered")
	}
	if got := dig(cm, "metadata", "labels", "grafana_dashboard"); got != "1" {
		t.Errorf(`label grafana_dashboard = %#v, want "1"`, got)
	}
	if got := dig(cm, "metadata", "namespace"); got != namespace {
		t.Errorf("namespace %v, want %s", got, namespace)
	}
	raw, _ := dig(cm, "data", "llm-firewall.json").(string)
	if raw == "" {
		t.Fatalf("ConfigMap data has no llm-firewall.json: %v", dig(cm, "data"))
	}
	var dash struct {
		SchemaVersion int    `json:"schemaVersion"`
		UID           string `json:"uid"`
		Title         string `json:"title"`
		Templating    struct {
			List []struct {
				Name, Type string
				Query      any
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(raw), &dash); err != nil {
		t.Fatalf("dashboard JSON does not parse: %v", err)
	}
	// The rendered copy is the file in the chart, byte for byte.
	file, err := os.ReadFile(filepath.Join(chartDir, "dashboards", "llm-firewall.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimRight(string(file), "\n") != strings.TrimRight(raw, "\n") {
		t.Error("rendered dashboard differs from dashboards/llm-firewall.json")
	}
	if dash.SchemaVersion != 39 || dash.UID == "" || dash.Title == "" {
		t.Errorf("schemaVersion %d uid %q title %q", dash.SchemaVersion, dash.UID, dash.Title)
	}
	dsVar := false
	for _, v := range dash.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
			dsVar = true
		}
	}
	if !dsVar {
		t.Error("no datasource template variable of type prometheus")
	}

	// families[f] = panels whose expressions name f (with the joined exprs).
	families := map[string][]string{}
	for _, p := range dash.Panels {
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q datasource uid %q, want ${datasource}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		var exprs []string
		seen := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("panel %q has a target without expr", p.Title)
				continue
			}
			if len(exprMetrics(tg.Expr)) == 0 {
				t.Errorf("panel %q expr names no llmfw_ metric: %s", p.Title, tg.Expr)
			}
			if bad := unknownMetrics(tg.Expr); len(bad) > 0 {
				t.Errorf("panel %q queries undocumented metrics %v: %s", p.Title, bad, tg.Expr)
			}
			exprs = append(exprs, tg.Expr)
			for _, m := range exprMetrics(tg.Expr) {
				seen[m] = true
			}
		}
		for m := range seen {
			families[m] = append(families[m], strings.Join(exprs, "\n"))
		}
	}
	panelWith := func(family, substr string) bool {
		for _, e := range families[family] {
			if strings.Contains(e, substr) {
				return true
			}
		}
		return false
	}
	for _, want := range []struct{ family, substr string }{
		{"llmfw_transactions_total", "outcome"},
		{"llmfw_decisions_total", "by (action)"},
		{"llmfw_decisions_total", "by (rule)"},
		{"llmfw_fail_closed_total", "cause"},
		{"llmfw_phase_duration_seconds", "histogram_quantile(0.5,"},
		{"llmfw_phase_duration_seconds", "histogram_quantile(0.99,"},
		{"llmfw_evaluation_duration_seconds", "histogram_quantile(0.99,"},
		{"llmfw_streams_in_flight", ""},
		{"llmfw_inflight_body_bytes", ""},
		{"llmfw_cache_requests_total", `result="hit"`},
		{"llmfw_detector_panics_total", ""},
		{"llmfw_internal_panics_total", ""},
		{"llmfw_policy_selector_unknown_total", ""},
	} {
		if !panelWith(want.family, want.substr) {
			t.Errorf("no panel over %s containing %q", want.family, want.substr)
		}
	}

	// Label key/value are configurable.
	var custom object
	for _, o := range render(t, "--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.labelKey=dash",
		"--set-string", "grafanaDashboard.labelValue=yes", "--set", "grafanaDashboard.namespace=monitoring") {
		if o["kind"] == "ConfigMap" && dig(o, "metadata", "labels", "dash") != nil {
			custom = o
		}
	}
	if custom == nil || dig(custom, "metadata", "labels", "dash") != "yes" ||
		dig(custom, "metadata", "labels", "grafana_dashboard") != nil || dig(custom, "metadata", "namespace") != "monitoring" {
		t.Errorf("custom label/namespace not applied: %v", dig(custom, "metadata"))
	}
}

// ---------------------------------------------------------------------------
// Rejected values: the schema (helm itself) and the chart's own checks.

func TestRejectedValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"--set", "replicaCount=abc"}, "replicaCount"},
		{[]string{"--set", "config.logLevel=verbose"}, "logLevel"},
		{[]string{"--set", "config.budget=fast"}, "budget"},
		{[]string{"--set", "service.grpcPort=70000"}, "grpcPort"},
		{[]string{"--set", "unknownTopLevel=1"}, "unknownTopLevel"},
		{[]string{"--set", "grafanaDashboard.enabled=yes"}, "grafanaDashboard"},
		{[]string{"--set", "envoyFilter.messageTimeout=1000ms"}, "messageTimeout"},
		{[]string{"--set", "terminationGracePeriodSeconds=20"}, "terminationGracePeriodSeconds"},
		{[]string{"--set", "config.maxRecvBytes=8388608"}, "maxRecvBytes"},
		{[]string{"--set", "envoyFilter.enabled=true", "--set", "envoyFilter.messageTimeout=0.1s"}, "must exceed config.budget"},
		{[]string{"--set", "envoyFilter.enabled=true", "--set", "envoyFilter.messageTimeout=6s"}, "maxMessageTimeout"},
	} {
		args := append([]string{"template", release, chartDir, "-n", namespace}, tc.set...)
		out, err := runHelm(t, args...)
		if err == nil {
			t.Errorf("%v rendered; want an error:\n%.300s", tc.set, out)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error does not mention %q: %v", tc.set, tc.want, err)
		}
	}
}
