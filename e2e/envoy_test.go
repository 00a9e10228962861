//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"strconv"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"github.com/llm-firewall/llm-firewall/e2e/internal/envoyemu"
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

func hostPort(t testing.TB, addr string) (string, int) {
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

func socketAddress(t testing.TB, addr string) map[string]any {
	h, p := hostPort(t, addr)
	return map[string]any{"socket_address": map[string]any{"address": h, "port_value": p}}
}

func staticCluster(t testing.TB, name, addr string, http2 bool) map[string]any {
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

// The generated bootstrap is checked against go-control-plane's types and
// validation rules too, so a field Envoy would reject shows up with a precise
// path; the real Envoy then loads it in every scenario.
func TestEnvoyBootstrapIsValid(t *testing.T) {
	t.Parallel()
	cfg := envoyemu.Config{
		ExtProcAddr: "127.0.0.1:50051", UpstreamURL: "http://127.0.0.1:8080", AllowModeOverride: true,
		Routes: []envoyemu.Route{{PathPrefix: "/v1/", Name: "llm-api", InitialMetadata: map[string]string{"x-llmfw-policy": "monitor"}}, {Name: "other"}},
	}
	b := envoyBootstrapFor(t, cfg, 9901, 10000, "/dev/null")
	var bs bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(b, &bs); err != nil {
		t.Fatalf("bootstrap does not parse as envoy.config.bootstrap.v3.Bootstrap: %v\n%s", err, b)
	}
	if err := validateAll(&bs); err != nil {
		t.Fatalf("bootstrap fails validation: %v", err)
	}
}

func freePort(t testing.TB) int {
	_, p := hostPort(t, freeAddr(t))
	return p
}
