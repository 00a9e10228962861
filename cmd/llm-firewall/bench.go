package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/llm-firewall/llm-firewall/internal/load"
)

const benchUsage = `usage: llm-firewall bench (--addr ADDR | --self) [--baseline-noop] [flags]

Plays Envoy's side of concurrent ext_proc transactions (request headers with
protocol_config BUFFERED/BUFFERED, request body, response headers and body;
a share of streamed answers switched with mode_override) and reports
throughput, latency per phase, blocks, errors and the server's RSS.
--baseline-noop first runs the same load against a built-in no-op ext_proc
server (CONTINUE to everything) and prints the ratio firewall / no-op.

Flags:
`

// benchOptions are the bench flags.
type benchOptions struct {
	addr, in, admin, route  string
	cpuProfile              string
	self, baseline, asJSON  bool
	repeat                  bool
	concurrency, size       int
	chunks, conns, cacheMB  int
	count                   int64
	duration, warmup, tmout time.Duration
	streamRatio             float64
	seed                    uint64
}

func benchCmd(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return benchRun(ctx, args, stdout, stderr)
}

func benchRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o benchOptions
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	fs.StringVar(&o.addr, "addr", "", "ext_proc server to load (host:port)")
	fs.BoolVar(&o.self, "self", false, "start the firewall in this process (LLMFW_* settings, default policy unless LLMFW_POLICY_FILE) and load it")
	fs.BoolVar(&o.baseline, "baseline-noop", false, "first run the same load against a built-in no-op ext_proc server, then print the ratio")
	fs.IntVar(&o.concurrency, "concurrency", 16, "transactions in flight")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each run starts transactions (0 with --count: until the count)")
	fs.Int64Var(&o.count, "count", 0, "stop each run after this many transactions (0: by --duration)")
	fs.DurationVar(&o.warmup, "warmup", 0, "transactions started in the first part of a run are played but not recorded")
	fs.StringVar(&o.in, "in", "", "JSON Lines of {id,text,label} (the benign/attack mix); default one built-in benign prompt")
	fs.IntVar(&o.size, "size", 0, "request body size in bytes (texts padded with benign filler or truncated); 0 keeps each text as is")
	fs.BoolVar(&o.repeat, "repeat", false, "send the same body for the same text on every pass, so the decision cache answers (default: unique bodies)")
	fs.Float64Var(&o.streamRatio, "stream-ratio", 0, "share (0..1) of transactions answered as streams (stream:true, text/event-stream)")
	fs.IntVar(&o.chunks, "chunks", 8, "SSE chunks per streamed answer")
	fs.IntVar(&o.conns, "conns", 1, "gRPC connections shared by the workers")
	fs.DurationVar(&o.tmout, "timeout", 10*time.Second, "per-transaction timeout (counted as an error)")
	fs.StringVar(&o.route, "route", "bench", "xds.route_name attribute sent on request headers")
	fs.StringVar(&o.admin, "admin", "", "with --addr: the firewall's admin address (host:port) to scrape process_resident_memory_bytes from /metrics")
	fs.IntVar(&o.cacheMB, "cache-mb", -1, "with --self: decision cache cap in MiB (LLMFW_CACHE_MAX_MB; 0 disables; -1 keeps the environment's or the default)")
	fs.Uint64Var(&o.seed, "seed", 1, "order of texts and choice of streamed transactions")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "with --self: write a CPU profile of the firewall run (server and driver) to this file")
	fs.BoolVar(&o.asJSON, "json", false, "print one JSON object instead of tables")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench takes no arguments (got %q)\n", fs.Args())
		return 2
	}
	if (o.addr == "") == !o.self {
		fmt.Fprintln(stderr, "bench: give exactly one of --addr ADDR or --self")
		return 2
	}
	if o.admin != "" && o.self {
		fmt.Fprintln(stderr, "bench: --admin is for --addr; with --self the process's own RSS is read")
		return 2
	}
	if o.cacheMB >= 0 && !o.self {
		fmt.Fprintln(stderr, "bench: --cache-mb only applies to --self; set LLMFW_CACHE_MAX_MB on the server instead")
		return 2
	}
	if o.streamRatio < 0 || o.streamRatio > 1 || o.concurrency <= 0 || o.conns <= 0 || o.chunks <= 0 || o.size < 0 {
		fmt.Fprintln(stderr, "bench: --stream-ratio must be within 0..1, --concurrency, --conns and --chunks positive, --size not negative")
		return 2
	}
	if o.duration <= 0 && o.count <= 0 {
		fmt.Fprintln(stderr, "bench: set a positive --duration or --count")
		return 2
	}
	texts := load.DefaultTexts()
	if o.in != "" {
		var err error
		if texts, err = load.LoadJSONL(o.in); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	base := load.Config{
		Concurrency: o.concurrency, Duration: o.duration, Count: o.count, Warmup: o.warmup,
		Texts: texts, Size: o.size, Repeat: o.repeat, StreamRatio: o.streamRatio, Chunks: o.chunks,
		RouteName: o.route, Timeout: o.tmout, Conns: o.conns, Seed: o.seed,
	}

	var rep benchReport
	if o.baseline {
		noop := load.NewNoop()
		addr, err := noop.Start("127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		cfg := base
		cfg.Addr = addr
		if o.self {
			cfg.RSS = load.SelfRSS
		}
		res, err := load.Run(ctx, cfg)
		noop.Stop()
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		rep.Baseline = &res
	}

	cfg := base
	target := "firewall at " + o.addr
	if o.self {
		addr, stopServer, err := startSelf(ctx, o.cacheMB)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer stopServer()
		cfg.Addr, cfg.RSS = addr, load.SelfRSS
		target = "firewall (in-process)"
	} else {
		cfg.Addr = o.addr
		if o.admin != "" {
			cfg.RSS = load.ScrapeRSS("http://" + o.admin + "/metrics")
		}
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bench: cpu profile:", err)
			return 1
		}
	}
	res, err := load.Run(ctx, cfg)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	rep.fill(res, o, len(texts))
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	} else {
		rep.print(stdout, target)
	}
	return 0
}

// startSelf serves the firewall in this process with the same wiring as
// `serve` (LLMFW_* settings, loopback listeners, guard API off) and returns
// its ext_proc address and a stop function.
func startSelf(ctx context.Context, cacheMB int) (addr string, stop func(), err error) {
	cfg, err := loadConfig(environMap())
	if err != nil {
		return "", nil, err
	}
	cfg.GRPCAddr, cfg.AdminAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.PolicyReload = 0
	if cacheMB >= 0 {
		cfg.CacheMaxMB = cacheMB
	}
	sctx, cancel := context.WithCancel(ctx)
	bound := make(chan listening, 1)
	done := make(chan error, 1)
	// Audit lines are formatted as in production and thrown away.
	go func() { done <- serve(sctx, cfg, io.Discard, bound) }()
	select {
	case l := <-bound:
		return l.GRPC, func() { cancel(); <-done }, nil
	case err := <-done:
		cancel()
		return "", nil, fmt.Errorf("start the firewall: %w", err)
	}
}

// benchReport is the --json object.
type benchReport struct {
	RPS         float64      `json:"rps"`
	P50US       float64      `json:"p50_us"`
	P99US       float64      `json:"p99_us"`
	P999US      float64      `json:"p999_us"`
	Errors      int64        `json:"errors"`
	Blocks      int64        `json:"blocks"`
	BaselineRPS *float64     `json:"baseline_rps"`
	Ratio       *float64     `json:"ratio"`
	AddedP50US  *float64     `json:"added_p50_us"`
	AddedP99US  *float64     `json:"added_p99_us"`
	RSSMaxBytes int64        `json:"rss_max_bytes,omitempty"`
	Config      benchConfig  `json:"config"`
	Firewall    load.Result  `json:"firewall"`
	Baseline    *load.Result `json:"baseline,omitempty"`
}

type benchConfig struct {
	Target      string  `json:"target"`
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_s"`
	Count       int64   `json:"count,omitempty"`
	Size        int     `json:"size"`
	StreamRatio float64 `json:"stream_ratio"`
	Chunks      int     `json:"chunks"`
	Repeat      bool    `json:"repeat"`
	Texts       int     `json:"texts"`
	CacheMB     int     `json:"cache_mb,omitempty"`
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func (r *benchReport) fill(res load.Result, o benchOptions, texts int) {
	r.Firewall = res
	r.RPS, r.P50US, r.P99US, r.P999US = res.RPS, res.Latency.P50US, res.Latency.P99US, res.Latency.P999US
	r.Errors, r.Blocks = res.Errors, res.Blocks
	if res.RSS != nil {
		r.RSSMaxBytes = res.RSS.MaxBytes
	}
	r.Config = benchConfig{Target: "addr", Concurrency: o.concurrency, DurationS: o.duration.Seconds(), Count: o.count,
		Size: o.size, StreamRatio: o.streamRatio, Chunks: o.chunks, Repeat: o.repeat, Texts: texts}
	if o.self {
		r.Config.Target, r.Config.CacheMB = "self", o.cacheMB
	}
	if b := r.Baseline; b != nil {
		br := b.RPS
		r.BaselineRPS = &br
		if br > 0 {
			ratio := math.Round(res.RPS/br*1000) / 1000
			r.Ratio = &ratio
		}
		a50 := round2(res.Latency.P50US - b.Latency.P50US)
		a99 := round2(res.Latency.P99US - b.Latency.P99US)
		r.AddedP50US, r.AddedP99US = &a50, &a99
	}
}

func (r *benchReport) print(w io.Writer, target string) {
	c := r.Config
	fmt.Fprintf(w, "load: concurrency %d, %s, body %s, stream ratio %g (%d chunks), %s bodies\n\n",
		c.Concurrency, runLength(c), sizeLabel(c.Size), c.StreamRatio, c.Chunks, map[bool]string{false: "unique", true: "repeated"}[c.Repeat])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\ttransactions\trps\tp50 µs\tp99 µs\tp99.9 µs\tmax µs\tblocks\terrors\t")
	row := func(name string, res *load.Result) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t\n", name, res.Transactions, res.RPS,
			res.Latency.P50US, res.Latency.P99US, res.Latency.P999US, res.Latency.MaxUS, res.Blocks, res.Errors)
	}
	if r.Baseline != nil {
		row("no-op", r.Baseline)
	}
	row(target, &r.Firewall)
	tw.Flush()

	fmt.Fprintln(w, "\nper phase (µs, p50 / p99 / p99.9):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	hdr := "phase\t"
	if r.Baseline != nil {
		hdr += "no-op\t"
	}
	fmt.Fprintln(tw, hdr+"firewall\t")
	for _, p := range load.Phases {
		fw, ok := r.Firewall.Phases[p]
		var bl load.Summary
		if r.Baseline != nil {
			var okb bool
			bl, okb = r.Baseline.Phases[p]
			ok = ok || okb
		}
		if !ok {
			continue
		}
		line := p + "\t"
		if r.Baseline != nil {
			line += triple(bl) + "\t"
		}
		fmt.Fprintln(tw, line+triple(fw)+"\t")
	}
	tw.Flush()

	res := &r.Firewall
	if res.Blocks > 0 {
		fmt.Fprintf(w, "\nblocks: %d (attack texts %d of %d sent, benign texts %d), by status %s\n",
			res.Blocks, res.BlockedAttacks, res.Attacks, res.BlockedBenign, kinds(res.BlocksByStatus))
	}
	if res.Streamed > 0 {
		fmt.Fprintf(w, "streamed answers: %d, switched to STREAMED by mode_override: %d\n", res.Streamed, res.ModeOverrides)
	}
	if res.Errors > 0 {
		fmt.Fprintf(w, "errors: %s\n", kinds(res.ErrorKinds))
	}
	if r.Ratio != nil {
		fmt.Fprintf(w, "\nthroughput ratio firewall / no-op: %.3f (%.1f / %.1f rps); added latency p50 %+.1f µs, p99 %+.1f µs\n",
			*r.Ratio, r.RPS, *r.BaselineRPS, *r.AddedP50US, *r.AddedP99US)
	}
	if s := res.RSS; s != nil {
		if len(s.Samples) == 0 {
			fmt.Fprintf(w, "\nRSS: not read (%s)\n", s.LastError)
		} else {
			fmt.Fprintf(w, "\nRSS: start %s, max %s, end %s (%d samples every %gs)\n",
				mib(s.StartBytes), mib(s.MaxBytes), mib(s.LastBytes), len(s.Samples), s.IntervalS)
			if len(s.Samples) > 12 {
				fmt.Fprintf(w, "RSS series (every %d samples): %s\n", len(s.Samples)/10, rssSeries(s.Samples, len(s.Samples)/10))
			}
		}
	}
}

func runLength(c benchConfig) string {
	if c.Count > 0 && c.DurationS <= 0 {
		return fmt.Sprintf("%d transactions", c.Count)
	}
	s := fmt.Sprintf("%gs", c.DurationS)
	if c.Count > 0 {
		s += fmt.Sprintf(" or %d transactions", c.Count)
	}
	return s
}

func sizeLabel(n int) string {
	if n == 0 {
		return "as in the file"
	}
	return fmt.Sprintf("%d bytes", n)
}

func triple(s load.Summary) string {
	if s.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f / %.1f", s.P50US, s.P99US, s.P999US)
}

func kinds(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func rssSeries(s []int64, step int) string {
	var parts []string
	for i := 0; i < len(s); i += max(step, 1) {
		parts = append(parts, fmt.Sprintf("%.0f", float64(s[i])/(1<<20)))
	}
	parts = append(parts, fmt.Sprintf("%.0f", float64(s[len(s)-1])/(1<<20)))
	return strings.Join(parts, " ") + " MiB"
}
