package envoy_test

// Validation of the TLS snippets in tls/ (the firewall cluster with TLS and
// mTLS, and the file-based SDS resources it reads) without Envoy: strict
// protojson into go-control-plane types, ValidateAll on every message and
// Any (validateDeep, validate_test.go), then what the firewall's gRPC
// listener needs from Envoy: HTTP/2, ALPN h2 (grpc-go refuses TLS without
// it), SNI with a matching SAN check, a trusted CA and a client certificate.

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
)

const (
	tlsSnippetDir       = "tls"
	tlsSocketName       = "envoy.transport_sockets.tls"
	firewallClusterName = "llm-firewall"
	firewallGRPCPort    = 50051
	extProcHealthName   = "envoy.service.ext_proc.v3.ExternalProcessor"
)

// tlsSnippetKinds says what each file in tls/ is. A new file fails the test
// until it is listed here.
var tlsSnippetKinds = map[string]string{
	"cluster.yaml":         "cluster",
	"cluster-sds.yaml":     "cluster",
	"sds-client-cert.yaml": "sds",
	"sds-firewall-ca.yaml": "sds",
}

func newTLSSnippet(kind string) proto.Message {
	if kind == "cluster" {
		return &clusterv3.Cluster{}
	}
	return &discoveryv3.DiscoveryResponse{}
}

// decodeTLSSnippet decodes one file strictly and runs the schema rules.
func decodeTLSSnippet(name string, data []byte) (proto.Message, []error) {
	kind, ok := tlsSnippetKinds[name]
	if !ok {
		return nil, []error{fmt.Errorf("%s: unknown file; add it to tlsSnippetKinds", name)}
	}
	js, err := yamlToJSON(data)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", name, err)}
	}
	m := newTLSSnippet(kind)
	if err := strict.Unmarshal(js, m); err != nil {
		return nil, []error{fmt.Errorf("%s: strict protojson: %w", name, err)}
	}
	return m, prefixErrs(name, validateDeep(m, nil))
}

func readTLSSnippets(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(tlsSnippetDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	for name := range tlsSnippetKinds {
		if _, ok := out[name]; !ok {
			t.Errorf("%s/%s is missing", tlsSnippetDir, name)
		}
	}
	return out
}

// upstreamTLS resolves the cluster's typed transport socket config.
func upstreamTLS(c *clusterv3.Cluster) (*tlsv3.UpstreamTlsContext, error) {
	ts := c.GetTransportSocket()
	if ts == nil {
		return nil, errors.New("no transport_socket: the gRPC connection to the firewall would be plaintext")
	}
	if ts.GetName() != tlsSocketName {
		return nil, fmt.Errorf("transport_socket name %q, want %s", ts.GetName(), tlsSocketName)
	}
	u := &tlsv3.UpstreamTlsContext{}
	if a := ts.GetTypedConfig(); a == nil || !a.MessageIs(u) {
		return nil, fmt.Errorf("transport_socket typed_config is %q, want UpstreamTlsContext", ts.GetTypedConfig().GetTypeUrl())
	} else if err := a.UnmarshalTo(u); err != nil {
		return nil, err
	}
	if err := u.ValidateAll(); err != nil {
		return nil, err
	}
	return u, nil
}

// sdsPaths are the path_config_source paths a cluster's SDS configs read,
// by secret name.
type sdsRef struct{ name, path string }

// lintTLSCluster checks what the firewall's TLS listener needs from Envoy.
// It returns the file-based SDS secrets the cluster refers to.
func lintTLSCluster(c *clusterv3.Cluster) ([]sdsRef, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.GetName() != firewallClusterName {
		bad("cluster name %q, want %q (the ext_proc filter's envoy_grpc.cluster_name)", c.GetName(), firewallClusterName)
	}
	if !hasHTTP2(c) {
		bad("no HTTP/2 (typed_extension_protocol_options %s explicit_http_config.http2_protocol_options); gRPC needs it", httpProtoOptsKey)
	}
	var addrs []string
	for _, e := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range e.GetLbEndpoints() {
			sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
			addrs = append(addrs, sa.GetAddress())
			if sa.GetPortValue() != firewallGRPCPort {
				bad("endpoint port %d, want %d (LLMFW_GRPC_ADDR)", sa.GetPortValue(), firewallGRPCPort)
			}
		}
	}
	if len(addrs) == 0 {
		bad("no endpoints")
	}
	hcOK := false
	for _, hc := range c.GetHealthChecks() {
		if hc.GetGrpcHealthCheck().GetServiceName() == extProcHealthName {
			hcOK = true
		}
	}
	if !hcOK {
		bad("no gRPC health check for %s (the firewall reports SERVING only after its policy loaded)", extProcHealthName)
	}

	u, err := upstreamTLS(c)
	if err != nil {
		return nil, append(errs, err)
	}
	ctc := u.GetCommonTlsContext()
	sni := u.GetSni()
	if sni == "" {
		bad("UpstreamTlsContext has no sni")
	} else if !slices.Contains(addrs, sni) {
		bad("sni %q is not the endpoint address %v: the firewall's certificate is issued for the Service name", sni, addrs)
	}
	if !slices.Contains(ctc.GetAlpnProtocols(), "h2") {
		bad("common_tls_context.alpn_protocols %v lacks h2: grpc-go refuses TLS connections without ALPN h2", ctc.GetAlpnProtocols())
	}
	if v := ctc.GetTlsParams().GetTlsMinimumProtocolVersion(); v != tlsv3.TlsParameters_TLSv1_2 && v != tlsv3.TlsParameters_TLSv1_3 {
		bad("tls_params.tls_minimum_protocol_version %v: set TLSv1_2 or TLSv1_3 (LLMFW_TLS_MIN_VERSION accepts nothing older)", v)
	}

	var refs []sdsRef
	addSDS := func(what string, s *tlsv3.SdsSecretConfig) {
		p := s.GetSdsConfig().GetPathConfigSource().GetPath()
		if p == "" {
			bad("%s %q: only file-based SDS (path_config_source) is checked here", what, s.GetName())
			return
		}
		if s.GetSdsConfig().GetResourceApiVersion() != corev3.ApiVersion_V3 {
			bad("%s %q: resource_api_version must be V3", what, s.GetName())
		}
		refs = append(refs, sdsRef{name: s.GetName(), path: p})
	}

	// mTLS: a client certificate.
	nCerts := len(ctc.GetTlsCertificates()) + len(ctc.GetTlsCertificateSdsSecretConfigs())
	if nCerts != 1 {
		bad("%d client certificates (tls_certificates or tls_certificate_sds_secret_configs), want 1 for mTLS (LLMFW_TLS_CLIENT_CA_FILE)", nCerts)
	}
	for _, s := range ctc.GetTlsCertificateSdsSecretConfigs() {
		addSDS("tls_certificate_sds_secret_configs", s)
	}

	// The firewall's CA and its name.
	var sans []*tlsv3.SubjectAltNameMatcher
	switch v := ctc.GetValidationContextType().(type) {
	case *tlsv3.CommonTlsContext_ValidationContext:
		if v.ValidationContext.GetTrustedCa() == nil {
			bad("validation_context has no trusted_ca: Envoy would not verify the firewall")
		}
		sans = v.ValidationContext.GetMatchTypedSubjectAltNames()
	case *tlsv3.CommonTlsContext_CombinedValidationContext:
		sans = v.CombinedValidationContext.GetDefaultValidationContext().GetMatchTypedSubjectAltNames()
		addSDS("validation_context_sds_secret_config", v.CombinedValidationContext.GetValidationContextSdsSecretConfig())
	default:
		bad("validation context %T: use validation_context (trusted_ca) or combined_validation_context with file-based SDS", v)
	}
	sanOK := false
	for _, m := range sans {
		if m.GetSanType() == tlsv3.SubjectAltNameMatcher_DNS && m.GetMatcher().GetExact() == sni {
			sanOK = true
		}
	}
	if !sanOK {
		bad("no match_typed_subject_alt_names DNS exact %q: any certificate of the CA would be accepted as the firewall", sni)
	}
	return refs, errs
}

// lintSDSFile checks a file-based SDS resource: exactly one Secret, whose
// file sources are watched for rotation.
func lintSDSFile(dr *discoveryv3.DiscoveryResponse) (string, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if n := len(dr.GetResources()); n != 1 {
		bad("%d resources, want exactly one Secret (Envoy rejects more per file)", n)
		return "", errs
	}
	s := &tlsv3.Secret{}
	if err := dr.GetResources()[0].UnmarshalTo(s); err != nil {
		bad("resource is not a Secret: %v", err)
		return "", errs
	}
	var files []string
	var watched string
	switch v := s.GetType().(type) {
	case *tlsv3.Secret_TlsCertificate:
		files = []string{v.TlsCertificate.GetCertificateChain().GetFilename(), v.TlsCertificate.GetPrivateKey().GetFilename()}
		watched = v.TlsCertificate.GetWatchedDirectory().GetPath()
	case *tlsv3.Secret_ValidationContext:
		files = []string{v.ValidationContext.GetTrustedCa().GetFilename()}
		watched = v.ValidationContext.GetWatchedDirectory().GetPath()
	default:
		bad("secret %q: type %T, want tls_certificate or validation_context", s.GetName(), v)
		return s.GetName(), errs
	}
	for _, f := range files {
		switch {
		case f == "":
			bad("secret %q: a source is not a filename", s.GetName())
		case watched == "":
			bad("secret %q: no watched_directory: a rotated %s is not picked up", s.GetName(), f)
		case path.Dir(f) != watched:
			bad("secret %q: %s is not in watched_directory %s (the directory whose ..data symlink the kubelet swaps)", s.GetName(), f, watched)
		}
	}
	return s.GetName(), errs
}

// checkTLSSnippets validates all files and their cross-references.
func checkTLSSnippets(files map[string][]byte) []error {
	var errs []error
	secrets := map[string]string{} // SDS file name → secret name
	var refs []sdsRef
	var sawMTLS bool
	for name, data := range files {
		m, e := decodeTLSSnippet(name, data)
		errs = append(errs, e...)
		switch v := m.(type) {
		case *clusterv3.Cluster:
			r, e := lintTLSCluster(v)
			errs = append(errs, prefixErrs(name, e)...)
			refs = append(refs, r...)
			sawMTLS = true
		case *discoveryv3.DiscoveryResponse:
			s, e := lintSDSFile(v)
			errs = append(errs, prefixErrs(name, e)...)
			secrets[name] = s
		}
	}
	if !sawMTLS {
		errs = append(errs, errors.New("no cluster snippet decoded"))
	}
	for _, r := range refs {
		base := path.Base(r.path)
		got, ok := secrets[base]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("SDS path %s: no %s/%s beside the cluster", r.path, tlsSnippetDir, base))
		case got != r.name:
			errs = append(errs, fmt.Errorf("SDS path %s holds secret %q, the cluster asks for %q", r.path, got, r.name))
		}
	}
	return errs
}

func TestTLSSnippets(t *testing.T) {
	for _, err := range checkTLSSnippets(readTLSSnippets(t)) {
		t.Error(err)
	}
}

// The README shows the files; keep it pointing at each of them.
func TestTLSReadmeNamesSnippets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(tlsSnippetDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range tlsSnippetKinds {
		if !strings.Contains(string(b), "("+name+")") {
			t.Errorf("%s/README.md does not link %s", tlsSnippetDir, name)
		}
	}
}

func TestTLSSnippetValidatorRejectsMutations(t *testing.T) {
	files := readTLSSnippets(t)
	cases := []struct{ name, file, old, new, want string }{
		{"no ALPN h2", "cluster.yaml", "alpn_protocols: [h2]", "alpn_protocols: [http/1.1]", "lacks h2"},
		{"no SNI", "cluster.yaml", "    sni: llm-firewall.llm-firewall.svc.cluster.local\n", "", "no sni"},
		{"SNI not the Service", "cluster.yaml", "    sni: llm-firewall.llm-firewall.svc.cluster.local", "    sni: firewall.example", "is not the endpoint address"},
		{"SAN differs from SNI", "cluster.yaml", "matcher: {exact: llm-firewall.llm-firewall.svc.cluster.local}", "matcher: {exact: other.svc}", "no match_typed_subject_alt_names"},
		{"no client certificate", "cluster.yaml", "      tls_certificates:\n      - certificate_chain: {filename: /etc/envoy/llm-firewall-tls/tls.crt}\n        private_key: {filename: /etc/envoy/llm-firewall-tls/tls.key}\n", "", "want 1 for mTLS"},
		{"unknown field", "cluster.yaml", "tls_certificates:", "tls_certificate:", "unknown field"},
		{"no trusted CA", "cluster.yaml", "        trusted_ca: {filename: /etc/envoy/llm-firewall-tls/ca.crt}\n", "", "no trusted_ca"},
		{"TLS 1.1", "cluster.yaml", "tls_minimum_protocol_version: TLSv1_2", "tls_minimum_protocol_version: TLSv1_1", "tls_minimum_protocol_version"},
		{"plain HTTP/1.1", "cluster.yaml", "      http2_protocol_options: {}", "      http_protocol_options: {}", "no HTTP/2"},
		{"@type typo", "cluster.yaml", "tls.v3.UpstreamTlsContext", "tls.v3.UpstreamTLSContext", "unable to resolve"},
		{"empty certificate filename", "cluster.yaml", "certificate_chain: {filename: /etc/envoy/llm-firewall-tls/tls.crt}", "certificate_chain: {filename: \"\"}", "CertificateChain"},
		{"SDS name mismatch", "cluster-sds.yaml", "- name: llm-firewall-client-cert", "- name: llm-firewall-client", `holds secret "llm-firewall-client-cert"`},
		{"SDS file missing", "cluster-sds.yaml", "/etc/envoy/sds/sds-firewall-ca.yaml", "/etc/envoy/sds/ca.yaml", "no tls/ca.yaml"},
		{"SDS not watched", "sds-client-cert.yaml", "    watched_directory: {path: /etc/envoy/llm-firewall-tls}\n", "", "no watched_directory"},
		{"SDS watches the wrong dir", "sds-firewall-ca.yaml", "watched_directory: {path: /etc/envoy/llm-firewall-tls}", "watched_directory: {path: /etc/envoy}", "is not in watched_directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := string(files[tc.file])
			if !strings.Contains(src, tc.old) {
				t.Fatalf("%s no longer contains %q", tc.file, tc.old)
			}
			mutated := make(map[string][]byte, len(files))
			for k, v := range files {
				mutated[k] = v
			}
			mutated[tc.file] = []byte(strings.Replace(src, tc.old, tc.new, 1))
			errs := checkTLSSnippets(mutated)
			if !anyContains(errs, tc.want) {
				t.Fatalf("validator did not report %q; got %v", tc.want, errs)
			}
		})
	}
}
