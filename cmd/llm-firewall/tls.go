package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/credentials"

	"github.com/llm-firewall/llm-firewall/internal/reload"
)

// TLSConfig configures TLS on the ext_proc gRPC listener (and, with
// HTTP_TLS, on the guard HTTP API listener). It is embedded in Config, so its
// variables are LLMFW_TLS_* and LLMFW_HTTP_TLS. The admin listener
// (/metrics, /healthz, /readyz) stays plaintext: kubelet probes and
// Prometheus scrape it inside the pod network.
type TLSConfig struct {
	TLSCertFile     string        `env:"TLS_CERT_FILE" help:"PEM server certificate (chain, leaf first) for the gRPC listener; with LLMFW_TLS_KEY_FILE it turns TLS on; empty means plaintext gRPC"`
	TLSKeyFile      string        `env:"TLS_KEY_FILE" help:"PEM private key of LLMFW_TLS_CERT_FILE (set both or neither)"`
	TLSClientCAFile string        `env:"TLS_CLIENT_CA_FILE" help:"PEM CA bundle; when set, clients (Envoy) must present a certificate signed by it (mTLS); needs LLMFW_TLS_CERT_FILE"`
	TLSMinVersion   string        `env:"TLS_MIN_VERSION" envDefault:"1.2" help:"lowest TLS version accepted: 1.2 or 1.3"`
	TLSReload       time.Duration `env:"TLS_RELOAD_INTERVAL" envDefault:"30s" help:"how often the certificate, key and client CA files are re-read; a changed set is checked, then used for new connections (a bad one is rejected and the running one stays); SIGHUP checks at once; 0 disables reloading"`
	HTTPTLS         bool          `env:"HTTP_TLS" envDefault:"false" help:"serve the guard HTTP API (LLMFW_HTTP_ADDR) over TLS with the same certificate (reloaded alike); its callers authenticate with bearer tokens, no client certificate is asked"`
}

// tlsEnabled reports whether the gRPC listener serves TLS.
func (c TLSConfig) tlsEnabled() bool { return c.TLSCertFile != "" }

// validate checks the TLS settings without reading the files (newGRPCTLS
// does that). The message lists every problem, each naming its variable.
func (c TLSConfig) validate() error {
	var problems []string
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		problems = append(problems, envPrefix+"TLS_CERT_FILE and "+envPrefix+"TLS_KEY_FILE must be set together (both for TLS, neither for plaintext)")
	}
	if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
		problems = append(problems, envPrefix+"TLS_CLIENT_CA_FILE (mTLS) needs "+envPrefix+"TLS_CERT_FILE and "+envPrefix+"TLS_KEY_FILE: the server must present a certificate too")
	}
	if c.HTTPTLS && c.TLSCertFile == "" {
		problems = append(problems, envPrefix+"HTTP_TLS needs "+envPrefix+"TLS_CERT_FILE and "+envPrefix+"TLS_KEY_FILE")
	}
	if _, err := parseTLSVersion(c.TLSMinVersion); err != nil {
		problems = append(problems, err.Error())
	}
	if c.TLSReload < 0 {
		problems = append(problems, envPrefix+"TLS_RELOAD_INTERVAL must not be negative (0 disables reloading)")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func parseTLSVersion(s string) (uint16, error) {
	switch strings.TrimSpace(s) {
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("%sTLS_MIN_VERSION %q: want 1.2 or 1.3", envPrefix, s)
}

// newGRPCTLS loads the certificate, key and client CA and returns gRPC
// transport credentials (use grpc.Creds; mTLS when a client CA is set) plus
// a *tls.Config for the guard HTTP listener (tls.NewListener; ALPN h2 and
// http/1.1; same certificate, no client certificate asked). Both read the
// material through an atomic pointer, so a reload applies to new connections
// without restarting a listener. task is the reload check for the reload
// loop (internal/reload). With TLS off creds and config are nil and task
// has no Run.
func newGRPCTLS(cfg TLSConfig, log *slog.Logger, reg prometheus.Registerer) (credentials.TransportCredentials, *tls.Config, reload.Task, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, reload.Task{}, err
	}
	if !cfg.tlsEnabled() {
		return nil, nil, reload.Task{}, nil
	}
	minVersion, _ := parseTLSVersion(cfg.TLSMinVersion)
	r, err := newCertReloader(cfg, log, reg)
	if err != nil {
		return nil, nil, reload.Task{}, err
	}
	grpcConf := r.serverConfig(minVersion, []string{"h2"}, r.caFile != "")
	// The guard API authenticates callers with bearer tokens; its callers
	// are applications, not Envoy, so it does not ask for client certificates.
	httpConf := r.serverConfig(minVersion, []string{"h2", "http/1.1"}, false)

	task := reload.Task{Name: "tls", Every: cfg.TLSReload, Run: func() { r.check(time.Now()) }}
	return credentials.NewTLS(grpcConf), httpConf, task, nil
}

// newCertReloader loads the files once (an error names the variable) and
// registers the metrics.
func newCertReloader(cfg TLSConfig, log *slog.Logger, reg prometheus.Registerer) (*certReloader, error) {
	r := &certReloader{
		certFile: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile, caFile: cfg.TLSClientCAFile,
		log: log,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_tls_reloads_total",
			Help: "TLS certificate, key and client CA reloads by result: ok (used for new connections) or rejected (unreadable, mismatched or expired; the running material stays).",
		}, []string{"result"}),
		expiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "llmfw_tls_certificate_expiry_timestamp_seconds",
			Help: "NotAfter of the serving certificate (leaf) of the gRPC listener, in seconds since the epoch.",
		}),
	}
	f, err := r.read()
	if err != nil {
		return nil, err
	}
	m, err := r.parse(f, time.Now())
	if err != nil {
		return nil, err
	}
	r.reloads.WithLabelValues("ok")
	r.reloads.WithLabelValues("rejected")
	for _, c := range []prometheus.Collector{r.reloads, r.expiry} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("TLS metrics: %w", err)
		}
	}
	r.seen = f.sum()
	r.running = r.seen
	r.use(m)
	log.Info("TLS on the gRPC listener", append(m.attrs(), "cert_file", r.certFile, "key_file", r.keyFile,
		"client_ca_file", r.caFile, "mtls", r.caFile != "", "min_version", cfg.TLSMinVersion,
		"reload_interval", cfg.TLSReload.String(), "http_tls", cfg.HTTPTLS)...)
	return r, nil
}

// tlsMaterial is one loaded, checked set of files; never modified after
// load, swapped whole.
type tlsMaterial struct {
	cert      *tls.Certificate
	leaf      *x509.Certificate
	clientCAs *x509.CertPool // nil without mTLS
}

// attrs describes the serving certificate for logs: public fields only.
func (m *tlsMaterial) attrs() []any {
	return []any{"serial", m.leaf.SerialNumber.Text(16), "subject", m.leaf.Subject.String(),
		"dns_names", m.leaf.DNSNames, "not_after", m.leaf.NotAfter.UTC().Format(time.RFC3339)}
}

// certReloader polls the files and swaps in each new set that checks out.
// It polls rather than using inotify: Kubernetes and cert-manager update a
// mounted Secret by swapping a symlink, which file watches miss.
type certReloader struct {
	certFile, keyFile, caFile string
	log                       *slog.Logger

	cur     atomic.Pointer[tlsMaterial]
	seen    [32]byte // digest of the files last checked (good or bad)
	running [32]byte // digest of the files cur was loaded from
	reloads *prometheus.CounterVec
	expiry  prometheus.Gauge
}

func (r *certReloader) use(m *tlsMaterial) {
	r.cur.Store(m)
	r.expiry.Set(float64(m.leaf.NotAfter.Unix()))
}

// serverConfig returns a config whose certificate and client CA pool are
// read from the current material at each handshake.
func (r *certReloader) serverConfig(minVersion uint16, alpn []string, mtls bool) *tls.Config {
	base := &tls.Config{
		MinVersion: minVersion,
		NextProtos: alpn,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return r.cur.Load().cert, nil
		},
	}
	if !mtls {
		return base
	}
	// ClientCAs has no callback; the whole per-connection config is chosen
	// here so a rotated CA applies to the next handshake.
	base.ClientAuth = tls.RequireAndVerifyClientCert
	// No session resumption: a resumed session carries the client chain
	// verified under the CA of its first handshake (only recent Go releases
	// re-check it after a CA change); Envoy keeps gRPC connections for
	// minutes, so full handshakes cost little.
	base.SessionTicketsDisabled = true
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		m := r.cur.Load()
		c := base.Clone()
		c.GetConfigForClient = nil
		c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return m.cert, nil }
		c.ClientCAs = m.clientCAs
		return c, nil
	}
	return base
}

// tlsFiles is the raw content of the three files, as read together.
type tlsFiles struct{ cert, key, ca []byte }

func (f tlsFiles) sum() [32]byte {
	h := sha256.New()
	for _, b := range [][]byte{f.cert, f.key, f.ca} {
		fmt.Fprintf(h, "%d:", len(b)) // length-prefixed: no two sets hash alike
		h.Write(b)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// read reads the files; an error names the variable and carries the path.
func (r *certReloader) read() (tlsFiles, error) {
	var f tlsFiles
	var err error
	for _, x := range []struct {
		variable, path string
		dst            *[]byte
	}{
		{"TLS_CERT_FILE", r.certFile, &f.cert},
		{"TLS_KEY_FILE", r.keyFile, &f.key},
		{"TLS_CLIENT_CA_FILE", r.caFile, &f.ca},
	} {
		if x.path == "" {
			continue
		}
		if *x.dst, err = os.ReadFile(x.path); err != nil {
			return f, fmt.Errorf("%s%s: %w", envPrefix, x.variable, err)
		}
	}
	return f, nil
}

// parse checks the files' content. Errors carry paths and the parser's
// message, never content (crypto/tls and crypto/x509 errors do not quote
// input bytes).
func (r *certReloader) parse(f tlsFiles, now time.Time) (*tlsMaterial, error) {
	cert, err := tls.X509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("%sTLS_CERT_FILE %q with %sTLS_KEY_FILE %q: %w", envPrefix, r.certFile, envPrefix, r.keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil { // GODEBUG x509keypairleaf=0
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%sTLS_CERT_FILE %q: %w", envPrefix, r.certFile, err)
		}
		cert.Leaf = leaf
	}
	// Envoy refuses such a certificate: every ext_proc stream would fail.
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%sTLS_CERT_FILE %q: certificate (serial %s) expired at %s", envPrefix, r.certFile, leaf.SerialNumber.Text(16), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%sTLS_CERT_FILE %q: certificate (serial %s) is not valid before %s", envPrefix, r.certFile, leaf.SerialNumber.Text(16), leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	m := &tlsMaterial{cert: &cert, leaf: leaf}
	if r.caFile != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(f.ca) {
			return nil, fmt.Errorf("%sTLS_CLIENT_CA_FILE %q: no PEM certificate in the file", envPrefix, r.caFile)
		}
		m.clientCAs = pool
	}
	return m, nil
}

// check reloads when the files' bytes changed (the reload loop calls it). Files that cannot be read
// are counted on every check (mid-rotation, deleted); a set that reads but
// does not check out is rejected once per distinct content. Either way the
// running material stays.
func (r *certReloader) check(now time.Time) {
	f, err := r.read()
	if err != nil {
		r.reject("TLS reload: cannot read the files; keeping the running certificate", err)
		return
	}
	sum := f.sum()
	if sum == r.seen {
		return
	}
	r.seen = sum
	if sum == r.running { // back to what is served (after a bad set): nothing to load
		return
	}
	m, err := r.parse(f, now)
	if err != nil {
		r.reject("TLS reload rejected; keeping the running certificate", err)
		return
	}
	r.running = sum
	// Counted before the swap, so whoever sees the new certificate also
	// sees the count.
	r.reloads.WithLabelValues("ok").Inc()
	r.use(m)
	r.log.Info("TLS certificate reloaded", append(m.attrs(), "cert_file", r.certFile, "client_ca_file", r.caFile)...)
}

func (r *certReloader) reject(msg string, err error) {
	r.reloads.WithLabelValues("rejected").Inc()
	running := r.cur.Load().leaf
	r.log.Error(msg, "cert_file", r.certFile, "key_file", r.keyFile, "client_ca_file", r.caFile, "err", err,
		"running_serial", running.SerialNumber.Text(16), "running_not_after", running.NotAfter.UTC().Format(time.RFC3339))
}
