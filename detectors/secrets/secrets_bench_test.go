package secrets

import (
	"context"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// benchPrompt is a realistic 4 KB request: a developer pasting code and
// config around prose, the kind of text where secrets leak. It mentions
// keys, tokens, auth and passwords throughout, so the keyword prefilter lets
// the generic and JWT rules through, as it would in real traffic.
func benchPrompt(secret string) string {
	var b strings.Builder
	b.WriteString("Hi! I'm migrating our payment service from the old auth flow to OAuth 2.0 and something is off. ")
	b.WriteString("The access token we get back is accepted by the gateway but the refresh token call returns 401. ")
	b.WriteString("Here is the client code, can you review it and tell me what I'm doing wrong with the API key and the token cache?\n\n")
	b.WriteString("```python\nimport os\nimport time\nimport requests\n\nAPI_BASE = \"https://payments.example.com/v2\"\n")
	b.WriteString("api_key = os.getenv(\"PAYMENTS_API_KEY\")\npassword = os.environ[\"DB_PASSWORD\"]\n\n")
	b.WriteString("class TokenCache:\n    def __init__(self, ttl=300):\n        self.ttl = ttl\n        self._token = None\n        self._expires = 0\n\n")
	b.WriteString("    def get(self):\n        if self._token and time.time() < self._expires:\n            return self._token\n")
	b.WriteString("        resp = requests.post(f\"{API_BASE}/oauth/token\", data={\"grant_type\": \"client_credentials\"}, auth=(CLIENT_ID, CLIENT_SECRET))\n")
	b.WriteString("        resp.raise_for_status()\n        body = resp.json()\n        self._token = body[\"access_token\"]\n        self._expires = time.time() + body.get(\"expires_in\", self.ttl)\n        return self._token\n```\n\n")
	b.WriteString("And the config we deploy with:\n\n```yaml\nservice:\n  name: payments\n  replicas: 3\n  auth:\n    issuer: https://login.example.com\n    audience: payments-api\n")
	b.WriteString("    token_ttl: 300\n    credentials: " + secret + "\n  database:\n    host: db.internal\n    user: payments\n    password: ${DB_PASSWORD}\n```\n\n")
	b.WriteString("The monkey patch I added for the secret rotation is below; it works locally but not in the cluster, where the key is mounted from a volume.\n\n")
	b.WriteString("```go\nfunc loadKey(path string) ([]byte, error) {\n\tb, err := os.ReadFile(path)\n\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"read key %q: %w\", path, err)\n\t}\n\treturn bytes.TrimSpace(b), nil\n}\n```\n\n")
	for b.Len() < 4096 {
		b.WriteString("Also, is it a good idea to keep the token in memory only, or should we persist it between restarts so the API does not rate-limit us? ")
	}
	s := b.String()
	return s[:4096]
}

func benchDetect(b *testing.B, text string, wantFindings bool) {
	d, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: text, Role: pipeline.RoleUser, Provenance: pipeline.FromUser}}}
	ctx := context.Background()
	fs, err := d.Detect(ctx, in)
	if err != nil || (len(fs) > 0) != wantFindings {
		b.Fatalf("findings %v, err %v; want findings: %v", fs, err, wantFindings)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Detect(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetect4KB(b *testing.B) {
	benchDetect(b, benchPrompt("ghp_R8t1Zq4LmX0vKp2Wn7YcJd5Hs9Bf3Ge6Ua1T"), true)
}

func BenchmarkDetect4KBClean(b *testing.B) {
	benchDetect(b, benchPrompt("${PAYMENTS_CREDENTIALS}"), false)
}

// BenchmarkGitleaksLibrary4KB runs gitleaks' own detector on the same clean
// prompt, for the comparison in README.md.
func BenchmarkGitleaksLibrary4KB(b *testing.B) {
	cfg := gitleaksDefaults(b)
	gd := detect.NewDetector(cfg)
	text := benchPrompt("${PAYMENTS_CREDENTIALS}")
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		gd.DetectString(text)
	}
}
