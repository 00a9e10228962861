package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caarlos0/env/v11"
)

// envPrefix is put before every variable name below.
const envPrefix = "LLMFW_"

// Config is the server configuration, read from the environment only.
// The help tag is what `llm-firewall serve --help` prints.
type Config struct {
	GRPCAddr              string        `env:"GRPC_ADDR" envDefault:":50051" help:"ext_proc and grpc.health.v1 listen address"`
	AdminAddr             string        `env:"ADMIN_ADDR" envDefault:":9090" help:"admin HTTP address: /metrics, /healthz, /readyz"`
	Budget                time.Duration `env:"BUDGET" envDefault:"150ms" help:"detection budget per ext_proc message; keep it below Envoy's message_timeout"`
	PolicyFile            string        `env:"POLICY_FILE" help:"policy YAML file; empty means the embedded default policy"`
	PolicyReload          time.Duration `env:"POLICY_RELOAD_INTERVAL" envDefault:"5s" help:"how often the policy file is checked for changes (a change is validated, then swapped in atomically; a bad file is rejected and the running set stays); SIGHUP checks at once; 0 disables reloading"`
	CacheMaxMB            int           `env:"CACHE_MAX_MB" envDefault:"64" help:"decision cache hard size cap in MiB; 0 disables the cache"`
	CacheTTL              time.Duration `env:"CACHE_TTL" envDefault:"5m" help:"decision cache entry lifetime"`
	MaxRecvBytes          int           `env:"MAX_RECV_BYTES" envDefault:"16777216" help:"largest gRPC message accepted from Envoy (grpc-go's default is 4 MiB)"`
	MaxBodyBytes          int           `env:"MAX_BODY_BYTES" envDefault:"8388608" help:"hard bound on a body held in memory, also after content decoding; policies set lower limits"`
	MaxStreams            int           `env:"MAX_STREAMS" envDefault:"10000" help:"concurrent transactions (each lasts until the upstream's response ends); beyond it requests fail closed with 503; 0 means unbounded"`
	MaxInflightMB         int           `env:"MAX_INFLIGHT_MB" envDefault:"1024" help:"memory all transactions together may use for bodies being held, decoded and scanned; beyond it requests fail closed with 503; 0 means unbounded"`
	MaxConcurrentScans    int           `env:"MAX_CONCURRENT_SCANS" envDefault:"0" help:"messages decoded and scanned at once (the CPU-bound work); 0 means 4 per CPU; beyond it, after LLMFW_QUEUE_WAIT, a message fails closed fast with 503 and retry-after"`
	QueueWait             time.Duration `env:"QUEUE_WAIT" envDefault:"50ms" help:"how long a transaction or a message may wait for a free slot (LLMFW_MAX_STREAMS, LLMFW_MAX_CONCURRENT_SCANS) before it is refused with 503 and retry-after"`
	RequireProtocolConfig bool          `env:"REQUIRE_PROTOCOL_CONFIG" envDefault:"true" help:"refuse streams whose first message does not announce the body modes (protocol_config); false only for Envoys too old to send it"`
	MaxConnectionAge      time.Duration `env:"MAX_CONNECTION_AGE" envDefault:"5m" help:"gRPC connections are closed gracefully after this age so Envoy re-balances across replicas"`
	MaxConnectionAgeGrace time.Duration `env:"MAX_CONNECTION_AGE_GRACE" envDefault:"30m" help:"how long streams on an aged connection may finish (long LLM responses stream for minutes)"`
	ShutdownGrace         time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s" help:"on SIGTERM, how long in-flight streams may finish before they are cut"`
	MemoryLimitRatio      float64       `env:"MEMORY_LIMIT_RATIO" envDefault:"0.9" help:"without GOMEMLIMIT, the Go soft memory limit is this share of the container's memory limit (cgroup v2 memory.max or v1 memory.limit_in_bytes), so the heap stays near its live size and the GC works harder before the pod is killed; 0 disables"`
	LogLevel              string        `env:"LOG_LEVEL" envDefault:"info" help:"debug, info, warn or error (debug also logs allowed decisions; never prompt text)"`
	LogFormat             string        `env:"LOG_FORMAT" envDefault:"json" help:"json or text"`

	GuardConfig // LLMFW_HTTP_*: the guard HTTP API (guardapi.go)
	TLSConfig   // LLMFW_TLS_*, LLMFW_HTTP_TLS: TLS/mTLS on the gRPC (and guard) listener (tls.go)
	AuditConfig // LLMFW_AUDIT_*: the tamper-evident audit log (audit.go)
}

// loadConfig reads the environment and checks the values.
func loadConfig(environ map[string]string) (Config, error) {
	var c Config
	opts := env.Options{Prefix: envPrefix}
	if environ != nil {
		opts.Environment = environ
	}
	if err := env.ParseWithOptions(&c, opts); err != nil {
		return c, fmt.Errorf("configuration: %s", describeEnvError(err))
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var problems []string
	if c.Budget <= 0 {
		problems = append(problems, envPrefix+"BUDGET must be positive")
	}
	if c.MemoryLimitRatio < 0 || c.MemoryLimitRatio > 1 {
		problems = append(problems, envPrefix+"MEMORY_LIMIT_RATIO must be between 0 and 1")
	}
	if c.MaxBodyBytes <= 0 {
		problems = append(problems, envPrefix+"MAX_BODY_BYTES must be positive")
	}
	// A body plus the protobuf framing around it must fit one gRPC message.
	if c.MaxRecvBytes < c.MaxBodyBytes+64<<10 {
		problems = append(problems, fmt.Sprintf("%sMAX_RECV_BYTES (%d) must exceed %sMAX_BODY_BYTES (%d) by at least 64 KiB",
			envPrefix, c.MaxRecvBytes, envPrefix, c.MaxBodyBytes))
	}
	if c.CacheMaxMB < 0 || c.MaxStreams < 0 || c.MaxInflightMB < 0 {
		problems = append(problems, envPrefix+"CACHE_MAX_MB, "+envPrefix+"MAX_STREAMS and "+envPrefix+"MAX_INFLIGHT_MB must not be negative")
	}
	if err := c.TLSConfig.validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if c.HTTPTLS && c.HTTPAddr == "" {
		problems = append(problems, envPrefix+"HTTP_TLS is set but "+envPrefix+"HTTP_ADDR is empty (the guard API is off)")
	}
	if c.MaxConcurrentScans < 0 || c.QueueWait < 0 {
		problems = append(problems, envPrefix+"MAX_CONCURRENT_SCANS and "+envPrefix+"QUEUE_WAIT must not be negative")
	}
	if c.CacheMaxMB > 0 && c.CacheTTL <= 0 {
		problems = append(problems, envPrefix+"CACHE_TTL must be positive when the cache is on")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		problems = append(problems, err.Error())
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		problems = append(problems, envPrefix+"LOG_FORMAT must be json or text")
	}
	if len(problems) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

// describeEnvError names the variable behind each parse error (the library
// reports Go field names, which a user never sees).
func describeEnvError(err error) string {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err.Error()
	}
	t := reflect.TypeOf(Config{})
	var parts []string
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := t.FieldByName(pe.Name); ok {
				parts = append(parts, fmt.Sprintf("%s%s: %v", envPrefix, f.Tag.Get("env"), pe.Err))
				continue
			}
		}
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("%sLOG_LEVEL %q: want debug, info, warn or error", envPrefix, s)
	}
	return l, nil
}

func newLogger(c Config, w io.Writer) *slog.Logger {
	lvl, _ := parseLevel(c.LogLevel)
	hopts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, hopts))
	}
	return slog.New(slog.NewJSONHandler(w, hopts))
}

// printEnvHelp lists every variable with its default, from the struct tags,
// so the help cannot drift from the code.
func printEnvHelp(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type) // embedded settings (GuardConfig) share the prefix
				continue
			}
			def := f.Tag.Get("envDefault")
			if def == "" {
				def = "(empty)"
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\n", envPrefix, f.Tag.Get("env"), def, f.Tag.Get("help"))
		}
	}
	walk(reflect.TypeOf(Config{}))
	tw.Flush()
}

func environMap() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
