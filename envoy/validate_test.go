package envoy_test

// Validation of envoy.yaml and istio/envoyfilter.yaml without Envoy
// (../shared/docs/envoy-extproc-notes.md, section 2):
//
//  1. YAML → JSON (gopkg.in/yaml.v3 into interface{}, then encoding/json);
//  2. strict protojson into the Envoy type: unknown fields, non-protobuf
//     durations and unresolvable "@type"s (see types_test.go) are errors;
//  3. ValidateAll (protoc-gen-validate rules) on the message and, through a
//     protoreflect walk, on every Any it contains (singular, repeated, map
//     values such as typed_per_filter_config), recursively;
//  4. our own lint rules for what the firewall's fail-closed behaviour relies
//     on and what Envoy only checks at load time.
//
// What this cannot prove: that the Envoy actually deployed accepts the config.
// The types are go-control-plane v1.40.0; an older Envoy (istio-proxy, Envoy
// Gateway's image) may not know a field v1.40 knows. TestEnvoyBinaryValidate
// and realenvoy_test.go run the pinned Envoy's own loader (LLMFW_ENVOY).

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"gopkg.in/yaml.v3"
)

const (
	bootstrapFile   = "envoy.yaml"
	envoyFilterFile = "istio/envoyfilter.yaml"

	hcmFilterName     = "envoy.filters.network.http_connection_manager"
	extProcFilterName = "envoy.filters.http.ext_proc"
	routerFilterName  = "envoy.filters.http.router"
	httpProtoOptsKey  = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

	serverBudget          = 150 * time.Millisecond // LLMFW_BUDGET default
	envoyDefaultMsgTimout = 200 * time.Millisecond // message_timeout when unset
	minBufferBytes        = 1 << 20                // policy max_body_bytes of the default policy
	metadataNamespace     = "llmfw"
	routeNameAttribute    = "xds.route_name"

	// targetEnvoy is the Envoy the configs are written for (Envoy 1.36.x, the
	// istio-proxy of Istio 1.28, in development). protocol_config in the first
	// ProcessingRequest needs 1.35; older Envoys also lack fields we set.
	targetEnvoy       = "Envoy >= 1.35"
	targetEnvoyMinor  = 35
	targetEnvoyHeader = "# Targets " + targetEnvoy + " (sends protocol_config; status_on_error, max_message_timeout, request_attributes)"
	healthRouteName   = "healthz"
)

// ---------------------------------------------------------------------------
// Decoding and schema validation

// yamlToJSON converts YAML to JSON with yaml.v3 and encoding/json.
func yamlToJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	v, err := jsonCompatible(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonCompatible turns yaml.v3's map[any]any (non-string keys) into
// map[string]any so encoding/json can marshal it.
func jsonCompatible(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = c
		}
		return m, nil
	case []any:
		for i, e := range t {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	case time.Time:
		return nil, fmt.Errorf("YAML timestamp %v: quote it", t)
	default:
		return v, nil
	}
}

// strict is protojson with unknown fields refused and "@type" resolved
// through protoregistry.GlobalTypes.
var strict = protojson.UnmarshalOptions{DiscardUnknown: false}

func decodeBootstrapJSON(js []byte) (*bootstrapv3.Bootstrap, error) {
	b := &bootstrapv3.Bootstrap{}
	if err := strict.Unmarshal(js, b); err != nil {
		return nil, err
	}
	return b, nil
}

func readBootstrapJSON(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(bootstrapFile)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yamlToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", bootstrapFile, err)
	}
	return js
}

func loadBootstrap(t *testing.T) *bootstrapv3.Bootstrap {
	t.Helper()
	b, err := decodeBootstrapJSON(readBootstrapJSON(t))
	if err != nil {
		t.Fatalf("%s: strict protojson: %v", bootstrapFile, err)
	}
	return b
}

type validator interface{ ValidateAll() error }

// validateDeep runs ValidateAll on m and on every Any reachable from it.
// visited, if not nil, is called with the path of every Any unpacked.
func validateDeep(m proto.Message, visited func(path string)) []error {
	var errs []error
	name := string(m.ProtoReflect().Descriptor().Name())
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return append(errs, walkAnys(name, m.ProtoReflect(), visited)...)
}

// walkAnys finds every Any below m (singular, repeated, map values), unpacks
// it with UnmarshalNew, validates the content and recurses into it.
func walkAnys(path string, m protoreflect.Message, visited func(string)) []error {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return []error{fmt.Errorf("%s: unpack %q: %w", path, a.GetTypeUrl(), err)}
		}
		if visited != nil {
			visited(path)
		}
		var errs []error
		if v, ok := inner.(validator); ok {
			if err := v.ValidateAll(); err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", path, a.GetTypeUrl(), err))
			}
		}
		inPath := path + "<" + string(inner.ProtoReflect().Descriptor().Name()) + ">"
		return append(errs, walkAnys(inPath, inner.ProtoReflect(), visited)...)
	}
	var errs []error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := path + "." + string(fd.Name())
		isMsg := func(k protoreflect.Kind) bool {
			return k == protoreflect.MessageKind || k == protoreflect.GroupKind
		}
		switch {
		case fd.IsMap():
			if isMsg(fd.MapValue().Kind()) {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					errs = append(errs, walkAnys(fmt.Sprintf("%s[%q]", p, k.String()), mv.Message(), visited)...)
					return true
				})
			}
		case fd.IsList():
			if isMsg(fd.Kind()) {
				l := v.List()
				for i := range l.Len() {
					errs = append(errs, walkAnys(fmt.Sprintf("%s[%d]", p, i), l.Get(i).Message(), visited)...)
				}
			}
		case isMsg(fd.Kind()):
			errs = append(errs, walkAnys(p, v.Message(), visited)...)
		}
		return true
	})
	return errs
}

// ---------------------------------------------------------------------------
// Lint rules (what the firewall relies on, and what Envoy checks elsewhere)

// checkBootstrap is the whole validator: schema rules plus lint rules.
func checkBootstrap(b *bootstrapv3.Bootstrap) []error {
	return append(validateDeep(b, nil), lintBootstrap(b)...)
}

type hcmAt struct {
	path     string
	listener *listenerv3.Listener
	hcm      *hcmv3.HttpConnectionManager
}

func findHCMs(b *bootstrapv3.Bootstrap) ([]hcmAt, []error) {
	var out []hcmAt
	var errs []error
	for _, l := range b.GetStaticResources().GetListeners() {
		chains := l.GetFilterChains()
		if l.GetDefaultFilterChain() != nil {
			chains = append(chains, l.GetDefaultFilterChain())
		}
		for i, fc := range chains {
			for j, f := range fc.GetFilters() {
				a := f.GetTypedConfig()
				if a == nil || !a.MessageIs(&hcmv3.HttpConnectionManager{}) {
					continue
				}
				h := &hcmv3.HttpConnectionManager{}
				path := fmt.Sprintf("listener %q filter_chains[%d].filters[%d]", l.GetName(), i, j)
				if err := a.UnmarshalTo(h); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", path, err))
					continue
				}
				out = append(out, hcmAt{path: path, listener: l, hcm: h})
			}
		}
	}
	return out, errs
}

func lintBootstrap(b *bootstrapv3.Bootstrap) []error {
	clusters := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		clusters[c.GetName()] = c
	}
	hcms, errs := findHCMs(b)
	if len(hcms) == 0 {
		errs = append(errs, errors.New("no listener with an http_connection_manager"))
	}
	for _, h := range hcms {
		errs = append(errs, lintHCM(h, clusters)...)
	}
	return errs
}

func lintHCM(h hcmAt, clusters map[string]*clusterv3.Cluster) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(h.path+": "+format, args...))
	}
	filters := h.hcm.GetHttpFilters()
	names := map[string]bool{}
	for _, f := range filters {
		names[f.GetName()] = true
	}
	if n := len(filters); n == 0 || !isRouter(filters[n-1]) {
		bad("the router (%s) must be the last HTTP filter", routerFilterName)
	}
	found := 0
	for i, f := range filters {
		a := f.GetTypedConfig()
		if a == nil || !a.MessageIs(&extprocv3.ExternalProcessor{}) {
			continue
		}
		found++
		ep := &extprocv3.ExternalProcessor{}
		if err := a.UnmarshalTo(ep); err != nil {
			bad("http_filters[%d]: %v", i, err)
			continue
		}
		fpath := fmt.Sprintf("%s http_filters[%d] %q", h.path, i, f.GetName())
		errs = append(errs, lintExtProc(fpath, ep)...)
		// The side stream's cluster.
		if cn := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName(); cn != "" {
			c, ok := clusters[cn]
			switch {
			case !ok:
				bad("ext_proc grpc_service cluster %q is not a static cluster", cn)
			case !hasHTTP2(c):
				bad("ext_proc cluster %q has no HTTP/2 (typed_extension_protocol_options %s explicit_http_config.http2_protocol_options); gRPC needs it", cn, httpProtoOptsKey)
			}
		}
		// BUFFERED bodies must fit the downstream buffer.
		limit := h.listener.GetPerConnectionBufferLimitBytes()
		if limit == nil || limit.GetValue() < minBufferBytes {
			bad("listener per_connection_buffer_limit_bytes %v: must be set to at least %d (1 MiB) so BUFFERED bodies reach the firewall instead of Envoy's 413", limit.GetValue(), minBufferBytes)
		} else if mr := ep.GetGrpcService().GetEnvoyGrpc().GetMaxReceiveMessageLength(); mr != nil && mr.GetValue() != 0 && mr.GetValue() < limit.GetValue() {
			bad("max_receive_message_length %d below per_connection_buffer_limit_bytes %d: a full-size body mutation would be refused", mr.GetValue(), limit.GetValue())
		}
	}
	if found == 0 {
		bad("no %s filter (ExternalProcessor)", extProcFilterName)
	}

	rc := h.hcm.GetRouteConfig()
	if rc == nil {
		bad("route_config must be inline (RDS cannot be checked here)")
		return errs
	}
	// directResponse: the config sits on a route answered by Envoy itself,
	// the only place ExtProcPerRoute disabled: true is allowed.
	checkTPFC := func(where string, m map[string]*anypb.Any, directResponse bool) {
		for k, a := range m {
			if !names[k] {
				bad("%s: typed_per_filter_config key %q names no HTTP filter (filters: %v)", where, k, slices.Sorted(maps.Keys(names)))
				continue
			}
			if a.MessageIs(&extprocv3.ExtProcPerRoute{}) {
				pr := &extprocv3.ExtProcPerRoute{}
				if err := a.UnmarshalTo(pr); err != nil {
					bad("%s: %v", where, err)
					continue
				}
				errs = append(errs, lintExtProcPerRoute(h.path+" "+where, pr, directResponse)...)
			}
		}
	}
	checkTPFC("route_config", rc.GetTypedPerFilterConfig(), false)
	for _, vh := range rc.GetVirtualHosts() {
		vwhere := fmt.Sprintf("virtual_host %q", vh.GetName())
		checkTPFC(vwhere, vh.GetTypedPerFilterConfig(), false)
		for i, r := range vh.GetRoutes() {
			where := fmt.Sprintf("%s route[%d] %q", vwhere, i, r.GetName())
			checkTPFC(where, r.GetTypedPerFilterConfig(), r.GetDirectResponse() != nil)
			ra := r.GetRoute()
			if ra == nil {
				continue
			}
			if cn := ra.GetCluster(); cn != "" && clusters[cn] == nil {
				bad("%s: route to unknown cluster %q", where, cn)
			}
			for _, wc := range ra.GetWeightedClusters().GetClusters() {
				if clusters[wc.GetName()] == nil {
					bad("%s: weighted route to unknown cluster %q", where, wc.GetName())
				}
				checkTPFC(where+" weighted cluster "+wc.GetName(), wc.GetTypedPerFilterConfig(), false)
			}
		}
	}
	return errs
}

func isRouter(f *hcmv3.HttpFilter) bool {
	if a := f.GetTypedConfig(); a != nil {
		return a.MessageIs(&routerv3.Router{})
	}
	return f.GetName() == routerFilterName
}

func hasHTTP2(c *clusterv3.Cluster) bool {
	a := c.GetTypedExtensionProtocolOptions()[httpProtoOptsKey]
	if a == nil {
		return false
	}
	o := &upstreamhttpv3.HttpProtocolOptions{}
	if err := a.UnmarshalTo(o); err != nil {
		return false
	}
	return o.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
}

// lintExtProc checks one ExternalProcessor against what the firewall needs.
// Cluster and buffer checks need the surrounding config (lintHCM).
func lintExtProc(path string, ep *extprocv3.ExternalProcessor) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(path+": "+format, args...))
	}
	// Semantic rules Envoy checks in config.cc, not in PGV.
	switch {
	case ep.GetGrpcService() == nil:
		bad("grpc_service is required (http_service sends headers only)")
	case ep.GetHttpService() != nil:
		bad("grpc_service and http_service are exclusive")
	case ep.GetGrpcService().GetEnvoyGrpc() == nil:
		bad("grpc_service must use envoy_grpc (a cluster)")
	}
	if ep.GetRouteCacheAction() != extprocv3.ExternalProcessor_DEFAULT && ep.GetDisableClearRouteCache() {
		bad("route_cache_action and disable_clear_route_cache are exclusive")
	}
	if mr := ep.GetGrpcService().GetEnvoyGrpc().GetMaxReceiveMessageLength(); mr == nil || mr.GetValue() < minBufferBytes {
		bad("envoy_grpc.max_receive_message_length %d: must be set to at least %d (1 MiB) for BUFFERED bodies", mr.GetValue(), minBufferBytes)
	}
	// Fail closed.
	if ep.GetFailureModeAllow() {
		bad("failure_mode_allow must be false: a timeout or gRPC error would let requests through unscanned")
	}
	if ep.GetObservabilityMode() {
		bad("observability_mode must be false: replies are ignored, nothing can be blocked")
	}
	msgTimeout := envoyDefaultMsgTimout
	if d := ep.GetMessageTimeout(); d != nil {
		msgTimeout = d.AsDuration()
	}
	if msgTimeout <= serverBudget {
		bad("message_timeout %v must be above the firewall budget LLMFW_BUDGET=%v, or Envoy's bare 504 preempts the firewall's own reply", msgTimeout, serverBudget)
	}
	if mx := ep.GetMaxMessageTimeout(); mx != nil && mx.AsDuration() > 0 && msgTimeout > mx.AsDuration() {
		bad("message_timeout %v exceeds max_message_timeout %v", msgTimeout, mx.AsDuration())
	}
	pm := ep.GetProcessingMode()
	if pm == nil {
		bad("processing_mode is required (the default sends no bodies)")
	} else {
		if m := pm.GetRequestBodyMode(); m != extprocv3.ProcessingMode_BUFFERED {
			bad("processing_mode.request_body_mode %s: must be BUFFERED (BUFFERED_PARTIAL lets the tail bypass the scan; the firewall refuses it and FULL_DUPLEX_STREAMED)", m)
		}
		if m := pm.GetResponseBodyMode(); m != extprocv3.ProcessingMode_BUFFERED {
			bad("processing_mode.response_body_mode %s: must be BUFFERED", m)
		}
		for name, m := range map[string]extprocv3.ProcessingMode_HeaderSendMode{
			"request_header_mode":  pm.GetRequestHeaderMode(),
			"response_header_mode": pm.GetResponseHeaderMode(),
		} {
			if m == extprocv3.ProcessingMode_SKIP {
				bad("processing_mode.%s SKIP: headers must be sent (BUFFERED with headers SKIP drops content-length and the policy context)", name)
			}
		}
	}
	errs = append(errs, lintModeOverride(path, ep)...)
	if !slices.Contains(ep.GetMetadataOptions().GetReceivingNamespaces().GetUntyped(), metadataNamespace) {
		bad("metadata_options.receiving_namespaces.untyped must contain %q, or the decision metadata is dropped", metadataNamespace)
	}
	if !slices.Contains(ep.GetRequestAttributes(), routeNameAttribute) {
		bad("request_attributes must contain %q (per-route policy selection)", routeNameAttribute)
	}
	return errs
}

// lintModeOverride: allow_mode_override lets the server change the body
// modes per stream. It is safe only with allowed_override_modes listing
// scanning modes (an empty list admits any override, NONE included), and
// every listed mode must keep the request BUFFERED and the response
// BUFFERED or STREAMED (which the firewall scans as it arrives).
func lintModeOverride(path string, ep *extprocv3.ExternalProcessor) []error {
	if !ep.GetAllowModeOverride() {
		return nil
	}
	var errs []error
	modes := ep.GetAllowedOverrideModes()
	if len(modes) == 0 {
		return []error{fmt.Errorf("%s: allow_mode_override without allowed_override_modes admits any override, body mode NONE included", path)}
	}
	for i, m := range modes {
		if m.GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED {
			errs = append(errs, fmt.Errorf("%s: allowed_override_modes[%d].request_body_mode %s: must be BUFFERED", path, i, m.GetRequestBodyMode()))
		}
		switch m.GetResponseBodyMode() {
		case extprocv3.ProcessingMode_BUFFERED, extprocv3.ProcessingMode_STREAMED:
		default:
			errs = append(errs, fmt.Errorf("%s: allowed_override_modes[%d].response_body_mode %s: must be BUFFERED or STREAMED", path, i, m.GetResponseBodyMode()))
		}
		if m.GetRequestHeaderMode() == extprocv3.ProcessingMode_SKIP || m.GetResponseHeaderMode() == extprocv3.ProcessingMode_SKIP {
			errs = append(errs, fmt.Errorf("%s: allowed_override_modes[%d]: header modes must not be SKIP", path, i))
		}
	}
	return errs
}

// lintExtProcPerRoute checks the per-route overrides that could undo the
// fail-closed settings. directResponse tells whether pr sits on a route
// answered by Envoy itself (direct_response): only there may the filter be
// disabled, because no request on it reaches an upstream.
func lintExtProcPerRoute(path string, pr *extprocv3.ExtProcPerRoute, directResponse bool) []error {
	var errs []error
	if pr.GetDisabled() && !directResponse {
		errs = append(errs, fmt.Errorf("%s: ExtProcPerRoute disabled: true is allowed only on a route whose action is direct_response; here requests would reach the upstream unscanned", path))
	}
	o := pr.GetOverrides()
	if o == nil {
		return errs
	}
	if o.GetFailureModeAllow().GetValue() {
		errs = append(errs, fmt.Errorf("%s: ExtProcPerRoute overrides.failure_mode_allow must not be true", path))
	}
	if pm := o.GetProcessingMode(); pm != nil {
		for name, m := range map[string]extprocv3.ProcessingMode_BodySendMode{
			"request_body_mode":  pm.GetRequestBodyMode(),
			"response_body_mode": pm.GetResponseBodyMode(),
		} {
			if m == extprocv3.ProcessingMode_BUFFERED_PARTIAL || m == extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED {
				errs = append(errs, fmt.Errorf("%s: ExtProcPerRoute overrides.processing_mode.%s %s is refused by the firewall", path, name, m))
			}
		}
		if pm.GetRequestBodyMode() == extprocv3.ProcessingMode_NONE {
			errs = append(errs, fmt.Errorf("%s: ExtProcPerRoute overrides.processing_mode replaces the mode wholesale; request_body_mode NONE would stop prompt scanning", path))
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Tests: envoy.yaml

func TestBootstrapStrictProtoJSON(t *testing.T) {
	b := loadBootstrap(t)
	if got := b.GetAdmin().GetAddress().GetSocketAddress(); got.GetAddress() != "127.0.0.1" || got.GetPortValue() != 9901 {
		t.Errorf("admin address %v, want 127.0.0.1:9901", got)
	}
}

func TestBootstrapSchemaValidation(t *testing.T) {
	b := loadBootstrap(t)
	var anys []string
	for _, err := range validateDeep(b, func(p string) { anys = append(anys, p) }) {
		t.Error(err)
	}
	// HCM, access log, ext_proc, router, ExtProcPerRoute, HttpProtocolOptions,
	// two UpstreamTlsContexts: the walker must have unpacked all of them.
	if len(anys) < 8 {
		t.Errorf("walker unpacked %d Anys, want at least 8: %v", len(anys), anys)
	}
	t.Logf("validated %d Anys", len(anys))
}

func TestBootstrapLint(t *testing.T) {
	b := loadBootstrap(t)
	for _, err := range lintBootstrap(b) {
		t.Error(err)
	}
}

// TestBootstrapContents pins the deployment choices the brief asks for, so
// an edit that silently drops one is noticed.
func TestBootstrapContents(t *testing.T) {
	b := loadBootstrap(t)
	hcms, errs := findHCMs(b)
	if len(errs) > 0 || len(hcms) != 1 {
		t.Fatalf("want one HCM, got %d (%v)", len(hcms), errs)
	}
	h := hcms[0]
	if a := h.listener.GetAddress().GetSocketAddress(); a.GetPortValue() != 10000 {
		t.Errorf("listener port %d, want 10000", a.GetPortValue())
	}
	filters := h.hcm.GetHttpFilters()
	if len(filters) != 2 || filters[0].GetName() != extProcFilterName {
		t.Fatalf("http_filters %v, want [ext_proc, router]", filters)
	}
	ep := &extprocv3.ExternalProcessor{}
	if err := filters[0].GetTypedConfig().UnmarshalTo(ep); err != nil {
		t.Fatal(err)
	}
	if got := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName(); got != "llm-firewall" {
		t.Errorf("ext_proc cluster %q", got)
	}
	if got := ep.GetGrpcService().GetEnvoyGrpc().GetMaxReceiveMessageLength().GetValue(); got != 16<<20 {
		t.Errorf("max_receive_message_length %d, want 16 MiB (LLMFW_MAX_RECV_BYTES)", got)
	}
	if got := ep.GetStatusOnError().GetCode(); got != 500 {
		t.Errorf("status_on_error %v, want 500", got)
	}
	if !slices.Contains(ep.GetRequestAttributes(), "xds.route_metadata.filter_metadata['llmfw']['policy']") {
		t.Error("request_attributes lacks the route-metadata policy selector")
	}
	want := map[string]string{
		"/v1/chat/completions": "openai", "/v1/responses": "openai", "/v1/completions": "openai",
		"/v1/embeddings": "openai", "/v1/messages": "anthropic",
	}
	sawPolicyOverride := false
	for _, r := range h.hcm.GetRouteConfig().GetVirtualHosts()[0].GetRoutes() {
		p := r.GetMatch().GetPath() + r.GetMatch().GetPathSeparatedPrefix()
		if c, ok := want[p]; ok {
			if r.GetName() == "" || r.GetRoute().GetCluster() != c || !r.GetRoute().GetAutoHostRewrite().GetValue() {
				t.Errorf("route %s: name %q cluster %q auto_host_rewrite %v, want named route to %s with auto_host_rewrite", p, r.GetName(), r.GetRoute().GetCluster(), r.GetRoute().GetAutoHostRewrite(), c)
			}
			delete(want, p)
		}
		if a := r.GetTypedPerFilterConfig()[extProcFilterName]; a != nil {
			pr := &extprocv3.ExtProcPerRoute{}
			if err := a.UnmarshalTo(pr); err != nil {
				t.Fatal(err)
			}
			for _, md := range pr.GetOverrides().GetGrpcInitialMetadata() {
				if md.GetKey() == "x-llmfw-policy" && md.GetValue() == "strict" {
					sawPolicyOverride = true
				}
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("routes missing: %v", want)
	}
	if !sawPolicyOverride {
		t.Error("no route selects a policy with ExtProcPerRoute grpc_initial_metadata x-llmfw-policy")
	}
	// The health route: answered 200 by Envoy, the only route with ext_proc
	// disabled, and before the catch-all deny (or it would be unreachable).
	routes := h.hcm.GetRouteConfig().GetVirtualHosts()[0].GetRoutes()
	healthIdx, denyIdx := -1, -1
	var disabled []string
	for i, r := range routes {
		switch r.GetName() {
		case healthRouteName:
			healthIdx = i
		case "default-deny":
			denyIdx = i
		}
		if a := r.GetTypedPerFilterConfig()[extProcFilterName]; a != nil {
			pr := &extprocv3.ExtProcPerRoute{}
			if err := a.UnmarshalTo(pr); err != nil {
				t.Fatal(err)
			}
			if pr.GetDisabled() {
				disabled = append(disabled, r.GetName())
			}
		}
	}
	if healthIdx < 0 {
		t.Fatalf("no route %q", healthRouteName)
	}
	hr := routes[healthIdx]
	if hr.GetMatch().GetPath() != "/healthz" || hr.GetDirectResponse().GetStatus() != 200 {
		t.Errorf("route %q: match %v direct_response %v, want path /healthz answered 200 by direct_response", healthRouteName, hr.GetMatch(), hr.GetDirectResponse())
	}
	if denyIdx >= 0 && healthIdx > denyIdx {
		t.Errorf("route %q (index %d) comes after default-deny (index %d) and is unreachable", healthRouteName, healthIdx, denyIdx)
	}
	if !slices.Equal(disabled, []string{healthRouteName}) {
		t.Errorf("routes with ext_proc disabled: %v, want only [%s]", disabled, healthRouteName)
	}
	fw := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		fw[c.GetName()] = c
	}
	hc := fw["llm-firewall"].GetHealthChecks()
	if len(hc) != 1 || hc[0].GetGrpcHealthCheck().GetServiceName() != "envoy.service.ext_proc.v3.ExternalProcessor" {
		t.Errorf("llm-firewall health check %v, want gRPC health for the ext_proc service", hc)
	}
	for _, name := range []string{"openai", "anthropic"} {
		ts := fw[name].GetTransportSocket()
		if ts == nil || !strings.Contains(ts.GetTypedConfig().GetTypeUrl(), "UpstreamTlsContext") {
			t.Errorf("cluster %s: no upstream TLS", name)
		}
	}
	js := string(readBootstrapJSON(t))
	for _, s := range []string{"%DYNAMIC_METADATA(llmfw:decision_id)%", "%DYNAMIC_METADATA(llmfw:action)%"} {
		if !strings.Contains(js, s) {
			t.Errorf("access log format lacks %s", s)
		}
	}
}

// Negative tests: the validator must fail on each of these mutations.

// editExtProc applies f to the ext_proc filter config of the (only) HCM.
func editExtProc(t *testing.T, b *bootstrapv3.Bootstrap, f func(*extprocv3.ExternalProcessor)) {
	editHCM(t, b, func(h *hcmv3.HttpConnectionManager) {
		for _, hf := range h.GetHttpFilters() {
			if hf.GetName() != extProcFilterName {
				continue
			}
			ep := &extprocv3.ExternalProcessor{}
			if err := hf.GetTypedConfig().UnmarshalTo(ep); err != nil {
				t.Fatal(err)
			}
			f(ep)
			hf.ConfigType = &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, ep)}
			return
		}
		t.Fatal("no ext_proc filter")
	})
}

func editHCM(t *testing.T, b *bootstrapv3.Bootstrap, f func(*hcmv3.HttpConnectionManager)) {
	t.Helper()
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, nf := range fc.GetFilters() {
				if nf.GetName() != hcmFilterName {
					continue
				}
				h := &hcmv3.HttpConnectionManager{}
				if err := nf.GetTypedConfig().UnmarshalTo(h); err != nil {
					t.Fatal(err)
				}
				f(h)
				nf.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, h)}
				return
			}
		}
	}
	t.Fatal("no HCM")
}

func editRoute(t *testing.T, b *bootstrapv3.Bootstrap, name string, f func(*routev3.Route)) {
	editHCM(t, b, func(h *hcmv3.HttpConnectionManager) {
		for _, vh := range h.GetRouteConfig().GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				if r.GetName() == name {
					f(r)
					return
				}
			}
		}
		t.Fatalf("no route %q", name)
	})
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func clusterByName(b *bootstrapv3.Bootstrap, name string) *clusterv3.Cluster {
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

func TestBootstrapValidatorRejectsMutations(t *testing.T) {
	base := loadBootstrap(t)
	if errs := checkBootstrap(base); len(errs) > 0 {
		t.Fatalf("pristine config must pass: %v", errs)
	}
	cases := []struct {
		name   string
		mutate func(t *testing.T, b *bootstrapv3.Bootstrap)
		want   string // substring of one reported error
	}{
		{"failure_mode_allow true", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.FailureModeAllow = true })
		}, "failure_mode_allow must be false"},
		{"request body BUFFERED_PARTIAL", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) {
				ep.ProcessingMode.RequestBodyMode = extprocv3.ProcessingMode_BUFFERED_PARTIAL
			})
		}, "request_body_mode BUFFERED_PARTIAL"},
		{"response body FULL_DUPLEX_STREAMED", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) {
				ep.ProcessingMode.ResponseBodyMode = extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED
			})
		}, "response_body_mode FULL_DUPLEX_STREAMED"},
		{"response body NONE", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) {
				ep.ProcessingMode.ResponseBodyMode = extprocv3.ProcessingMode_NONE
			})
		}, "response_body_mode NONE"},
		{"request headers SKIP", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) {
				ep.ProcessingMode.RequestHeaderMode = extprocv3.ProcessingMode_SKIP
			})
		}, "request_header_mode SKIP"},
		{"mode override without allowed modes", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.AllowedOverrideModes = nil })
		}, "admits any override"},
		{"mode override to NONE", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) {
				ep.AllowedOverrideModes[0].ResponseBodyMode = extprocv3.ProcessingMode_NONE
			})
		}, "allowed_override_modes[0].response_body_mode NONE"},
		{"no processing_mode", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.ProcessingMode = nil })
		}, "processing_mode is required"},
		{"router first", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editHCM(t, b, func(h *hcmv3.HttpConnectionManager) {
				f := h.HttpFilters
				f[0], f[len(f)-1] = f[len(f)-1], f[0]
			})
		}, "must be the last HTTP filter"},
		{"message_timeout 0.1s", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.MessageTimeout = durationpb.New(100 * time.Millisecond) })
		}, "must be above the firewall budget"},
		{"positive: message_timeout unset, Envoy default 200ms is above the budget", nil, ""},
		{"message_timeout above max_message_timeout", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.MessageTimeout = durationpb.New(10 * time.Second) })
		}, "exceeds max_message_timeout"},
		{"message_timeout 7200s (PGV range, found in the Any)", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) {
				ep.MessageTimeout = durationpb.New(2 * time.Hour)
				ep.MaxMessageTimeout = durationpb.New(2 * time.Hour)
			})
		}, "MessageTimeout"},
		{"observability_mode true", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.ObservabilityMode = true })
		}, "observability_mode must be false"},
		{"receiving_namespaces without llmfw", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.MetadataOptions = nil })
		}, "receiving_namespaces"},
		{"request_attributes without xds.route_name", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.RequestAttributes = []string{"request.path"} })
		}, "request_attributes must contain"},
		{"max_receive_message_length 64 KiB", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) {
				ep.GetGrpcService().GetEnvoyGrpc().MaxReceiveMessageLength = wrapperspb.UInt32(64 << 10)
			})
		}, "max_receive_message_length"},
		{"http_service instead of grpc_service", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.GrpcService = nil })
		}, "grpc_service is required"},
		{"per_connection_buffer_limit_bytes 64 KiB", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			b.StaticResources.Listeners[0].PerConnectionBufferLimitBytes = wrapperspb.UInt32(64 << 10)
		}, "per_connection_buffer_limit_bytes"},
		{"per_connection_buffer_limit_bytes unset", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			b.StaticResources.Listeners[0].PerConnectionBufferLimitBytes = nil
		}, "per_connection_buffer_limit_bytes"},
		{"ext_proc cluster missing", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) {
				ep.GetGrpcService().GetEnvoyGrpc().ClusterName = "llm-firewal"
			})
		}, `ext_proc grpc_service cluster "llm-firewal" is not a static cluster`},
		{"ext_proc cluster without HTTP/2", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			clusterByName(b, "llm-firewall").TypedExtensionProtocolOptions = nil
		}, "has no HTTP/2"},
		{"route to unknown cluster", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editRoute(t, b, "anthropic-messages", func(r *routev3.Route) {
				r.GetRoute().ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: "anthropik"}
			})
		}, `route to unknown cluster "anthropik"`},
		{"typed_per_filter_config key names no filter", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editRoute(t, b, "openai-chat", func(r *routev3.Route) {
				a := r.TypedPerFilterConfig[extProcFilterName]
				delete(r.TypedPerFilterConfig, extProcFilterName)
				r.TypedPerFilterConfig["envoy.filters.http.extproc"] = a
			})
		}, `typed_per_filter_config key "envoy.filters.http.extproc" names no HTTP filter`},
		{"ExtProcPerRoute disabled:false (PGV, map-value Any)", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editRoute(t, b, "openai-chat", func(r *routev3.Route) {
				r.TypedPerFilterConfig[extProcFilterName] = mustAny(t, &extprocv3.ExtProcPerRoute{
					Override: &extprocv3.ExtProcPerRoute_Disabled{Disabled: false},
				})
			})
		}, "Disabled"},
		{"empty ExtProcPerRoute (PGV oneof required)", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editRoute(t, b, "openai-chat", func(r *routev3.Route) {
				r.TypedPerFilterConfig[extProcFilterName] = mustAny(t, &extprocv3.ExtProcPerRoute{})
			})
		}, "ExtProcPerRoute"},
		{"per-route failure_mode_allow", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editRoute(t, b, "openai-chat", func(r *routev3.Route) {
				r.TypedPerFilterConfig[extProcFilterName] = mustAny(t, &extprocv3.ExtProcPerRoute{
					Override: &extprocv3.ExtProcPerRoute_Overrides{Overrides: &extprocv3.ExtProcOverrides{
						FailureModeAllow: wrapperspb.Bool(true),
					}},
				})
			})
		}, "overrides.failure_mode_allow must not be true"},
		{"per-route BUFFERED_PARTIAL", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editRoute(t, b, "openai-chat", func(r *routev3.Route) {
				r.TypedPerFilterConfig[extProcFilterName] = mustAny(t, &extprocv3.ExtProcPerRoute{
					Override: &extprocv3.ExtProcPerRoute_Overrides{Overrides: &extprocv3.ExtProcOverrides{
						ProcessingMode: &extprocv3.ProcessingMode{
							RequestBodyMode:  extprocv3.ProcessingMode_BUFFERED_PARTIAL,
							ResponseBodyMode: extprocv3.ProcessingMode_BUFFERED,
						},
					}},
				})
			})
		}, "request_body_mode BUFFERED_PARTIAL is refused"},
		{"ExtProcPerRoute disabled:true on a proxied route", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editRoute(t, b, "openai-chat", func(r *routev3.Route) {
				r.TypedPerFilterConfig[extProcFilterName] = mustAny(t, &extprocv3.ExtProcPerRoute{
					Override: &extprocv3.ExtProcPerRoute_Disabled{Disabled: true},
				})
			})
		}, "disabled: true is allowed only on a route whose action is direct_response"},
		{"health route proxied with ext_proc still disabled", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editRoute(t, b, healthRouteName, func(r *routev3.Route) {
				r.Action = &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "openai"},
				}}
			})
		}, "disabled: true is allowed only on a route whose action is direct_response"},
		{"ExtProcPerRoute disabled:true on the virtual host", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			editHCM(t, b, func(h *hcmv3.HttpConnectionManager) {
				h.GetRouteConfig().GetVirtualHosts()[0].TypedPerFilterConfig = map[string]*anypb.Any{
					extProcFilterName: mustAny(t, &extprocv3.ExtProcPerRoute{
						Override: &extprocv3.ExtProcPerRoute_Disabled{Disabled: true},
					}),
				}
			})
		}, `virtual_host "llm_apis": ExtProcPerRoute disabled: true is allowed only`},
		{"negative connect_timeout (PGV on Cluster)", func(t *testing.T, b *bootstrapv3.Bootstrap) {
			clusterByName(b, "openai").ConnectTimeout = durationpb.New(-time.Second)
		}, "ConnectTimeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := proto.Clone(base).(*bootstrapv3.Bootstrap)
			if tc.mutate == nil {
				editExtProc(t, b, func(ep *extprocv3.ExternalProcessor) { ep.MessageTimeout = nil })
				if errs := checkBootstrap(b); len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			tc.mutate(t, b)
			errs := checkBootstrap(b)
			if !anyContains(errs, tc.want) {
				t.Fatalf("validator did not report %q; got %d errors: %v", tc.want, len(errs), errs)
			}
			t.Logf("reported: %v", errs)
		})
	}
}

// Mutations that can only be made in the text: the strict decoder must
// refuse them.
func TestBootstrapDecoderRejectsTextMutations(t *testing.T) {
	js := string(readBootstrapJSON(t))
	cases := []struct {
		name, old, new, want string
	}{
		{"@type typo", "filters.http.ext_proc.v3.ExternalProcessor", "filters.http.ext_proc.v3.ExternalProcesor", "unable to resolve"},
		{"unregistered @type", "envoy.extensions.filters.http.router.v3.Router", "envoy.extensions.filters.http.lua.v3.Lua", "unable to resolve"},
		{"unknown field", `"failure_mode_allow"`, `"failure_mode_alow"`, "unknown field"},
		{"Go-style duration", `"message_timeout":"1s"`, `"message_timeout":"1000ms"`, "invalid google.protobuf.Duration"},
		{"enum typo", `"BUFFERED"`, `"BUFFERD"`, "enum"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(js, tc.old) {
				t.Fatalf("fixture no longer contains %q", tc.old)
			}
			_, err := decodeBootstrapJSON([]byte(strings.Replace(js, tc.old, tc.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decode error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestYAMLToJSONQuirks(t *testing.T) {
	js, err := yamlToJSON([]byte("a: on\nb: 0.25s\n1: x\nc: [yes, 2]\n"))
	if err != nil {
		t.Fatal(err)
	}
	// yaml.v3 keeps YAML 1.1 booleans (on/yes) as strings.
	if got, want := string(js), `{"1":"x","a":"on","b":"0.25s","c":["yes",2]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func anyContains(errs []error, s string) bool {
	for _, e := range errs {
		if strings.Contains(e.Error(), s) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Tests: istio/envoyfilter.yaml

type envoyFilter struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		WorkloadSelector struct {
			Labels map[string]string `json:"labels"`
		} `json:"workloadSelector"`
		ConfigPatches []configPatch `json:"configPatches"`
	} `json:"spec"`
}

type configPatch struct {
	ApplyTo string `json:"applyTo"`
	Match   struct {
		Context  string         `json:"context"`
		Listener map[string]any `json:"listener"`
	} `json:"match"`
	Patch struct {
		Operation string          `json:"operation"`
		Value     json.RawMessage `json:"value"`
	} `json:"patch"`
}

func loadEnvoyFilterJSON(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(envoyFilterFile)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yamlToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", envoyFilterFile, err)
	}
	return js
}

// newForApplyTo returns the Envoy type a complete patch value for applyTo is.
func newForApplyTo(applyTo string) (proto.Message, bool) {
	switch applyTo {
	case "HTTP_FILTER":
		return &hcmv3.HttpFilter{}, true
	case "NETWORK_FILTER", "LISTENER_FILTER":
		return &listenerv3.Filter{}, true
	case "LISTENER":
		return &listenerv3.Listener{}, true
	case "FILTER_CHAIN":
		return &listenerv3.FilterChain{}, true
	case "CLUSTER":
		return &clusterv3.Cluster{}, true
	case "HTTP_ROUTE":
		return &routev3.Route{}, true
	case "VIRTUAL_HOST":
		return &routev3.VirtualHost{}, true
	case "ROUTE_CONFIGURATION":
		return &routev3.RouteConfiguration{}, true
	}
	return nil, false
}

// checkEnvoyFilter validates an EnvoyFilter given as JSON.
func checkEnvoyFilter(js []byte) []error {
	var ef envoyFilter
	if err := json.Unmarshal(js, &ef); err != nil {
		return []error{err}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if ef.APIVersion != "networking.istio.io/v1alpha3" || ef.Kind != "EnvoyFilter" {
		bad("apiVersion/kind %s/%s, want networking.istio.io/v1alpha3 EnvoyFilter", ef.APIVersion, ef.Kind)
	}
	if len(ef.Spec.ConfigPatches) == 0 {
		bad("no configPatches")
	}
	inserted := map[string]bool{} // HTTP filter names added by this EnvoyFilter
	sawExtProc := false
	for i, p := range ef.Spec.ConfigPatches {
		where := fmt.Sprintf("configPatches[%d] (%s %s)", i, p.ApplyTo, p.Patch.Operation)
		msg, ok := newForApplyTo(p.ApplyTo)
		if !ok {
			bad("%s: unsupported applyTo", where)
			continue
		}
		if err := strict.Unmarshal(p.Patch.Value, msg); err != nil {
			bad("%s: strict protojson: %v", where, err)
			continue
		}
		switch p.Patch.Operation {
		case "ADD", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "REPLACE":
			// Complete values: full schema validation, Anys included.
			errs = append(errs, prefixErrs(where, validateDeep(msg, nil))...)
		case "MERGE":
			// Partial values trip required-field rules; validate only the
			// typed_per_filter_config Anys they carry.
			if r, ok := msg.(*routev3.Route); ok {
				for k, a := range r.GetTypedPerFilterConfig() {
					errs = append(errs, prefixErrs(fmt.Sprintf("%s typed_per_filter_config[%q]", where, k), walkAnys("Any", a.ProtoReflect(), nil))...)
					if !inserted[k] && k != routerFilterName {
						bad("%s: typed_per_filter_config key %q names no HTTP filter this EnvoyFilter inserts", where, k)
					}
					pr := &extprocv3.ExtProcPerRoute{}
					if a.MessageIs(pr) {
						if err := a.UnmarshalTo(pr); err == nil {
							// A MERGE value only adds to the route Istio
							// generated; disabled is allowed only if the
							// value itself makes it a direct_response.
							errs = append(errs, lintExtProcPerRoute(where, pr, r.GetDirectResponse() != nil)...)
						}
					}
				}
			}
			if l, ok := msg.(*listenerv3.Listener); ok && l.GetPerConnectionBufferLimitBytes() != nil &&
				l.GetPerConnectionBufferLimitBytes().GetValue() < minBufferBytes {
				bad("%s: per_connection_buffer_limit_bytes %d below %d", where, l.GetPerConnectionBufferLimitBytes().GetValue(), minBufferBytes)
			}
		default:
			bad("%s: unknown operation", where)
		}
		if hf, ok := msg.(*hcmv3.HttpFilter); ok {
			inserted[hf.GetName()] = true
			a := hf.GetTypedConfig()
			if a != nil && a.MessageIs(&extprocv3.ExternalProcessor{}) {
				sawExtProc = true
				ep := &extprocv3.ExternalProcessor{}
				if err := a.UnmarshalTo(ep); err != nil {
					bad("%s: %v", where, err)
					continue
				}
				errs = append(errs, lintExtProc(where, ep)...)
				if !strings.HasPrefix(ep.GetGrpcService().GetEnvoyGrpc().GetClusterName(), "outbound|") {
					bad("%s: ext_proc cluster %q is not an Istio outbound cluster", where, ep.GetGrpcService().GetEnvoyGrpc().GetClusterName())
				}
				sub, _ := dig(p.Match.Listener, "filterChain", "filter", "subFilter", "name").(string)
				if p.Patch.Operation != "INSERT_BEFORE" || sub != routerFilterName {
					bad("%s: ext_proc must be INSERT_BEFORE subFilter %s (got %s %q)", where, routerFilterName, p.Patch.Operation, sub)
				}
			}
		}
	}
	if !sawExtProc {
		bad("no HTTP_FILTER patch inserting the ext_proc filter")
	}
	return errs
}

func dig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func prefixErrs(prefix string, errs []error) []error {
	for i, e := range errs {
		errs[i] = fmt.Errorf("%s: %w", prefix, e)
	}
	return errs
}

func TestEnvoyFilter(t *testing.T) {
	js := loadEnvoyFilterJSON(t)
	for _, err := range checkEnvoyFilter(js) {
		t.Error(err)
	}
	var ef envoyFilter
	if err := json.Unmarshal(js, &ef); err != nil {
		t.Fatal(err)
	}
	if ef.Spec.WorkloadSelector.Labels["istio"] != "ingressgateway" {
		t.Errorf("workloadSelector %v, want istio: ingressgateway", ef.Spec.WorkloadSelector.Labels)
	}
	sawRouteMerge := false
	for i, p := range ef.Spec.ConfigPatches {
		if p.Match.Context != "GATEWAY" {
			t.Errorf("configPatches[%d]: context %q, want GATEWAY", i, p.Match.Context)
		}
		if p.ApplyTo == "HTTP_ROUTE" && p.Patch.Operation == "MERGE" && strings.Contains(string(p.Patch.Value), "x-llmfw-policy") {
			sawRouteMerge = true
		}
	}
	if !sawRouteMerge {
		t.Error("no HTTP_ROUTE MERGE patch selecting a policy with x-llmfw-policy")
	}
	if !strings.Contains(string(js), `outbound|50051||llm-firewall.llm-firewall.svc.cluster.local`) {
		t.Error("ext_proc cluster is not outbound|50051||llm-firewall.llm-firewall.svc.cluster.local")
	}
}

func TestEnvoyFilterValidatorRejectsMutations(t *testing.T) {
	js := string(loadEnvoyFilterJSON(t))
	cases := []struct{ name, old, new, want string }{
		{"failure_mode_allow true", `"failure_mode_allow":false`, `"failure_mode_allow":true`, "failure_mode_allow must be false"},
		{"BUFFERED_PARTIAL", `"request_body_mode":"BUFFERED"`, `"request_body_mode":"BUFFERED_PARTIAL"`, "request_body_mode BUFFERED_PARTIAL"},
		{"@type typo", "filters.http.ext_proc.v3.ExternalProcessor", "filters.http.ext_proc.v3.ExternalProcesor", "unable to resolve"},
		{"per-route @type typo", "ext_proc.v3.ExtProcPerRoute", "ext_proc.v3.ExtProcPerRout", "unable to resolve"},
		{"unknown field in MERGE value", `"typed_per_filter_config"`, `"typed_per_filter_configs"`, "unknown field"},
		{"per-route disabled:false", `"overrides":{"grpc_initial_metadata":[{"key":"x-llmfw-policy","value":"strict"}]}`, `"disabled":false`, "Disabled"},
		{"per-route disabled:true on a proxied route", `"overrides":{"grpc_initial_metadata":[{"key":"x-llmfw-policy","value":"strict"}]}`, `"disabled":true`, "disabled: true is allowed only"},
		{"per-route key names no inserted filter", `"typed_per_filter_config":{"envoy.filters.http.ext_proc"`, `"typed_per_filter_config":{"envoy.filters.http.extproc"`, "names no HTTP filter"},
		{"not before router", `"subFilter":{"name":"envoy.filters.http.router"}`, `"subFilter":{"name":"envoy.filters.http.cors"}`, "INSERT_BEFORE subFilter"},
		{"message_timeout 0.1s", `"message_timeout":"1s"`, `"message_timeout":"0.1s"`, "must be above the firewall budget"},
		{"small listener buffer", `"per_connection_buffer_limit_bytes":2097152`, `"per_connection_buffer_limit_bytes":65536`, "per_connection_buffer_limit_bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(js, tc.old) {
				t.Fatalf("fixture no longer contains %q", tc.old)
			}
			errs := checkEnvoyFilter([]byte(strings.Replace(js, tc.old, tc.new, 1)))
			if !anyContains(errs, tc.want) {
				t.Fatalf("validator did not report %q; got %v", tc.want, errs)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Real Envoy, when available

// TestTargetEnvoyPinned keeps the version header of both configs in step
// with targetEnvoy.
func TestTargetEnvoyPinned(t *testing.T) {
	for _, f := range []string{bootstrapFile, envoyFilterFile} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Split(string(data), "\n"), targetEnvoyHeader) {
			t.Errorf("%s: no header line %q", f, targetEnvoyHeader)
		}
	}
}

var envoyVersionRE = regexp.MustCompile(`/(\d+)\.(\d+)\.(\d+)/`)

// TestEnvoyBinaryValidate runs the pinned Envoy's loader on envoy.yaml as
// shipped (realenvoy_test.go for the Istio and Envoy Gateway renderings).
func TestEnvoyBinaryValidate(t *testing.T) {
	mustValidate(t, envoyBinary(t), bootstrapFile)
}
