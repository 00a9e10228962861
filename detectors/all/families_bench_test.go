package all_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// prompt4KB is a realistic 4 KB user turn: prose, a little code and
// configuration, an e-mail address and a phone number; no secret.
func prompt4KB(seed int) string {
	parts := []string{
		"Hi, I'm preparing the quarterly migration plan for our database cluster and need help. ",
		"Our on-call contact is ops-team@acme-corp.io or +44 20 7946 0958 during office hours. ",
		"Here is the current config:\n```yaml\nreplicas: 3\nstorage: 200Gi\nbackup_window: \"02:00-04:00\"\npassword: ${DB_PASSWORD}\n```\n",
		"The key question is whether we can move to the new storage class without downtime. ",
		"func connect(ctx context.Context) (*sql.DB, error) { return sql.Open(\"postgres\", os.Getenv(\"DSN\")) }\n",
		"Please summarize the risks, list the steps in order, and suggest a rollback plan. ",
		"Last time the token refresh failed because the auth service was restarted mid-deploy. ",
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Request %d. ", seed)
	for i := 0; b.Len() < 4096; i++ {
		b.WriteString(parts[(i+seed)%len(parts)])
	}
	return b.String()[:4096]
}

// BenchmarkFamilies4KB measures each detector family of the balanced policy
// alone (with normalization when it reads views), and the whole balanced
// request pipeline, on the same 4 KB turns, without the decision cache.
func BenchmarkFamilies4KB(b *testing.B) {
	sections := map[string]string{
		"limits":    "limits: {}",
		"injection": "injection: {action: block}",
		"secrets":   "secrets: {action: redact}",
		"pii":       "pii: {action: log}",
		"content":   "content: {preset: default, action: log}",
		"kids":      "content: {preset: kids, action: block}",
	}
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = prompt4KB(i)
	}
	run := func(b *testing.B, p *pipeline.Policy, dir pipeline.Direction) {
		e := pipeline.NewEngine(all.EngineOptions()...)
		b.ReportAllocs()
		b.SetBytes(4096)
		i := 0
		for b.Loop() {
			in := &pipeline.Input{Direction: dir, Meta: pipeline.Meta{Messages: 1, BodyBytes: 4096},
				Segments: []pipeline.Segment{{Text: texts[i%len(texts)], Role: pipeline.RoleUser, Provenance: pipeline.FromUser}}}
			if dir == pipeline.Response {
				in.Segments[0].Role, in.Segments[0].Provenance = pipeline.RoleAssistant, pipeline.FromModel
			}
			i++
			e.Evaluate(context.Background(), p, in)
		}
	}
	for _, name := range []string{"limits", "injection", "secrets", "pii", "content", "kids"} {
		b.Run(name, func(b *testing.B) {
			src := "version: b\ndefault: p\npolicies:\n  p:\n    detectors:\n      " + sections[name] + "\n"
			ps, err := pipeline.ParsePolicySet([]byte(src), "bench")
			if err != nil {
				b.Fatal(err)
			}
			run(b, ps.Default, pipeline.Request)
		})
	}
	// The request pipeline before the secrets, pii and output families:
	// the difference to balanced-request is what they add.
	before, err := pipeline.ParsePolicySet([]byte("version: b\ndefault: p\npolicies:\n  p:\n    detectors:\n      limits: {}\n      injection: {action: block}\n"), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("limits+injection-request", func(b *testing.B) { run(b, before.Default, pipeline.Request) })
	ps, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("balanced-request", func(b *testing.B) { run(b, ps.Default, pipeline.Request) })
	b.Run("balanced-response", func(b *testing.B) { run(b, ps.Default, pipeline.Response) })
	kids, _ := ps.Policy("kids")
	b.Run("kids-request", func(b *testing.B) { run(b, kids, pipeline.Request) })
}
