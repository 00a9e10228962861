package pipeline_test

import (
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

func TestNormalizeHostAndPath(t *testing.T) {
	for in, want := range map[string]string{
		"api.openai.com": "api.openai.com", "API.OpenAI.com.": "api.openai.com", "api.openai.com.:443": "api.openai.com",
		"api.openai.com:8443": "api.openai.com", "[::1]:80": "::1", " Example.COM ": "example.com",
	} {
		if got := pipeline.NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"/v1/chat/completions":                    "/v1/chat/completions",
		"//v1/chat/completions":                   "/v1/chat/completions",
		"/v1//chat///completions":                 "/v1/chat/completions",
		"/v1/./chat/completions":                  "/v1/chat/completions",
		"/v1/x/../chat/completions":               "/v1/chat/completions",
		"/../../v1/chat/completions":              "/v1/chat/completions",
		"/v1/%63hat/completions":                  "/v1/chat/completions",
		"/v1/%63%68%61%74/completions?stream=1#x": "/v1/chat/completions",
		"/v1/chat%2Fcompletions":                  "/v1/chat%2Fcompletions", // reserved: not a separator
		"/v1/chat/":                               "/v1/chat/",
		"/v1/chat/.":                              "/v1/chat/",
		"":                                        "/",
		"/%7euser/%zz":                            "/~user/%zz",
	} {
		if got := pipeline.NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// Route rules match what the upstream routes on: a spelling of the host or
// path that the upstream resolves to a guarded route cannot pick another
// policy.
func TestRouteRulesSeeNormalizedValues(t *testing.T) {
	set, err := pipeline.ParsePolicySet([]byte(`version: r1
default: open
policies:
  open:
    mode: shadow
    detectors: {}
  strict:
    detectors: {}
routes:
  - {host: api.openai.com, path_prefix: /v1/chat/, policy: strict}
`), "routes")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ host, path, want string }{
		{"api.openai.com", "/v1/chat/completions", "strict"},
		{"api.openai.com.", "/v1/chat/completions", "strict"},
		{"API.OPENAI.COM:443", "/v1/chat/completions", "strict"},
		{"api.openai.com", "//v1/chat/completions", "strict"},
		{"api.openai.com", "/v1/%63hat/completions", "strict"},
		{"api.openai.com", "/v1/models/../chat/completions", "strict"},
		// Hard negatives: other hosts and paths keep the default.
		{"api.openai.com.evil.example", "/v1/chat/completions", "open"},
		{"api.openai.com", "/v1/embeddings", "open"},
		{"api.openai.com", "/v1/chat%2Fcompletions", "open"},
	} {
		p, _ := set.Select(pipeline.Selector{Host: tc.host, Path: tc.path})
		if p.Name != tc.want {
			t.Errorf("%s %s → policy %s, want %s", tc.host, tc.path, p.Name, tc.want)
		}
	}
}

// FuzzNormalizePath: the result is a rooted path without empty, "." or
// ".." segments, and normalizing it again changes nothing.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/v1/chat", "//a/./b/../c/", "/%63%2F%zz", "..", "/a?b#c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n := pipeline.NormalizePath(p)
		if !strings.HasPrefix(n, "/") || strings.Contains(n, "//") {
			t.Fatalf("%q → %q", p, n)
		}
		for _, seg := range strings.Split(strings.Trim(n, "/"), "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q → %q keeps a dot segment", p, n)
			}
		}
		if again := pipeline.NormalizePath(n); again != n {
			t.Fatalf("not idempotent: %q → %q → %q", p, n, again)
		}
	})
}
