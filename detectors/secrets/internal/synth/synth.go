// Package synth generates the secrets family's evaluation set: synthetic
// tokens of each vendor's documented format, planted in prompts of several
// shapes (prose, code, env files, JSON, YAML, shell), and hard negatives that
// look like secrets but are not. It is seeded, so a seed is a fixed set.
//
// Tokens are generated, never copied: the repository holds no string a
// secret scanner would flag, and the set does not echo gitleaks' own test
// fixtures.
package synth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Sample is one text of the set. For a positive, [Start, End) is the planted
// secret, which a detector must report with entity Entity; a negative has
// Start == End == 0 and Entity "".
type Sample struct {
	Type    string // token type (positives) or negative category
	Context string // prose, code, env, json, yaml, shell, ...
	Text    string
	Start   int
	End     int
	Entity  string
}

// Secret is the planted secret text.
func (s Sample) Secret() string { return s.Text[s.Start:s.End] }

const (
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lower   = "abcdefghijklmnopqrstuvwxyz"
	digits  = "0123456789"
	base62  = upper + lower + digits
	base32  = upper + "234567"
	hexLow  = "0123456789abcdef"
	urlSafe = base62 + "_-"
	word    = base62 + "_"
)

type gen struct{ r *rand.Rand }

func (g gen) str(alphabet string, n int) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(alphabet[g.r.IntN(len(alphabet))])
	}
	return b.String()
}

func (g gen) digits(lo, hi int) string { return g.str(digits, lo+g.r.IntN(hi-lo+1)) }

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

// tokenType is one documented token format.
type tokenType struct {
	name     string
	entity   string
	make     func(g gen) string
	contexts []string // template names usable for this type
}

var anyContext = []string{"prose", "code", "env", "json", "yaml", "shell"}

// Types lists the positive token types in a fixed order.
func Types() []string {
	out := make([]string, len(tokenTypes))
	for i, t := range tokenTypes {
		out[i] = t.name
	}
	return out
}

var tokenTypes = []tokenType{
	{"aws-access-key", "AWS_ACCESS_KEY", func(g gen) string {
		// AKIA (long-term) or ASIA (temporary) + 16 base32 characters.
		return g.pick("AKIA", "ASIA") + g.str(base32, 16)
	}, anyContext},
	{"gcp-api-key", "GCP_API_KEY", func(g gen) string {
		return "AIza" + g.str(urlSafe, 35)
	}, anyContext},
	{"azure-client-secret", "AZURE_SECRET", func(g gen) string {
		// Entra ID client secret: 3 characters, a digit, "Q~", 31-34 more.
		return g.str(base62, 3) + g.str(digits, 1) + "Q~" + g.str(base62+"_~.-", 31+g.r.IntN(4))
	}, anyContext},
	{"github-pat", "GITHUB_TOKEN", func(g gen) string {
		return "ghp_" + g.str(base62, 36)
	}, anyContext},
	{"github-app-token", "GITHUB_TOKEN", func(g gen) string {
		// OAuth (gho_), user-to-server (ghu_) and server-to-server (ghs_) tokens.
		return g.pick("gho_", "ghs_", "ghu_") + g.str(base62, 36)
	}, anyContext},
	{"github-fine-grained-pat", "GITHUB_TOKEN", func(g gen) string {
		return "github_pat_" + g.str(base62, 22) + "_" + g.str(base62, 59)
	}, anyContext},
	{"gitlab-pat", "GITLAB_TOKEN", func(g gen) string {
		return "glpat-" + g.str(urlSafe, 20)
	}, anyContext},
	{"slack-bot-token", "SLACK_TOKEN", func(g gen) string {
		return "xoxb-" + g.digits(10, 13) + "-" + g.digits(10, 13) + "-" + g.str(base62, 24)
	}, anyContext},
	{"slack-user-token", "SLACK_TOKEN", func(g gen) string {
		return "xoxp-" + g.digits(10, 13) + "-" + g.digits(10, 13) + "-" + g.digits(10, 13) + "-" + g.str(hexLow, 32)
	}, anyContext},
	{"stripe-secret-key", "STRIPE_KEY", func(g gen) string {
		return g.pick("sk_live_", "sk_test_", "rk_live_") + g.str(base62, 24+g.r.IntN(76))
	}, anyContext},
	{"openai-api-key", "OPENAI_API_KEY", func(g gen) string {
		// Project keys: "sk-proj-" + 74 + the "T3BlbkFJ" marker + 74
		// (svcacct and admin keys are shaped alike); legacy keys 20 + 20.
		if g.r.IntN(4) == 0 {
			return "sk-" + g.str(base62, 20) + "T3BlbkFJ" + g.str(base62, 20)
		}
		return "sk-" + g.pick("proj", "proj", "svcacct", "admin") + "-" + g.str(urlSafe, 74) + "T3BlbkFJ" + g.str(urlSafe, 74)
	}, anyContext},
	{"anthropic-api-key", "ANTHROPIC_API_KEY", func(g gen) string {
		return "sk-ant-api03-" + g.str(urlSafe, 93) + "AA"
	}, anyContext},
	{"huggingface-token", "HUGGINGFACE_TOKEN", func(g gen) string {
		return "hf_" + g.str(upper+lower, 34)
	}, anyContext},
	{"npm-token", "API_KEY", func(g gen) string {
		return "npm_" + g.str(base62, 36)
	}, anyContext},
	{"jwt", "JWT", func(g gen) string { return g.jwt() }, anyContext},
	{"private-key", "PRIVATE_KEY", func(g gen) string { return g.pem() }, []string{"prose", "code-block", "json-escaped-no", "yaml-block"}},
	{"generic-assignment", "GENERIC_SECRET", nil, nil}, // built by generic()
}

func (g gen) jwt() string {
	enc := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]string{"alg": g.pick("HS256", "RS256", "ES256"), "typ": "JWT"})
	claims := map[string]any{
		"sub":   g.digits(6, 10),
		"name":  g.pick("Jane Doe", "Ravi Patel", "Chen Wei", "Ana Souza"),
		"email": g.pick("jane", "ravi", "chen", "ana") + "@example.com",
		"iat":   1700000000 + g.r.IntN(50000000),
		"exp":   1750000000 + g.r.IntN(50000000),
		"scope": g.pick("read", "read write", "admin"),
	}
	payload, _ := json.Marshal(claims)
	sig := make([]byte, 32+g.r.IntN(2)*224)
	for i := range sig {
		sig[i] = byte(g.r.IntN(256))
	}
	return enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig)
}

func (g gen) pem() string {
	kind := g.pick("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
	raw := make([]byte, 96+g.r.IntN(800))
	for i := range raw {
		raw[i] = byte(g.r.IntN(256))
	}
	b64 := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	b.WriteString("-----BEGIN " + kind + "-----\n")
	for len(b64) > 64 {
		b.WriteString(b64[:64] + "\n")
		b64 = b64[64:]
	}
	b.WriteString(b64 + "\n-----END " + kind + "-----")
	return b.String()
}

// contexts place a secret into a prompt; {S} marks it.
var contexts = map[string][]string{
	"prose": {
		"Hi, my deploy keeps failing with 401. I'm using {S} in the config, is that the wrong kind of key?\n",
		"can you check why this doesn't work\n{S}\nit worked yesterday",
		"Here is the token: {S} - please tell me which scopes it has.",
		"I rotated the credential yesterday but the old one {S} still shows up in our logs. How do I revoke it?",
	},
	"code": {
		"import requests\n\nclient = Client(token=\"{S}\")\nresp = client.get(\"/v1/models\")\nprint(resp.json())\n",
		"func main() {\n\tc := api.New(\"{S}\")\n\tif err := c.Ping(); err != nil {\n\t\tlog.Fatal(err)\n\t}\n}\n",
		"const config = {\n  region: 'eu-west-1',\n  credential: '{S}',\n  retries: 3,\n};\n",
		"# why does this raise?\nheaders = {'Authorization': 'Bearer {S}'}\nr = httpx.post(url, headers=headers)\n",
	},
	"env": {
		"# .env for staging\nNODE_ENV=staging\nSERVICE_CREDENTIAL={S}\nLOG_LEVEL=debug\n",
		"PORT=8080\nUPSTREAM_TOKEN={S}\n",
	},
	"json": {
		"{\"name\": \"ci-bot\", \"credential\": \"{S}\", \"enabled\": true}",
		"Here's my settings.json:\n{\n  \"endpoint\": \"https://api.example.com\",\n  \"token\": \"{S}\"\n}\nWhat's wrong?",
	},
	"yaml": {
		"services:\n  worker:\n    image: worker:1.4\n    environment:\n      UPSTREAM_TOKEN: {S}\n      REGION: us-east-1\n",
		"auth:\n  token: \"{S}\"\n  timeout: 30s\n",
	},
	"shell": {
		"$ export UPSTREAM_TOKEN={S}\n$ ./deploy.sh --env prod\nerror: permission denied",
		"curl -s -H \"Authorization: Bearer {S}\" https://api.example.com/v2/me\n",
	},
	"code-block": {
		"Why does ssh say the key is invalid? Here it is:\n```\n{S}\n```\n",
		"key_data = \"\"\"{S}\n\"\"\"\n",
	},
	"json-escaped-no": { // a PEM with real newlines inside a JSON-ish blob
		"The service account file has:\n\"private_key\": \"{S}\",\n",
	},
	"yaml-block": {
		"tls:\n  key: |\n{S}\n",
	},
}

func fill(template, secret string) (string, int, int) {
	i := strings.Index(template, "{S}")
	text := template[:i] + secret + template[i+3:]
	return text, i, i + len(secret)
}

// generic builds a secret-named assignment of a random password or key.
func (g gen) generic() (text string, start, end int, context string) {
	var value string
	switch g.r.IntN(3) {
	case 0: // a password someone chose
		value = g.str(upper, 1) + g.str(lower, 4+g.r.IntN(4)) + g.str(digits, 2+g.r.IntN(3)) + g.pick("!", "#", "%", "@", "") + g.str(base62, 4+g.r.IntN(6))
	case 1: // a random key
		value = g.str(base62, 20+g.r.IntN(25))
	default: // hex
		value = g.str(hexLow, 32+g.r.IntN(2)*32)
	}
	forms := []struct{ ctx, tpl string }{
		{"code", "db = connect(host=\"db.internal\", user=\"app\", password=\"{S}\")\n"},
		{"code", "DB_PASSWORD = \"{S}\"\nDB_HOST = \"localhost\"\n"},
		{"code", "const apiKey = \"{S}\";\nfetch(url, { headers: { 'X-Api-Key': apiKey } });\n"},
		{"env", "API_KEY={S}\nDEBUG=false\n"},
		{"env", "export SECRET_KEY={S}\n"},
		{"yaml", "database:\n  user: app\n  password: {S}\n"},
		{"yaml", "api_key: \"{S}\"\n"},
		{"json", "{\"client_id\": \"web\", \"client_secret\": \"{S}\"}"},
		{"prose", "the admin password is {S} but it does not work on the new server"},
		{"shell", "mysql -u root --password={S} -h 10.0.0.5\n"},
	}
	f := forms[g.r.IntN(len(forms))]
	text, start, end = fill(f.tpl, value)
	return text, start, end, f.ctx
}

// Positives returns perType samples of every token type.
func Positives(seed uint64, perType int) []Sample {
	g := gen{rand.New(rand.NewPCG(seed, 0x5ec2e75))}
	var out []Sample
	for _, t := range tokenTypes {
		for range perType {
			if t.make == nil {
				text, s, e, ctx := g.generic()
				out = append(out, Sample{Type: t.name, Context: ctx, Text: text, Start: s, End: e, Entity: t.entity})
				continue
			}
			ctx := t.contexts[g.r.IntN(len(t.contexts))]
			tpls := contexts[ctx]
			text, s, e := fill(tpls[g.r.IntN(len(tpls))], t.make(g))
			out = append(out, Sample{Type: t.name, Context: ctx, Text: text, Start: s, End: e, Entity: t.entity})
		}
	}
	return out
}

// Negatives returns n samples of every hard-negative category: texts no
// secrets detector should flag.
func Negatives(seed uint64, n int) []Sample {
	g := gen{rand.New(rand.NewPCG(seed, 0x9e6a7))}
	var out []Sample
	add := func(cat, ctx, text string) { out = append(out, Sample{Type: cat, Context: ctx, Text: text}) }
	for range n {
		uuid := g.str(hexLow, 8) + "-" + g.str(hexLow, 4) + "-4" + g.str(hexLow, 3) + "-" + g.pick("8", "9", "a", "b") + g.str(hexLow, 3) + "-" + g.str(hexLow, 12)
		add("uuid", "code", strings.ReplaceAll(g.pick(
			"user = repo.find(\"{U}\")\nif user is None:\n    raise NotFound()\n",
			"The request ID {U} appears in every failed call, what does that mean?",
			"{\"id\": \"{U}\", \"status\": \"active\", \"tier\": 2}",
		), "{U}", uuid))
		sha := g.str(hexLow, 40)
		add("git-sha", "prose", strings.ReplaceAll(g.pick(
			"The regression was introduced in commit {H}, can you explain the diff?",
			"git checkout {H} && go test ./...",
			"Merge {H} into main broke the build.",
			"  ref: {H}\n  path: charts/api\n",
		), "{H}", sha))
		add("sha256", "code", strings.ReplaceAll(g.pick(
			"sha256sum says {H} for the tarball but the release page says otherwise.",
			"FROM alpine@sha256:{H}\nRUN apk add curl\n",
			"checksum = \"{H}\"\n",
		), "{H}", g.str(hexLow, 64)))
		sentence := g.pick("The quick brown fox jumps over the lazy dog.", "Please summarise the attached meeting notes for the team.", "Hello world, this is a test message from the staging server.", "Remember to water the plants on Tuesday and Friday mornings.")
		add("base64-text", "prose", "Can you decode this for me: "+base64.StdEncoding.EncodeToString([]byte(sentence+" "+sentence)))
		add("lorem-ipsum", "prose", lorem(g))
		add("env-reference", "code", g.pick(
			"password = os.Getenv(\"DB_PASSWORD\")",
			"password: ${DB_PASSWORD}",
			"api_key = settings.API_KEY",
			"token = request.headers.get(\"Authorization\")",
			"secret = None",
			"const apiKey = process.env.OPENAI_API_KEY;",
			"API_KEY=${{ secrets.API_KEY }}",
			"password=$(cat /run/secrets/db_password)",
			"token: {{ .Values.token }}",
			"client_secret = config[\"oauth\"][\"client_secret\"]",
		))
		add("placeholder", "code", g.pick(
			"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			"api_key = \"YOUR_API_KEY\"",
			"OPENAI_API_KEY=your-api-key-here",
			"password: \"********\"",
			"\"password\": \"<redacted>\"",
			"token = \"xxxxxxxxxxxxxxxxxxxx\"",
			"Set ANTHROPIC_API_KEY to the key from the console (it starts with sk-ant-).",
			"export GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
		))
		add("security-prose", "prose", g.pick(
			"How should I store API keys in a mobile app so they are not extractable?",
			"What's the difference between an access token and a refresh token in OAuth 2.0?",
			"Explain how JWT signature verification works and why alg=none is dangerous.",
			"Our password policy requires 12 characters; is that enough in 2024?",
			"The keyboard shortcut for the secret menu is Ctrl+Shift+K, the monkey key.",
			"Write a function that validates a password: at least one digit, one upper-case letter and one symbol.",
		))
		add("code-identifiers", "code", g.pick(
			"const tokenizer = new Tokenizer(vocab);\nconst tokens = tokenizer.encode(text);\n",
			"key_id = 1234\nkey_name = \"primary-signing-key\"\n",
			"auth_url = \"https://login.example.com/oauth2/authorize\"\n",
			"public_key_path = \"/etc/app/keys/public.pem\"\n",
			"def get_secret_name(env):\n    return f\"app-{env}-db\"\n",
			"access_token_expiry = timedelta(minutes=15)\n",
			"api_version = \"2024-06-01\"\n",
		))
	}
	return out
}

var loremWords = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat")

func lorem(g gen) string {
	var b strings.Builder
	for i := range 60 + g.r.IntN(60) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(loremWords[g.r.IntN(len(loremWords))])
	}
	b.WriteByte('.')
	return b.String()
}

// String describes a sample without its text, for failure messages.
func (s Sample) String() string {
	return fmt.Sprintf("%s/%s [%d,%d)", s.Type, s.Context, s.Start, s.End)
}

// Token returns one token of the named type (see Types), from seed.
func Token(typ string, seed uint64) (string, bool) {
	g := gen{rand.New(rand.NewPCG(seed, 0x70c3e))}
	for _, t := range tokenTypes {
		if t.name == typ && t.make != nil {
			return t.make(g), true
		}
	}
	return "", false
}
