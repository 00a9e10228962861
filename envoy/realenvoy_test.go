package envoy_test

// The shipped configurations through the pinned real Envoy's own loader
// (`envoy --mode validate`): envoy.yaml as it is; the Istio EnvoyFilter
// (istio/envoyfilter.yaml and the Helm chart's rendered one) applied to a
// minimal gateway listener the way istiod applies it; the Envoy Gateway
// EnvoyExtensionPolicy rendered into the ext_proc filter Envoy Gateway's
// translator builds from it. istiod and Envoy Gateway cannot run here; what
// they would hand Envoy can.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"gopkg.in/yaml.v3"
)

const (
	envoyVersionFile = "../.envoy-version"
	chartDir         = "../helm/llm-firewall"
	validateTimeout  = 2 * time.Minute
)

// ---------------------------------------------------------------------------
// The Envoy binary

// envoyBinary is the pinned Envoy the Makefile installs (LLMFW_ENVOY, whose
// version must be the one in .envoy-version), else an envoy on PATH no older
// than the target; without either the test is skipped (`make test` always
// sets LLMFW_ENVOY).
func envoyBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LLMFW_ENVOY"); p != "" {
		pin, err := os.ReadFile(envoyVersionFile)
		if err != nil {
			t.Fatal(err)
		}
		major, minor, patch := envoyVersion(t, p)
		if got, want := fmt.Sprintf("%d.%d.%d", major, minor, patch), strings.TrimSpace(string(pin)); got != want {
			t.Fatalf("LLMFW_ENVOY=%s is Envoy %s, but .envoy-version pins %s (run `make tools`)", p, got, want)
		}
		return p
	}
	p, err := exec.LookPath("envoy")
	if err != nil {
		t.Skip("no Envoy: set LLMFW_ENVOY (`make test` does) or put envoy on PATH")
	}
	if major, minor, patch := envoyVersion(t, p); major == 1 && minor < targetEnvoyMinor {
		t.Skipf("envoy %d.%d.%d on PATH is older than the target %s", major, minor, patch, targetEnvoy)
	}
	return p
}

// envoyVersion runs `envoy --version`
// ("envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL").
func envoyVersion(t *testing.T, bin string) (major, minor, patch int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), validateTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	m := envoyVersionRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("%s --version: no version in %q", bin, out)
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	patch, _ = strconv.Atoi(m[3])
	return major, minor, patch
}

// envoyValidate runs Envoy's loader on a bootstrap file: every listener,
// filter, cluster and route is built, nothing is bound or connected.
func envoyValidate(t *testing.T, bin, path string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), validateTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--mode", "validate", "-c", path, "--log-level", "warn").CombinedOutput()
	return string(out), err
}

// writeBootstrap writes b for Envoy: binary protobuf (.pb), which keeps
// what JSON cannot carry (Envoy Gateway's empty FilterConfig.config Any).
func writeBootstrap(t *testing.T, b *bootstrapv3.Bootstrap) string {
	t.Helper()
	data, err := proto.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bootstrap.pb")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustValidate(t *testing.T, bin, path string) {
	t.Helper()
	out, err := envoyValidate(t, bin, path)
	if err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("envoy --mode validate %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// ---------------------------------------------------------------------------
// Istio: an EnvoyFilter applied to a minimal gateway listener

// istioPatch is one configPatch, decoded strictly: a match key this
// applier does not implement is an error, never silently ignored.
type istioPatch struct {
	ApplyTo string `json:"applyTo"`
	Match   struct {
		Context  string `json:"context"`
		Listener *struct {
			PortNumber  uint32 `json:"portNumber"`
			FilterChain *struct {
				Filter *struct {
					Name      string `json:"name"`
					SubFilter *struct {
						Name string `json:"name"`
					} `json:"subFilter"`
				} `json:"filter"`
			} `json:"filterChain"`
		} `json:"listener"`
		RouteConfiguration *struct {
			Vhost *struct {
				Route *struct {
					Name string `json:"name"`
				} `json:"route"`
			} `json:"vhost"`
		} `json:"routeConfiguration"`
	} `json:"match"`
	Patch struct {
		Operation string          `json:"operation"`
		Value     json.RawMessage `json:"value"`
	} `json:"patch"`
}

// istioPatches reads spec.configPatches of an EnvoyFilter given as JSON.
func istioPatches(js []byte) ([]istioPatch, error) {
	var ef struct {
		Kind string `json:"kind"`
		Spec struct {
			ConfigPatches []json.RawMessage `json:"configPatches"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(js, &ef); err != nil {
		return nil, err
	}
	if ef.Kind != "EnvoyFilter" {
		return nil, fmt.Errorf("kind %q, want EnvoyFilter", ef.Kind)
	}
	var out []istioPatch
	for i, raw := range ef.Spec.ConfigPatches {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var p istioPatch
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("configPatches[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// istioGatewayPort is the port of the minimal gateway listener (Istio's
// ingress gateway serves its port 80 on 8080).
const istioGatewayPort = 8080

// istioGateway is the smallest bootstrap shaped like what istiod gives an
// ingress gateway: one listener with an HTTP connection manager whose only
// HTTP filter is the router, one virtual host with the named routes (one
// per VirtualService http route name) to an outbound cluster. Istio's own
// filters (istio.metadata_exchange, istio.stats, ...) are left out: they
// are not in the upstream Envoy build, and the patches anchor on the router.
func istioGateway(routeNames []string) *bootstrapv3.Bootstrap {
	const upstream = "outbound|443||api.openai.com"
	var routes []*routev3.Route
	for _, name := range append(slices.Clone(routeNames), "default") {
		routes = append(routes, &routev3.Route{
			Name:  name,
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: upstream},
			}},
		})
	}
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: "outbound_0.0.0.0_8080",
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			Name: "http.8080",
			VirtualHosts: []*routev3.VirtualHost{{
				Name: "*:8080", Domains: []string{"*"}, Routes: routes,
			}},
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       routerFilterName,
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAnyOf(&routerv3.Router{})},
		}},
	}
	return &bootstrapv3.Bootstrap{StaticResources: &bootstrapv3.Bootstrap_StaticResources{
		Listeners: []*listenerv3.Listener{{
			Name:    "0.0.0.0_8080",
			Address: socketAddress("0.0.0.0", istioGatewayPort),
			FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
				Name:       hcmFilterName,
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAnyOf(hcm)},
			}}}},
		}},
		Clusters: []*clusterv3.Cluster{staticCluster(upstream, 443, false)},
	}}
}

// applyIstioPatches applies the patches to b as istiod would for a
// GATEWAY proxy. A patch that matches nothing is an error: istiod ignores
// it silently, which is how a renamed route or filter turns the firewall off.
func applyIstioPatches(b *bootstrapv3.Bootstrap, patches []istioPatch) error {
	var errs []error
	for i, p := range patches {
		n, err := applyIstioPatch(b, p)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("configPatches[%d] (%s %s): %w", i, p.ApplyTo, p.Patch.Operation, err))
		case n == 0:
			errs = append(errs, fmt.Errorf("configPatches[%d] (%s %s): matched nothing", i, p.ApplyTo, p.Patch.Operation))
		}
	}
	return errors.Join(errs...)
}

func applyIstioPatch(b *bootstrapv3.Bootstrap, p istioPatch) (int, error) {
	if p.Match.Context != "GATEWAY" {
		return 0, fmt.Errorf("context %q: only GATEWAY is assembled here", p.Match.Context)
	}
	if l := p.Match.Listener; l != nil && l.PortNumber != 0 && l.PortNumber != istioGatewayPort {
		return 0, nil
	}
	n := 0
	for _, l := range b.GetStaticResources().GetListeners() {
		switch p.ApplyTo {
		case "LISTENER":
			if p.Patch.Operation != "MERGE" {
				return 0, fmt.Errorf("operation %s not implemented", p.Patch.Operation)
			}
			v := &listenerv3.Listener{}
			if err := strict.Unmarshal(p.Patch.Value, v); err != nil {
				return 0, err
			}
			proto.Merge(l, v)
			n++
		case "HTTP_FILTER", "HTTP_ROUTE":
			m, err := eachHCM(l, p, func(h *hcmv3.HttpConnectionManager) (int, error) {
				if p.ApplyTo == "HTTP_FILTER" {
					return patchHTTPFilters(h, p)
				}
				return patchRoutes(h, p)
			})
			if err != nil {
				return 0, err
			}
			n += m
		default:
			return 0, fmt.Errorf("applyTo %s not implemented", p.ApplyTo)
		}
	}
	return n, nil
}

// eachHCM calls f on every HTTP connection manager of l that p's
// filterChain.filter matches, and stores what f changed.
func eachHCM(l *listenerv3.Listener, p istioPatch, f func(*hcmv3.HttpConnectionManager) (int, error)) (int, error) {
	n := 0
	for _, fc := range l.GetFilterChains() {
		for _, nf := range fc.GetFilters() {
			if nf.GetName() != hcmFilterName {
				continue
			}
			if lm := p.Match.Listener; lm != nil && lm.FilterChain != nil && lm.FilterChain.Filter != nil && lm.FilterChain.Filter.Name != nf.GetName() {
				continue
			}
			h := &hcmv3.HttpConnectionManager{}
			if err := nf.GetTypedConfig().UnmarshalTo(h); err != nil {
				return 0, err
			}
			m, err := f(h)
			if err != nil {
				return 0, err
			}
			if m > 0 {
				nf.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: mustAnyOf(h)}
			}
			n += m
		}
	}
	return n, nil
}

func patchHTTPFilters(h *hcmv3.HttpConnectionManager, p istioPatch) (int, error) {
	v := &hcmv3.HttpFilter{}
	if err := strict.Unmarshal(p.Patch.Value, v); err != nil {
		return 0, err
	}
	at := -1
	if lm := p.Match.Listener; lm != nil && lm.FilterChain != nil && lm.FilterChain.Filter != nil && lm.FilterChain.Filter.SubFilter != nil {
		at = slices.IndexFunc(h.HttpFilters, func(f *hcmv3.HttpFilter) bool { return f.GetName() == lm.FilterChain.Filter.SubFilter.Name })
		if at < 0 {
			return 0, nil
		}
	}
	switch p.Patch.Operation {
	case "INSERT_BEFORE", "INSERT_AFTER":
		if at < 0 {
			return 0, fmt.Errorf("%s needs a subFilter", p.Patch.Operation)
		}
		if p.Patch.Operation == "INSERT_AFTER" {
			at++
		}
		h.HttpFilters = slices.Insert(h.HttpFilters, at, v)
	case "INSERT_FIRST":
		h.HttpFilters = slices.Insert(h.HttpFilters, 0, v)
	default:
		return 0, fmt.Errorf("operation %s not implemented", p.Patch.Operation)
	}
	return 1, nil
}

func patchRoutes(h *hcmv3.HttpConnectionManager, p istioPatch) (int, error) {
	if p.Patch.Operation != "MERGE" {
		return 0, fmt.Errorf("operation %s not implemented", p.Patch.Operation)
	}
	v := &routev3.Route{}
	if err := strict.Unmarshal(p.Patch.Value, v); err != nil {
		return 0, err
	}
	name := ""
	if rc := p.Match.RouteConfiguration; rc != nil && rc.Vhost != nil && rc.Vhost.Route != nil {
		name = rc.Vhost.Route.Name
	}
	n := 0
	for _, vh := range h.GetRouteConfig().GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			if name == "" || r.GetName() == name {
				proto.Merge(r, v)
				n++
			}
		}
	}
	return n, nil
}

// routeNamesOf are the route names the patches select, which the minimal
// gateway must have (a VirtualService http route of that name).
func routeNamesOf(patches []istioPatch) []string {
	var names []string
	for _, p := range patches {
		if rc := p.Match.RouteConfiguration; rc != nil && rc.Vhost != nil && rc.Vhost.Route != nil && rc.Vhost.Route.Name != "" {
			names = append(names, rc.Vhost.Route.Name)
		}
	}
	return names
}

// walkHCMs calls f on every HTTP connection manager; when it reports a
// change, the HCM is stored back.
func walkHCMs(b *bootstrapv3.Bootstrap, f func(h *hcmv3.HttpConnectionManager) (changed bool)) {
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, nf := range fc.GetFilters() {
				h := &hcmv3.HttpConnectionManager{}
				if nf.GetName() != hcmFilterName || nf.GetTypedConfig().UnmarshalTo(h) != nil {
					continue
				}
				if f(h) {
					nf.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: mustAnyOf(h)}
				}
			}
		}
	}
}

// extProcFilters are the ext_proc filters and the HCMs of b.
func extProcFilters(b *bootstrapv3.Bootstrap) (filters []*extprocv3.ExternalProcessor, hcms []*hcmv3.HttpConnectionManager) {
	walkHCMs(b, func(h *hcmv3.HttpConnectionManager) bool {
		hcms = append(hcms, h)
		for _, f := range h.GetHttpFilters() {
			ep := &extprocv3.ExternalProcessor{}
			if f.GetTypedConfig().UnmarshalTo(ep) == nil {
				filters = append(filters, ep)
			}
		}
		return false
	})
	return filters, hcms
}

// assembleIstio applies an EnvoyFilter (JSON) to the minimal gateway and
// adds the firewall's cluster its ext_proc filter names (istiod builds it
// from the Service, HTTP/2 because the port is grpc).
func assembleIstio(t *testing.T, js []byte) *bootstrapv3.Bootstrap {
	t.Helper()
	patches, err := istioPatches(js)
	if err != nil {
		t.Fatal(err)
	}
	b := istioGateway(routeNamesOf(patches))
	if err := applyIstioPatches(b, patches); err != nil {
		t.Fatal(err)
	}
	eps, _ := extProcFilters(b)
	for _, ep := range eps {
		name := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName()
		if clusterByName(b, name) == nil {
			b.StaticResources.Clusters = append(b.StaticResources.Clusters, staticCluster(name, 50051, true))
		}
	}
	return b
}

// checkIstioAssembly asserts what the patches must have produced, then
// runs Envoy's loader on it.
func checkIstioAssembly(t *testing.T, bin string, b *bootstrapv3.Bootstrap, policyRoute, policy string) {
	t.Helper()
	for _, err := range validateDeep(b, nil) {
		t.Error(err)
	}
	eps, hcms := extProcFilters(b)
	if len(eps) != 1 || len(hcms) != 1 {
		t.Fatalf("%d ext_proc filter(s) in %d HCM(s), want 1 in 1", len(eps), len(hcms))
	}
	for _, err := range lintExtProc("assembled ext_proc", eps[0]) {
		t.Error(err)
	}
	var names []string
	for _, f := range hcms[0].GetHttpFilters() {
		names = append(names, f.GetName())
	}
	if !slices.Equal(names, []string{extProcFilterName, routerFilterName}) {
		t.Errorf("HTTP filters %v, want ext_proc right before the router", names)
	}
	l := b.GetStaticResources().GetListeners()[0]
	if got := l.GetPerConnectionBufferLimitBytes().GetValue(); got < minBufferBytes {
		t.Errorf("listener per_connection_buffer_limit_bytes %d, want >= %d", got, minBufferBytes)
	}
	for _, r := range hcms[0].GetRouteConfig().GetVirtualHosts()[0].GetRoutes() {
		a, ok := r.GetTypedPerFilterConfig()[extProcFilterName]
		if r.GetName() != policyRoute {
			if ok {
				t.Errorf("route %s: per-route ext_proc config %v, want none", r.GetName(), a)
			}
			continue
		}
		pr := &extprocv3.ExtProcPerRoute{}
		if !ok || a.UnmarshalTo(pr) != nil {
			t.Fatalf("route %s: no ExtProcPerRoute", r.GetName())
		}
		md := pr.GetOverrides().GetGrpcInitialMetadata()
		if pr.GetDisabled() || len(md) != 1 || md[0].GetKey() != "x-llmfw-policy" || md[0].GetValue() != policy {
			t.Errorf("route %s: per-route config %v, want x-llmfw-policy: %s", r.GetName(), pr, policy)
		}
	}
	mustValidate(t, bin, writeBootstrap(t, b))
}

// TestIstioEnvoyFilterRunsInEnvoy: istio/envoyfilter.yaml, applied to a
// minimal gateway listener, is accepted by the pinned Envoy.
func TestIstioEnvoyFilterRunsInEnvoy(t *testing.T) {
	bin := envoyBinary(t)
	checkIstioAssembly(t, bin, assembleIstio(t, loadEnvoyFilterJSON(t)), "openai-chat", "strict")
}

// TestHelmEnvoyFilterRunsInEnvoy: the EnvoyFilter the Helm chart renders,
// applied the same way, is accepted by the pinned Envoy.
func TestHelmEnvoyFilterRunsInEnvoy(t *testing.T) {
	bin := envoyBinary(t)
	out := helmTemplate(t, "--set", "envoyFilter.enabled=true",
		"--set", "envoyFilter.routePolicies[0].route=openai-chat",
		"--set", "envoyFilter.routePolicies[0].policy=strict",
		"--show-only", "templates/envoyfilter.yaml")
	js, err := yamlToJSON([]byte(out))
	if err != nil {
		t.Fatalf("rendered EnvoyFilter: %v\n%s", err, out)
	}
	b := assembleIstio(t, js)
	eps, _ := extProcFilters(b)
	if len(eps) == 1 && !strings.HasPrefix(eps[0].GetGrpcService().GetEnvoyGrpc().GetClusterName(), "outbound|50051||") {
		t.Errorf("ext_proc cluster %q is not Istio's outbound cluster of the firewall Service", eps[0].GetGrpcService().GetEnvoyGrpc().GetClusterName())
	}
	checkIstioAssembly(t, bin, b, "openai-chat", "strict")
}

// TestEnvoyRejectsBrokenAssemblies: the loader and the applier are not
// rubber stamps. A filter patch anchored on a filter the listener lacks,
// or a route name no route has, matches nothing (istiod would drop it
// silently); conflicting ext_proc settings and an unknown filter type are
// refused by Envoy itself. What Envoy's loader does not catch is pinned
// too.
func TestEnvoyRejectsBrokenAssemblies(t *testing.T) {
	bin := envoyBinary(t)
	js := string(loadEnvoyFilterJSON(t))
	for _, tc := range []struct{ name, old, new string }{
		{"subFilter the listener lacks", `"subFilter":{"name":"envoy.filters.http.router"}`, `"subFilter":{"name":"envoy.filters.http.cors"}`},
		{"unsupported match key", `"subFilter":{"name":"envoy.filters.http.router"}`, `"subFilter":{"name":"envoy.filters.http.router","nam":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(js, tc.old) {
				t.Fatalf("fixture no longer contains %q", tc.old)
			}
			patches, err := istioPatches([]byte(strings.Replace(js, tc.old, tc.new, 1)))
			if err == nil {
				err = applyIstioPatches(istioGateway(routeNamesOf(patches)), patches)
			}
			if err == nil {
				t.Fatal("applied without an error")
			}
		})
	}
	t.Run("route name no route has", func(t *testing.T) {
		patches, err := istioPatches([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		err = applyIstioPatches(istioGateway(nil), patches)
		if err == nil || !strings.Contains(err.Error(), "HTTP_ROUTE MERGE): matched nothing") {
			t.Fatalf("got %v, want the route patch to match nothing", err)
		}
	})
	t.Run("ext_proc cluster missing passes Envoy's loader", func(t *testing.T) {
		// A fact of Envoy 1.40: ext_proc opens its gRPC stream per request,
		// so the loader accepts a filter whose cluster does not exist (a
		// request then fails with status_on_error). lintHCM checks it
		// (TestBootstrapValidatorRejectsMutations, "ext_proc cluster missing").
		b := assembleIstio(t, []byte(js))
		b.StaticResources.Clusters = slices.DeleteFunc(b.StaticResources.Clusters, func(c *clusterv3.Cluster) bool {
			return strings.HasPrefix(c.GetName(), "outbound|50051||")
		})
		if out, err := envoyValidate(t, bin, writeBootstrap(t, b)); err != nil {
			t.Fatalf("Envoy now refuses an ext_proc filter without its cluster (update this fact): %v\n%s", err, out)
		}
	})
	t.Run("exclusive route cache settings", func(t *testing.T) {
		// A rule Envoy checks when it builds the filter, not in the schema.
		b := assembleIstio(t, []byte(js))
		editAssembledExtProc(b, func(ep *extprocv3.ExternalProcessor) {
			ep.DisableClearRouteCache = true
			ep.RouteCacheAction = extprocv3.ExternalProcessor_CLEAR
		})
		for _, err := range validateDeep(b, nil) {
			t.Fatalf("the schema already refuses it (%v): pick a rule only Envoy checks", err)
		}
		if out, err := envoyValidate(t, bin, writeBootstrap(t, b)); err == nil {
			t.Fatalf("Envoy accepted route_cache_action with disable_clear_route_cache:\n%s", out)
		} else {
			t.Logf("Envoy refused: %s", lastLine(out))
		}
	})
	t.Run("unknown filter type", func(t *testing.T) {
		b := assembleIstio(t, []byte(js))
		data, err := protojson.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		const typ = "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor"
		bad := strings.Replace(string(data), typ+`"`, typ+`X"`, 1)
		if bad == string(data) {
			t.Fatal("the assembled bootstrap does not name " + typ)
		}
		path := filepath.Join(t.TempDir(), "bootstrap.json")
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := envoyValidate(t, bin, path); err == nil {
			t.Fatalf("Envoy accepted an unknown filter type:\n%s", out)
		} else {
			t.Logf("Envoy refused: %s", lastLine(out))
		}
	})
}

// ---------------------------------------------------------------------------
// Envoy Gateway: what the EnvoyExtensionPolicy asks Envoy to do

// gatewayRouteName is the xDS route Envoy Gateway generates for the first
// match of the first rule of HTTPRoute llm-api/llm-api.
const gatewayRouteName = "httproute/llm-api/llm-api/rule/0/match/0/*"

// renderGatewayExtProc is the ext_proc filter Envoy Gateway's translator
// builds from one extProc entry (envoyproxy/gateway internal/gatewayapi
// envoyextensionpolicy.go buildExtProc and internal/xds/translator
// extproc.go extProcConfig): headers SKIP and bodies NONE unless
// processingMode asks; a request/response key present sends its headers;
// failOpen → failure_mode_allow; messageTimeout → message_timeout;
// attributes → request/response_attributes; metadata accessible/writable
// namespaces → forwarding/receiving namespaces; a 10 s gRPC timeout and an
// authority of <service>.<namespace>:<port>. Nothing else is set.
func renderGatewayExtProc(t *testing.T, policy *envoyExtensionPolicy, i int) (*extprocv3.ExternalProcessor, string) {
	t.Helper()
	e := policy.Spec.ExtProc[i]
	cluster := fmt.Sprintf("envoyextensionpolicy/%s/%s/extproc/%d", policy.Metadata.Namespace, policy.Metadata.Name, i)
	br := e.BackendRefs[0]
	ns := br.Namespace
	if ns == "" {
		ns = policy.Metadata.Namespace
	}
	pm := &extprocv3.ProcessingMode{
		RequestHeaderMode: extprocv3.ProcessingMode_SKIP, ResponseHeaderMode: extprocv3.ProcessingMode_SKIP,
		RequestTrailerMode: extprocv3.ProcessingMode_SKIP, ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
	}
	ep := &extprocv3.ExternalProcessor{
		GrpcService: &corev3.GrpcService{
			TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
				ClusterName: cluster, Authority: fmt.Sprintf("%s.%s:%d", br.Name, ns, br.Port),
			}},
			Timeout: durationpb.New(10 * time.Second),
		},
		ProcessingMode: pm,
	}
	bodyMode := func(s string) extprocv3.ProcessingMode_BodySendMode {
		switch s {
		case "Buffered":
			return extprocv3.ProcessingMode_BUFFERED
		case "BufferedPartial":
			return extprocv3.ProcessingMode_BUFFERED_PARTIAL
		case "Streamed":
			return extprocv3.ProcessingMode_STREAMED
		case "FullDuplexStreamed":
			return extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED
		}
		return extprocv3.ProcessingMode_NONE
	}
	if m := e.ProcessingMode; m != nil {
		if r := m.Request; r != nil {
			pm.RequestHeaderMode = extprocv3.ProcessingMode_SEND
			pm.RequestBodyMode = bodyMode(r.Body)
			ep.RequestAttributes = r.Attributes
		}
		if r := m.Response; r != nil {
			pm.ResponseHeaderMode = extprocv3.ProcessingMode_SEND
			pm.ResponseBodyMode = bodyMode(r.Body)
			ep.ResponseAttributes = r.Attributes
		}
		ep.AllowModeOverride = m.AllowModeOverride
	}
	if e.FailOpen != nil {
		ep.FailureModeAllow = *e.FailOpen
	}
	if e.MessageTimeout != "" {
		d, err := time.ParseDuration(e.MessageTimeout)
		if err != nil {
			t.Fatalf("messageTimeout %q: %v", e.MessageTimeout, err)
		}
		ep.MessageTimeout = durationpb.New(d)
	}
	if md := e.Metadata; md != nil {
		ep.MetadataOptions = &extprocv3.MetadataOptions{}
		if md.AccessibleNamespaces != nil {
			ep.MetadataOptions.ForwardingNamespaces = &extprocv3.MetadataOptions_MetadataNamespaces{Untyped: md.AccessibleNamespaces}
		}
		if md.WritableNamespaces != nil {
			ep.MetadataOptions.ReceivingNamespaces = &extprocv3.MetadataOptions_MetadataNamespaces{Untyped: md.WritableNamespaces}
		}
	}
	return ep, cluster
}

// gatewayBootstrap is the listener Envoy Gateway generates around the
// filter: the filter on the HCM disabled, enabled per targeted route with
// an empty FilterConfig; a route the policy does not target stays
// unfiltered; the listener keeps Envoy Gateway's default 32 KiB buffer.
func gatewayBootstrap(filterName string, ep *extprocv3.ExternalProcessor, cluster string) *bootstrapv3.Bootstrap {
	const upstream = "httproute/llm-api/llm-api/rule/0"
	route := func(name, prefix string) *routev3.Route {
		return &routev3.Route{
			Name:  name,
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: upstream},
			}},
		}
	}
	llm := route(gatewayRouteName, "/v1/")
	llm.TypedPerFilterConfig = map[string]*anypb.Any{filterName: mustAnyOf(&routev3.FilterConfig{Config: &anypb.Any{}})}
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: "http-10080",
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			Name: "llm-api/llm-gateway/http",
			VirtualHosts: []*routev3.VirtualHost{{
				Name: "llm-api/llm-gateway/http/*", Domains: []string{"*"},
				Routes: []*routev3.Route{llm, route("httproute/llm-api/other/rule/0/match/0/*", "/")},
			}},
		}},
		HttpFilters: []*hcmv3.HttpFilter{
			{Name: filterName, Disabled: true, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAnyOf(ep)}},
			{Name: routerFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAnyOf(&routerv3.Router{})}},
		},
	}
	return &bootstrapv3.Bootstrap{StaticResources: &bootstrapv3.Bootstrap_StaticResources{
		Listeners: []*listenerv3.Listener{{
			Name:                          "llm-api/llm-gateway/http",
			Address:                       socketAddress("0.0.0.0", 10080),
			PerConnectionBufferLimitBytes: wrapperspb.UInt32(32768),
			FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
				Name:       hcmFilterName,
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAnyOf(hcm)},
			}}}},
		}},
		Clusters: []*clusterv3.Cluster{staticCluster(upstream, 8000, false), staticCluster(cluster, 50051, true)},
	}}
}

// TestEnvoyGatewayRenderRunsInEnvoy renders what
// gateway/envoyextensionpolicy.yaml asks Envoy to do, checks the fields
// the firewall's fail-closed behaviour rests on against envoy.yaml's own
// filter, pins the settings Envoy Gateway leaves unset (gateway/README.md,
// "What Envoy Gateway does not expose"), and has the pinned Envoy load it.
func TestEnvoyGatewayRenderRunsInEnvoy(t *testing.T) {
	bin := envoyBinary(t)
	policy, err := decodeExtensionPolicy(readExtensionPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(policy.Spec.ExtProc) != 1 {
		t.Fatalf("%d extProc entries, want 1", len(policy.Spec.ExtProc))
	}
	ep, cluster := renderGatewayExtProc(t, policy, 0)
	filterName := extProcFilterName + "/envoyextensionpolicy/" + policy.Metadata.Namespace + "/" + policy.Metadata.Name + "/extproc/0"

	var ref *extprocv3.ExternalProcessor
	for _, h := range mustHCMs(t, loadBootstrap(t)) {
		for _, f := range h.hcm.GetHttpFilters() {
			if f.GetName() == extProcFilterName {
				ref = &extprocv3.ExternalProcessor{}
				if err := f.GetTypedConfig().UnmarshalTo(ref); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if ref == nil {
		t.Fatalf("%s has no ext_proc filter", bootstrapFile)
	}
	// The same as envoy.yaml: failure mode, message timeout, header and
	// body modes, the route-name attribute, the decision namespace.
	if ep.GetFailureModeAllow() != ref.GetFailureModeAllow() || ep.GetFailureModeAllow() {
		t.Errorf("failure_mode_allow %v, envoy.yaml %v; want false", ep.GetFailureModeAllow(), ref.GetFailureModeAllow())
	}
	if got, want := ep.GetMessageTimeout().AsDuration(), ref.GetMessageTimeout().AsDuration(); got != want || got <= serverBudget {
		t.Errorf("message_timeout %v, envoy.yaml %v; want equal and above LLMFW_BUDGET %v", got, want, serverBudget)
	}
	if !proto.Equal(ep.GetProcessingMode(), ref.GetProcessingMode()) {
		t.Errorf("processing_mode %v, envoy.yaml %v", ep.GetProcessingMode(), ref.GetProcessingMode())
	}
	if !slices.Contains(ep.GetRequestAttributes(), routeNameAttribute) {
		t.Errorf("request_attributes %v lack %s", ep.GetRequestAttributes(), routeNameAttribute)
	}
	if !slices.Equal(ep.GetMetadataOptions().GetReceivingNamespaces().GetUntyped(), ref.GetMetadataOptions().GetReceivingNamespaces().GetUntyped()) {
		t.Errorf("receiving namespaces %v, envoy.yaml %v", ep.GetMetadataOptions().GetReceivingNamespaces().GetUntyped(), ref.GetMetadataOptions().GetReceivingNamespaces().GetUntyped())
	}
	// Where it differs from envoy.yaml, by Envoy Gateway's API (the
	// README's table): no mode override (streamed answers stay buffered),
	// and these settings left at Envoy's defaults.
	if ep.GetAllowModeOverride() {
		t.Error("allow_mode_override true: Envoy Gateway cannot restrict the admitted modes")
	}
	if !ref.GetAllowModeOverride() {
		t.Errorf("%s no longer switches streamed answers to STREAMED: update gateway/README.md", bootstrapFile)
	}
	unset := map[string]bool{
		"status_on_error":                       ep.GetStatusOnError() == nil,
		"max_message_timeout":                   ep.GetMaxMessageTimeout() == nil,
		"mutation_rules":                        ep.GetMutationRules() == nil,
		"envoy_grpc.max_receive_message_length": ep.GetGrpcService().GetEnvoyGrpc().GetMaxReceiveMessageLength() == nil,
	}
	for field, ok := range unset {
		if !ok {
			t.Errorf("%s is set: Envoy Gateway does not expose it (gateway/README.md)", field)
		}
	}
	for _, err := range lintExtProc("Envoy Gateway's ext_proc", ep) {
		// The one lint rule it cannot meet is the gRPC message bound.
		if !strings.Contains(err.Error(), "max_receive_message_length") {
			t.Error(err)
		}
	}

	// The schema on the filter; Envoy judges the whole listener (the
	// route's FilterConfig carries an empty Any that only Envoy reads).
	for _, err := range validateDeep(ep, nil) {
		t.Error(err)
	}
	mustValidate(t, bin, writeBootstrap(t, gatewayBootstrap(filterName, ep, cluster)))
}

// ---------------------------------------------------------------------------
// helpers

func mustAnyOf(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

// staticCluster is a loopback cluster; http2 for a gRPC service.
func staticCluster(name string, port uint32, http2 bool) *clusterv3.Cluster {
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(time.Second),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddress("127.0.0.1", port)}},
			}}}},
		},
	}
	if http2 {
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtoOptsKey: mustAnyOf(&upstreamhttpv3.HttpProtocolOptions{
			UpstreamProtocolOptions: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
			}},
		})}
	}
	return c
}

// editAssembledExtProc rewrites every ext_proc filter of b in place.
func editAssembledExtProc(b *bootstrapv3.Bootstrap, f func(*extprocv3.ExternalProcessor)) {
	walkHCMs(b, func(h *hcmv3.HttpConnectionManager) bool {
		for _, hf := range h.GetHttpFilters() {
			ep := &extprocv3.ExternalProcessor{}
			if hf.GetTypedConfig().UnmarshalTo(ep) == nil {
				f(ep)
				hf.ConfigType = &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAnyOf(ep)}
			}
		}
		return true
	})
}

func mustHCMs(t *testing.T, b *bootstrapv3.Bootstrap) []hcmAt {
	t.Helper()
	hs, errs := findHCMs(b)
	for _, err := range errs {
		t.Error(err)
	}
	return hs
}

// helmTemplate renders the chart with the helm binary the chart tests use
// (LLMFW_HELM, else helm on PATH; skipped without one).
func helmTemplate(t *testing.T, args ...string) string {
	t.Helper()
	bin := os.Getenv("LLMFW_HELM")
	if bin == "" {
		p, err := exec.LookPath("helm")
		if err != nil {
			t.Skip("no helm binary: set LLMFW_HELM (`make test` does) or put helm on PATH")
		}
		bin = p
	}
	tmp := t.TempDir()
	cmd := exec.Command(bin, append([]string{"template", "llm-firewall", chartDir, "--namespace", "llm-firewall"}, args...)...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"HELM_DATA_HOME="+filepath.Join(tmp, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	// One document: the EnvoyFilter (--show-only); yaml.v3 refuses a second.
	var probe any
	if err := yaml.Unmarshal(stdout.Bytes(), &probe); err != nil {
		t.Fatalf("rendered YAML: %v", err)
	}
	return stdout.String()
}

// lastLine is Envoy's last log line, cut to 300 bytes.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := lines[len(lines)-1]
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}
