package envoy_test

// Validation of gateway/envoyextensionpolicy.yaml (Envoy Gateway's native
// ext_proc API). There is no Go schema for the CRD here (the Envoy Gateway
// module is not a dependency), so the test decodes the YAML strictly into a
// struct that lists exactly the fields we set (unknown keys are errors, which
// also catches typos like failOpn) and checks the fail-closed invariants.
// Envoy Gateway's own CRD validation (CEL, enums) runs at `kubectl apply`.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	extensionPolicyFile = "gateway/envoyextensionpolicy.yaml"

	gatewayDefaultMsgTimeout = 200 * time.Millisecond // EG messageTimeout when unset
	gatewayBuffered          = "Buffered"
)

var (
	// Gateway API Duration (GEP-2257), what the CRD accepts for
	// messageTimeout; stricter than time.ParseDuration (no "1.5s", no "us").
	gatewayDurationRE = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)
	// ProcessingModeOptions.attributes items pattern of the CRD.
	gatewayAttributeRE = regexp.MustCompile(`^(connection\.|source\.|destination\.|request\.|response\.|upstream\.|xds\.route_)[a-z_1-9]*$`)
)

// envoyExtensionPolicy mirrors the subset of
// gateway.envoyproxy.io/v1alpha1 EnvoyExtensionPolicy we use
// (envoyproxy/gateway api/v1alpha1/envoyextensionypolicy_types.go and
// ext_proc_types.go). A field not listed here fails the decode.
type envoyExtensionPolicy struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		TargetRefs []gatewayTargetRef `yaml:"targetRefs"`
		ExtProc    []gatewayExtProc   `yaml:"extProc"`
	} `yaml:"spec"`
}

type gatewayTargetRef struct {
	Group       string `yaml:"group"`
	Kind        string `yaml:"kind"`
	Name        string `yaml:"name"`
	SectionName string `yaml:"sectionName"`
}

type gatewayExtProc struct {
	BackendRefs []struct {
		Group     *string `yaml:"group"`
		Kind      string  `yaml:"kind"`
		Name      string  `yaml:"name"`
		Namespace string  `yaml:"namespace"`
		Port      int     `yaml:"port"`
	} `yaml:"backendRefs"`
	MessageTimeout string `yaml:"messageTimeout"`
	FailOpen       *bool  `yaml:"failOpen"`
	ProcessingMode *struct {
		Request           *gatewayProcessingOptions `yaml:"request"`
		Response          *gatewayProcessingOptions `yaml:"response"`
		AllowModeOverride bool                      `yaml:"allowModeOverride"`
	} `yaml:"processingMode"`
	Metadata *struct {
		AccessibleNamespaces []string `yaml:"accessibleNamespaces"`
		WritableNamespaces   []string `yaml:"writableNamespaces"`
	} `yaml:"metadata"`
}

type gatewayProcessingOptions struct {
	Body       string   `yaml:"body"`
	Attributes []string `yaml:"attributes"`
}

// decodeExtensionPolicy decodes one YAML document strictly.
func decodeExtensionPolicy(data []byte) (*envoyExtensionPolicy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	p := &envoyExtensionPolicy{}
	if err := dec.Decode(p); err != nil {
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("want exactly one YAML document (second decode: %v)", err)
	}
	return p, nil
}

// checkExtensionPolicy decodes and lints an EnvoyExtensionPolicy.
func checkExtensionPolicy(data []byte) []error {
	p, err := decodeExtensionPolicy(data)
	if err != nil {
		return []error{fmt.Errorf("strict decode: %w", err)}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.APIVersion != "gateway.envoyproxy.io/v1alpha1" || p.Kind != "EnvoyExtensionPolicy" {
		bad("apiVersion/kind %s/%s, want gateway.envoyproxy.io/v1alpha1 EnvoyExtensionPolicy", p.APIVersion, p.Kind)
	}
	if len(p.Spec.TargetRefs) == 0 {
		bad("spec.targetRefs is empty: the policy applies to nothing")
	}
	if len(p.Spec.ExtProc) == 0 {
		bad("spec.extProc is empty")
	}
	for i, ep := range p.Spec.ExtProc {
		where := fmt.Sprintf("spec.extProc[%d]", i)
		if len(ep.BackendRefs) == 0 {
			bad("%s: no backendRefs", where)
		}
		for j, br := range ep.BackendRefs {
			if br.Name == "" || br.Port == 0 || (br.Kind != "Service" && br.Kind != "Backend") {
				bad("%s.backendRefs[%d]: want a named Service (or Backend) with a port, got kind %q name %q port %d", where, j, br.Kind, br.Name, br.Port)
			}
		}
		// FAIL-CLOSED: failOpen absent means false.
		if ep.FailOpen != nil && *ep.FailOpen {
			bad("%s: failOpen must be false: a timeout or gRPC error would let requests through unscanned", where)
		}
		timeout := gatewayDefaultMsgTimeout
		if ep.MessageTimeout != "" {
			if !gatewayDurationRE.MatchString(ep.MessageTimeout) {
				bad("%s: messageTimeout %q is not a Gateway API duration (e.g. 1s, 500ms)", where, ep.MessageTimeout)
			}
			d, err := time.ParseDuration(ep.MessageTimeout)
			if err != nil {
				bad("%s: messageTimeout: %v", where, err)
			}
			timeout = d
		}
		if timeout <= serverBudget {
			bad("%s: messageTimeout %v must be above the firewall budget LLMFW_BUDGET=%v, or Envoy's bare 504 preempts the firewall's own reply", where, timeout, serverBudget)
		}
		pm := ep.ProcessingMode
		if pm == nil {
			bad("%s: processingMode is required (the default sends neither headers nor bodies)", where)
		} else {
			for name, o := range map[string]*gatewayProcessingOptions{"request": pm.Request, "response": pm.Response} {
				switch {
				case o == nil:
					bad("%s: processingMode.%s is required (absent means headers and body are not sent)", where, name)
				case o.Body != gatewayBuffered:
					bad("%s: processingMode.%s.body %q: must be %s (BufferedPartial lets the tail bypass the scan; the firewall refuses Streamed modes)", where, name, o.Body, gatewayBuffered)
				}
				if o != nil {
					for _, a := range o.Attributes {
						if !gatewayAttributeRE.MatchString(a) {
							bad("%s: processingMode.%s.attributes %q: Envoy Gateway accepts only connection./source./destination./request./response./upstream./xds.route_ attributes", where, name, a)
						}
					}
				}
			}
			if pm.AllowModeOverride {
				bad("%s: processingMode.allowModeOverride must be false: the server must not be able to switch body scanning off", where)
			}
			if pm.Request != nil && !slices.Contains(pm.Request.Attributes, routeNameAttribute) {
				bad("%s: processingMode.request.attributes must contain %q (per-route policy selection)", where, routeNameAttribute)
			}
		}
		if ep.Metadata == nil || !slices.Contains(ep.Metadata.WritableNamespaces, metadataNamespace) {
			bad("%s: metadata.writableNamespaces must contain %q, or the decision metadata is dropped", where, metadataNamespace)
		}
	}
	return errs
}

func readExtensionPolicy(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(extensionPolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEnvoyExtensionPolicy(t *testing.T) {
	data := readExtensionPolicy(t)
	for _, err := range checkExtensionPolicy(data) {
		t.Error(err)
	}
	p, err := decodeExtensionPolicy(data)
	if err != nil {
		t.Fatal(err)
	}
	// The deployment choices, pinned.
	if want := (gatewayTargetRef{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Name: "llm-api"}); !slices.Contains(p.Spec.TargetRefs, want) {
		t.Errorf("targetRefs %+v, want %+v", p.Spec.TargetRefs, want)
	}
	if len(p.Spec.ExtProc) != 1 {
		t.Fatalf("%d extProc entries, want 1", len(p.Spec.ExtProc))
	}
	ep := p.Spec.ExtProc[0]
	if len(ep.BackendRefs) != 1 || ep.BackendRefs[0].Kind != "Service" || ep.BackendRefs[0].Name != "llm-firewall" || ep.BackendRefs[0].Port != 50051 {
		t.Errorf("backendRefs %+v, want Service llm-firewall port 50051", ep.BackendRefs)
	}
	if ep.MessageTimeout != "1s" {
		t.Errorf("messageTimeout %q, want 1s (as in %s)", ep.MessageTimeout, bootstrapFile)
	}
	if ep.FailOpen == nil || *ep.FailOpen {
		t.Error("failOpen must be present and false (explicit, although false is the default)")
	}
	if !bytes.Contains(data, []byte("\n"+targetEnvoyHeader+"\n")) {
		t.Errorf("no header line %q", targetEnvoyHeader)
	}
}

func TestEnvoyExtensionPolicyValidatorRejectsMutations(t *testing.T) {
	src := string(readExtensionPolicy(t))
	cases := []struct{ name, old, new, want string }{
		{"positive: failOpen absent (default false)", "    failOpen: false\n", "", ""},
		{"positive: messageTimeout absent (default 200ms)", "    messageTimeout: 1s\n", "", ""},
		{"failOpen true", "    failOpen: false\n", "    failOpen: true\n", "failOpen must be false"},
		{"request body Streamed", "        body: Buffered\n", "        body: Streamed\n", `processingMode.request.body "Streamed"`},
		{"response body Streamed", "        body: Buffered  ", "        body: Streamed  ", `processingMode.response.body "Streamed"`},
		{"request body BufferedPartial", "        body: Buffered\n", "        body: BufferedPartial\n", `processingMode.request.body "BufferedPartial"`},
		{"no response processing", "      response:\n        body: Buffered", "      # response:\n      #   body: Buffered", "processingMode.response is required"},
		{"missing writable namespace", `writableNamespaces: ["llmfw"]`, `writableNamespaces: ["other"]`, "writableNamespaces must contain"},
		{"no writableNamespaces", "      writableNamespaces: [\"llmfw\"]\n", "", "writableNamespaces must contain"},
		{"attributes without xds.route_name", `attributes: ["xds.route_name"]`, `attributes: ["request.path"]`, "attributes must contain"},
		{"attribute Envoy Gateway refuses", `attributes: ["xds.route_name"]`, `attributes: ["xds.route_name", "xds.route_metadata.filter_metadata['llmfw']['policy']"]`, "Envoy Gateway accepts only"},
		{"messageTimeout 100ms", "messageTimeout: 1s", "messageTimeout: 100ms", "must be above the firewall budget"},
		{"messageTimeout not a duration", "messageTimeout: 1s", "messageTimeout: one", "messageTimeout"},
		{"messageTimeout Go-only syntax", "messageTimeout: 1s", "messageTimeout: 1.5s", "not a Gateway API duration"},
		{"allowModeOverride true", "      # FAIL-CLOSED: allowModeOverride", "      allowModeOverride: true\n      # FAIL-CLOSED: allowModeOverride", "allowModeOverride must be false"},
		{"unknown key (typo)", "    failOpen: false\n", "    failOpn: false\n", "field failOpn not found"},
		{"unknown key (unsupported field)", "    failOpen: false\n", "    failOpen: false\n    shadowMode: true\n", "field shadowMode not found"},
		{"wrong kind", "kind: EnvoyExtensionPolicy", "kind: SecurityPolicy", "apiVersion/kind"},
		{"second document", "", "", "exactly one YAML document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mutated string
			if tc.name == "second document" {
				mutated = src + "---\nkind: Other\n"
			} else {
				if strings.Count(src, tc.old) != 1 {
					t.Fatalf("fixture must contain %q exactly once", tc.old)
				}
				mutated = strings.Replace(src, tc.old, tc.new, 1)
			}
			errs := checkExtensionPolicy([]byte(mutated))
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if !anyContains(errs, tc.want) {
				t.Fatalf("validator did not report %q; got %v", tc.want, errs)
			}
		})
	}
}
