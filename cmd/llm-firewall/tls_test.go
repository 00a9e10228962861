package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/llm-firewall/llm-firewall/internal/reload"
)

// The server name Envoy sends as SNI (envoy/tls/cluster.yaml).
const tlsTestServerName = "llm-firewall.llm-firewall.svc.cluster.local"

// ---------------------------------------------------------------------------
// A test PKI: CAs, server and client certificates, and every PEM written, so
// the log check can look for any of it.

type testPEMs struct {
	mu   sync.Mutex
	pems [][]byte
}

func (p *testPEMs) add(b []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pems = append(p.pems, b)
	return b
}

var tlsSerial atomic.Int64

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, pems *testPEMs, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(tlsSerial.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pems.add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

type issued struct {
	certPEM, keyPEM []byte
	serial          *big.Int
	notAfter        time.Time
}

// issue signs a leaf. Each gets its own serial and NotAfter, so tests can
// tell which one is served.
func (ca *testCA) issue(t *testing.T, pems *testPEMs, server bool, notBefore, notAfter time.Time) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial := big.NewInt(tlsSerial.Add(1))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if server {
		tmpl.Subject = pkix.Name{CommonName: tlsTestServerName}
		tmpl.DNSNames = []string{tlsTestServerName}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	} else {
		tmpl.Subject = pkix.Name{CommonName: "envoy"}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return issued{
		certPEM:  pems.add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:   pems.add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})),
		serial:   serial,
		notAfter: notAfter.Truncate(time.Second),
	}
}

var tlsNotAfterStep atomic.Int64

func (ca *testCA) server(t *testing.T, pems *testPEMs) issued {
	// Distinct NotAfter per certificate, so the expiry gauge tells them apart.
	na := time.Now().Add(24*time.Hour + time.Duration(tlsNotAfterStep.Add(1))*time.Minute)
	return ca.issue(t, pems, true, time.Now().Add(-time.Hour), na)
}

func (ca *testCA) client(t *testing.T, pems *testPEMs) tls.Certificate {
	t.Helper()
	c := ca.issue(t, pems, false, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	kp, err := tls.X509KeyPair(c.certPEM, c.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// secretDir lays files out like a Kubernetes Secret volume: tls.crt ->
// ..data/tls.crt, ..data -> ..<version>/. swap replaces all files at once by
// renaming a new ..data symlink over the old one, as the kubelet does.
type secretDir struct {
	dir string
	n   int
}

func newSecretDir(t *testing.T, files map[string][]byte) *secretDir {
	t.Helper()
	s := &secretDir{dir: t.TempDir()}
	s.swap(t, files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(s.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *secretDir) path(name string) string { return filepath.Join(s.dir, name) }

func (s *secretDir) swap(t *testing.T, files map[string][]byte) {
	t.Helper()
	s.n++
	version := fmt.Sprintf("..v%d", s.n)
	if err := os.Mkdir(filepath.Join(s.dir, version), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(s.dir, version, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(s.dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// Logs: captured per test and checked at cleanup for key material and file
// contents.

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tlsTestLog returns a debug-level JSON logger; when the test ends, every
// line it wrote is checked against leakedPEM.
func tlsTestLog(t *testing.T, pems *testPEMs) (*slog.Logger, *lockedBuffer) {
	t.Helper()
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		for i, line := range strings.Split(buf.String(), "\n") {
			if what := leakedPEM(line, pems); what != "" {
				t.Errorf("log line %d contains %s: %s", i+1, what, line)
			}
		}
	})
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// leakedPEM says what PEM material s contains: a PEM marker, or any 24
// characters of the base64 body of a file the test wrote (certificates
// included: "file contents" must not be logged at all).
func leakedPEM(s string, pems *testPEMs) string {
	for _, marker := range []string{"PRIVATE KEY", "-----BEGIN", "-----END"} {
		if strings.Contains(s, marker) {
			return fmt.Sprintf("%q", marker)
		}
	}
	pems.mu.Lock()
	defer pems.mu.Unlock()
	for _, p := range pems.pems {
		for _, line := range strings.Split(string(p), "\n") {
			if strings.HasPrefix(line, "-----") {
				continue
			}
			for i := 0; i+24 <= len(line); i += 24 {
				if strings.Contains(s, line[i:i+24]) {
					return fmt.Sprintf("file content %q", line[i:i+24])
				}
			}
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// A real gRPC server with the health service behind newGRPCTLS.

type tlsTestServer struct {
	addr     string
	reg      *prometheus.Registry
	httpConf *tls.Config
}

func startTLSTestServer(t *testing.T, cfg TLSConfig, log *slog.Logger) *tlsTestServer {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	creds, httpConf, task, err := newGRPCTLS(cfg, log, reg)
	if err != nil {
		t.Fatalf("newGRPCTLS: %v", err)
	}
	// The reload loop the binary runs, with this one task.
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); reload.Loop(ctx, nil, task) }()
	stop := func() { cancel(); <-loopDone }
	gs := grpc.NewServer(grpc.Creds(creds))
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(l) }()
	t.Cleanup(func() { gs.Stop(); <-done; stop() })
	return &tlsTestServer{addr: l.Addr().String(), reg: reg, httpConf: httpConf}
}

func clientTLS(roots *x509.CertPool, certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: roots, ServerName: tlsTestServerName, Certificates: certs, MinVersion: tls.VersionTLS12}
}

// healthCheck makes one grpc.health.v1 call over a new connection.
func healthCheck(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %v", resp.GetStatus())
	}
	return nil
}

// servedCert opens a new TLS connection and returns the leaf the server
// presented and the negotiated ALPN protocol.
func servedCert(t *testing.T, addr string, conf *tls.Config) (*x509.Certificate, string) {
	t.Helper()
	conf = conf.Clone()
	conf.NextProtos = []string{"h2"}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, conf)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer c.Close()
	st := c.ConnectionState()
	return st.PeerCertificates[0], st.NegotiatedProtocol
}

// waitFor polls cond until it holds; the deadline only bounds a broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func metricValue(t *testing.T, reg prometheus.Gatherer, name, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := result == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "result" && lp.GetValue() == result {
					match = true
				}
			}
			if !match {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{result=%q} not found", name, result)
	return 0
}

// ---------------------------------------------------------------------------
// Tests

func TestTLSConfigValidate(t *testing.T) {
	ok := TLSConfig{TLSMinVersion: "1.2", TLSReload: 30 * time.Second}
	with := func(f func(*TLSConfig)) TLSConfig { c := ok; f(&c); return c }
	cases := []struct {
		name string
		cfg  TLSConfig
		want string // "" = valid
	}{
		{"off", ok, ""},
		{"cert and key", with(func(c *TLSConfig) { c.TLSCertFile, c.TLSKeyFile = "c", "k" }), ""},
		{"mTLS", with(func(c *TLSConfig) { c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = "c", "k", "ca" }), ""},
		{"1.3", with(func(c *TLSConfig) { c.TLSMinVersion = "1.3" }), ""},
		{"reload off", with(func(c *TLSConfig) { c.TLSReload = 0 }), ""},
		{"HTTP_TLS", with(func(c *TLSConfig) { c.TLSCertFile, c.TLSKeyFile, c.HTTPTLS = "c", "k", true }), ""},
		{"cert only", with(func(c *TLSConfig) { c.TLSCertFile = "c" }), "LLMFW_TLS_CERT_FILE and LLMFW_TLS_KEY_FILE must be set together"},
		{"key only", with(func(c *TLSConfig) { c.TLSKeyFile = "k" }), "LLMFW_TLS_CERT_FILE and LLMFW_TLS_KEY_FILE must be set together"},
		{"CA without cert", with(func(c *TLSConfig) { c.TLSClientCAFile = "ca" }), "LLMFW_TLS_CLIENT_CA_FILE (mTLS) needs LLMFW_TLS_CERT_FILE"},
		{"HTTP_TLS without cert", with(func(c *TLSConfig) { c.HTTPTLS = true }), "LLMFW_HTTP_TLS needs LLMFW_TLS_CERT_FILE"},
		{"1.1", with(func(c *TLSConfig) { c.TLSMinVersion = "1.1" }), `LLMFW_TLS_MIN_VERSION "1.1": want 1.2 or 1.3`},
		{"TLS1.3 spelling", with(func(c *TLSConfig) { c.TLSMinVersion = "TLS1.3" }), "LLMFW_TLS_MIN_VERSION"},
		{"empty version", with(func(c *TLSConfig) { c.TLSMinVersion = "" }), "LLMFW_TLS_MIN_VERSION"},
		{"negative interval", with(func(c *TLSConfig) { c.TLSReload = -time.Second }), "LLMFW_TLS_RELOAD_INTERVAL must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// Every problem is reported at once.
	err := TLSConfig{TLSClientCAFile: "ca", TLSMinVersion: "1.0", TLSReload: -1}.validate()
	if err == nil || strings.Count(err.Error(), ";") != 2 {
		t.Errorf("want three problems, got %v", err)
	}
}

// The defaults the lead's Config gets by embedding TLSConfig.
func TestTLSConfigEnvDefaults(t *testing.T) {
	var c struct{ TLSConfig }
	if err := parseEnvInto(&c, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if c.TLSMinVersion != "1.2" || c.TLSReload != 30*time.Second || c.HTTPTLS || c.tlsEnabled() {
		t.Errorf("defaults %+v", c.TLSConfig)
	}
	if err := c.validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	err := parseEnvInto(&c, map[string]string{
		"LLMFW_TLS_CERT_FILE": "c", "LLMFW_TLS_KEY_FILE": "k", "LLMFW_TLS_CLIENT_CA_FILE": "ca",
		"LLMFW_TLS_MIN_VERSION": "1.3", "LLMFW_TLS_RELOAD_INTERVAL": "50ms", "LLMFW_HTTP_TLS": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := TLSConfig{TLSCertFile: "c", TLSKeyFile: "k", TLSClientCAFile: "ca", TLSMinVersion: "1.3", TLSReload: 50 * time.Millisecond, HTTPTLS: true}
	if c.TLSConfig != want {
		t.Errorf("got %+v, want %+v", c.TLSConfig, want)
	}
}

func TestTLSOff(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	creds, conf, task, err := newGRPCTLS(TLSConfig{TLSMinVersion: "1.2", TLSReload: time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	if err != nil || creds != nil || conf != nil || task.Run != nil {
		t.Fatalf("TLS off: creds %v, conf %v, reload task %v, err %v", creds, conf, task.Run != nil, err)
	}
	if n, _ := testutil.GatherAndCount(reg); n != 0 {
		t.Errorf("TLS off registered %d metrics", n)
	}
}

func TestTLSStartErrors(t *testing.T) {
	pems := &testPEMs{}
	log, _ := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	good := ca.server(t, pems)
	other := ca.server(t, pems)
	expired := ca.issue(t, pems, true, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	future := ca.issue(t, pems, true, time.Now().Add(time.Hour), time.Now().Add(48*time.Hour))
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert, key := write("tls.crt", good.certPEM), write("tls.key", good.keyPEM)
	otherKey := write("other.key", other.keyPEM)
	caFile := write("ca.crt", ca.pem)
	garbage := write("garbage", []byte("not PEM at all\n"))
	cfg := func(cert, key, ca string) TLSConfig {
		return TLSConfig{TLSCertFile: cert, TLSKeyFile: key, TLSClientCAFile: ca, TLSMinVersion: "1.2", TLSReload: time.Second}
	}
	missing := filepath.Join(dir, "missing")
	cases := []struct {
		name string
		cfg  TLSConfig
		want []string
	}{
		{"cert file missing", cfg(missing, key, ""), []string{"LLMFW_TLS_CERT_FILE", "no such file"}},
		{"key file missing", cfg(cert, missing, ""), []string{"LLMFW_TLS_KEY_FILE", "no such file"}},
		{"CA file missing", cfg(cert, key, missing), []string{"LLMFW_TLS_CLIENT_CA_FILE", "no such file"}},
		{"key does not match", cfg(cert, otherKey, ""), []string{"LLMFW_TLS_CERT_FILE", "LLMFW_TLS_KEY_FILE", "private key does not match public key"}},
		{"cert and key switched", cfg(key, cert, ""), []string{"LLMFW_TLS_CERT_FILE", "LLMFW_TLS_KEY_FILE"}},
		{"cert not PEM", cfg(garbage, key, ""), []string{"LLMFW_TLS_CERT_FILE", "PEM"}},
		{"key not PEM", cfg(cert, garbage, ""), []string{"LLMFW_TLS_KEY_FILE", "PEM"}},
		{"CA not PEM", cfg(cert, key, garbage), []string{"LLMFW_TLS_CLIENT_CA_FILE", "no PEM certificate"}},
		{"CA file is the key", cfg(cert, key, key), []string{"LLMFW_TLS_CLIENT_CA_FILE", "no PEM certificate"}},
		{"expired", cfg(write("expired.crt", expired.certPEM), write("expired.key", expired.keyPEM), ""), []string{"LLMFW_TLS_CERT_FILE", "expired at"}},
		{"not yet valid", cfg(write("future.crt", future.certPEM), write("future.key", future.keyPEM), ""), []string{"LLMFW_TLS_CERT_FILE", "not valid before"}},
		{"validation first", cfg(cert, "", ""), []string{"must be set together"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			creds, _, _, err := newGRPCTLS(tc.cfg, log, reg)
			if err == nil {
				t.Fatalf("no error (creds %v)", creds)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if what := leakedPEM(err.Error(), pems); what != "" {
				t.Errorf("error contains %s: %v", what, err)
			}
			if n, _ := testutil.GatherAndCount(reg); n != 0 {
				t.Errorf("failed start registered %d metrics", n)
			}
		})
	}
	// The good pair with its CA starts.
	if _, _, task, err := newGRPCTLS(cfg(cert, key, caFile), log, prometheus.NewPedanticRegistry()); err != nil || task.Run == nil {
		t.Fatalf("good pair: %v (reload task %v)", err, task.Run != nil)
	}
}

func TestTLSServesGRPC(t *testing.T) {
	pems := &testPEMs{}
	log, _ := tlsTestLog(t, pems)
	ca, otherCA := newTestCA(t, pems, "ca"), newTestCA(t, pems, "other-ca")
	srvCert := ca.server(t, pems)
	sd := newSecretDir(t, map[string][]byte{"tls.crt": srvCert.certPEM, "tls.key": srvCert.keyPEM})
	s := startTLSTestServer(t, TLSConfig{TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSMinVersion: "1.2", TLSReload: time.Hour}, log)

	if err := healthCheck(t, s.addr, credentials.NewTLS(clientTLS(ca.pool()))); err != nil {
		t.Fatalf("TLS client trusting the CA: %v", err)
	}
	leaf, proto := servedCert(t, s.addr, clientTLS(ca.pool()))
	if leaf.SerialNumber.Cmp(srvCert.serial) != 0 || proto != "h2" {
		t.Errorf("served serial %v ALPN %q, want %v h2", leaf.SerialNumber, proto, srvCert.serial)
	}
	if err := healthCheck(t, s.addr, insecure.NewCredentials()); err == nil {
		t.Error("plaintext client: health check succeeded on a TLS listener")
	}
	if err := healthCheck(t, s.addr, credentials.NewTLS(clientTLS(otherCA.pool()))); err == nil {
		t.Error("client trusting another CA: health check succeeded")
	}
	// Without mTLS a client certificate is not needed (and not asked for).
	if err := healthCheck(t, s.addr, credentials.NewTLS(clientTLS(ca.pool(), otherCA.client(t, pems)))); err != nil {
		t.Errorf("TLS (no mTLS) with an unrelated client certificate: %v", err)
	}
	if got := metricValue(t, s.reg, "llmfw_tls_certificate_expiry_timestamp_seconds", ""); got != float64(srvCert.notAfter.Unix()) {
		t.Errorf("expiry gauge %v, want %v", got, srvCert.notAfter.Unix())
	}
}

func TestTLSMinVersion13(t *testing.T) {
	pems := &testPEMs{}
	log, _ := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	srvCert := ca.server(t, pems)
	sd := newSecretDir(t, map[string][]byte{"tls.crt": srvCert.certPEM, "tls.key": srvCert.keyPEM})
	s := startTLSTestServer(t, TLSConfig{TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSMinVersion: "1.3", TLSReload: time.Hour}, log)

	c12 := clientTLS(ca.pool())
	c12.MaxVersion = tls.VersionTLS12
	if err := healthCheck(t, s.addr, credentials.NewTLS(c12)); err == nil {
		t.Error("TLS 1.2 client accepted with LLMFW_TLS_MIN_VERSION=1.3")
	}
	if err := healthCheck(t, s.addr, credentials.NewTLS(clientTLS(ca.pool()))); err != nil {
		t.Errorf("TLS 1.3 client: %v", err)
	}
}

func TestTLSMutualTLS(t *testing.T) {
	pems := &testPEMs{}
	log, _ := tlsTestLog(t, pems)
	ca, otherCA := newTestCA(t, pems, "ca"), newTestCA(t, pems, "other-ca")
	srvCert := ca.server(t, pems)
	sd := newSecretDir(t, map[string][]byte{"tls.crt": srvCert.certPEM, "tls.key": srvCert.keyPEM, "ca.crt": ca.pem})
	s := startTLSTestServer(t, TLSConfig{
		TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSClientCAFile: sd.path("ca.crt"),
		TLSMinVersion: "1.2", TLSReload: time.Hour,
	}, log)

	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			conf := func(certs ...tls.Certificate) credentials.TransportCredentials {
				c := clientTLS(ca.pool(), certs...)
				c.MaxVersion = v
				return credentials.NewTLS(c)
			}
			if err := healthCheck(t, s.addr, conf()); err == nil {
				t.Error("client without a certificate accepted")
			}
			if err := healthCheck(t, s.addr, conf(otherCA.client(t, pems))); err == nil {
				t.Error("client certificate signed by another CA accepted")
			}
			if err := healthCheck(t, s.addr, conf(ca.client(t, pems))); err != nil {
				t.Errorf("client certificate signed by the client CA: %v", err)
			}
		})
	}
	if err := healthCheck(t, s.addr, insecure.NewCredentials()); err == nil {
		t.Error("plaintext client accepted")
	}
}

func TestTLSReloadRotatesCertificate(t *testing.T) {
	pems := &testPEMs{}
	log, logs := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	first, second := ca.server(t, pems), ca.server(t, pems)
	sd := newSecretDir(t, map[string][]byte{"tls.crt": first.certPEM, "tls.key": first.keyPEM})
	s := startTLSTestServer(t, TLSConfig{TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSMinVersion: "1.2", TLSReload: 50 * time.Millisecond}, log)
	roots := clientTLS(ca.pool())

	if leaf, _ := servedCert(t, s.addr, roots); leaf.SerialNumber.Cmp(first.serial) != 0 {
		t.Fatalf("served serial %v, want %v", leaf.SerialNumber, first.serial)
	}
	sd.swap(t, map[string][]byte{"tls.crt": second.certPEM, "tls.key": second.keyPEM})
	waitFor(t, "the rotated certificate on a new connection", func() bool {
		leaf, _ := servedCert(t, s.addr, roots)
		return leaf.SerialNumber.Cmp(second.serial) == 0
	})
	if err := healthCheck(t, s.addr, credentials.NewTLS(roots)); err != nil {
		t.Errorf("gRPC after rotation: %v", err)
	}
	if ok, rej := metricValue(t, s.reg, "llmfw_tls_reloads_total", "ok"), metricValue(t, s.reg, "llmfw_tls_reloads_total", "rejected"); ok != 1 || rej != 0 {
		t.Errorf("reloads ok=%v rejected=%v, want 1 and 0", ok, rej)
	}
	if got := metricValue(t, s.reg, "llmfw_tls_certificate_expiry_timestamp_seconds", ""); got != float64(second.notAfter.Unix()) {
		t.Errorf("expiry gauge %v, want the new certificate's %v", got, second.notAfter.Unix())
	}
	if !strings.Contains(logs.String(), `"msg":"TLS certificate reloaded"`) || !strings.Contains(logs.String(), second.serial.Text(16)) {
		t.Errorf("no reload log line naming the new serial:\n%s", logs.String())
	}

	// A plain rewrite in place (no symlinks; key first, then certificate):
	// the half-written state is rejected, then the full pair is taken.
	third := ca.server(t, pems)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeRename := func(path string, b []byte) {
		if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	writeRename(cert, first.certPEM)
	writeRename(key, first.keyPEM)
	s2 := startTLSTestServer(t, TLSConfig{TLSCertFile: cert, TLSKeyFile: key, TLSMinVersion: "1.2", TLSReload: 50 * time.Millisecond}, log)
	writeRename(key, third.keyPEM)
	writeRename(cert, third.certPEM)
	waitFor(t, "the rewritten certificate on a new connection", func() bool {
		leaf, _ := servedCert(t, s2.addr, roots)
		return leaf.SerialNumber.Cmp(third.serial) == 0
	})
}

func TestTLSReloadRejectsBadPair(t *testing.T) {
	pems := &testPEMs{}
	log, logs := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	good, other, next := ca.server(t, pems), ca.server(t, pems), ca.server(t, pems)
	sd := newSecretDir(t, map[string][]byte{"tls.crt": good.certPEM, "tls.key": good.keyPEM})
	s := startTLSTestServer(t, TLSConfig{TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSMinVersion: "1.2", TLSReload: 50 * time.Millisecond}, log)
	roots := clientTLS(ca.pool())
	rejected := func() float64 { return metricValue(t, s.reg, "llmfw_tls_reloads_total", "rejected") }

	bad := []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"key does not match", other.certPEM, good.keyPEM, "private key does not match public key"},
		{"switched", good.keyPEM, good.certPEM, "LLMFW_TLS_CERT_FILE"},
		{"truncated key", good.certPEM, good.keyPEM[:len(good.keyPEM)/2], "LLMFW_TLS_KEY_FILE"},
		{"empty certificate", nil, good.keyPEM, "LLMFW_TLS_CERT_FILE"},
	}
	for i, b := range bad {
		sd.swap(t, map[string][]byte{"tls.crt": b.cert, "tls.key": b.key})
		waitFor(t, b.name+": rejection counted", func() bool { return rejected() == float64(i+1) })
		if leaf, _ := servedCert(t, s.addr, roots); leaf.SerialNumber.Cmp(good.serial) != 0 {
			t.Errorf("%s: served serial %v, want the previous %v", b.name, leaf.SerialNumber, good.serial)
		}
		if err := healthCheck(t, s.addr, credentials.NewTLS(roots)); err != nil {
			t.Errorf("%s: gRPC with the previous certificate: %v", b.name, err)
		}
		if !strings.Contains(logs.String(), b.want) {
			t.Errorf("%s: no log line with %q", b.name, b.want)
		}
	}
	if got := metricValue(t, s.reg, "llmfw_tls_certificate_expiry_timestamp_seconds", ""); got != float64(good.notAfter.Unix()) {
		t.Errorf("expiry gauge %v, want the running certificate's %v", got, good.notAfter.Unix())
	}
	// Rejection lines name the files and the running serial, not contents.
	var sawLine bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "TLS reload rejected") {
			sawLine = true
			for _, w := range []string{`"cert_file":"` + sd.path("tls.crt"), `"key_file":"` + sd.path("tls.key"), `"running_serial":"` + good.serial.Text(16)} {
				if !strings.Contains(line, w) {
					t.Errorf("rejection line lacks %s: %s", w, line)
				}
			}
		}
	}
	if !sawLine {
		t.Error("no rejection log line")
	}

	// A good set afterwards is taken.
	sd.swap(t, map[string][]byte{"tls.crt": next.certPEM, "tls.key": next.keyPEM})
	waitFor(t, "recovery to a good pair", func() bool {
		leaf, _ := servedCert(t, s.addr, roots)
		return leaf.SerialNumber.Cmp(next.serial) == 0
	})
	if ok := metricValue(t, s.reg, "llmfw_tls_reloads_total", "ok"); ok != 1 {
		t.Errorf("reloads ok=%v, want 1", ok)
	}
}

// TestTLSCheck drives one reloader's check by hand (no ticker) to pin down
// what is counted: a bad set once per distinct content, unreadable files on
// every check, a return to the running files not at all, an expired
// certificate as rejected.
func TestTLSCheck(t *testing.T) {
	pems := &testPEMs{}
	log, logs := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	good, other, next := ca.server(t, pems), ca.server(t, pems), ca.server(t, pems)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	write := func(c, k []byte) {
		t.Helper()
		if err := os.WriteFile(cert, c, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(key, k, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(good.certPEM, good.keyPEM)
	reg := prometheus.NewPedanticRegistry()
	r, err := newCertReloader(TLSConfig{TLSCertFile: cert, TLSKeyFile: key, TLSMinVersion: "1.2"}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	count := func() (ok, rejected float64) {
		return metricValue(t, reg, "llmfw_tls_reloads_total", "ok"), metricValue(t, reg, "llmfw_tls_reloads_total", "rejected")
	}
	serving := func() *big.Int { return r.cur.Load().leaf.SerialNumber }
	expect := func(step string, wantOK, wantRej float64, wantSerial *big.Int) {
		t.Helper()
		if ok, rej := count(); ok != wantOK || rej != wantRej {
			t.Errorf("%s: ok=%v rejected=%v, want %v and %v", step, ok, rej, wantOK, wantRej)
		}
		if serving().Cmp(wantSerial) != 0 {
			t.Errorf("%s: serving %v, want %v", step, serving(), wantSerial)
		}
	}
	now := time.Now()

	r.check(now)
	expect("unchanged files", 0, 0, good.serial)
	write(other.certPEM, good.keyPEM)
	for range 3 {
		r.check(now)
	}
	expect("mismatched pair checked three times", 0, 1, good.serial)
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	r.check(now)
	r.check(now)
	expect("unreadable key checked twice", 0, 3, good.serial)
	write(good.certPEM, good.keyPEM)
	r.check(now)
	expect("back to the running files", 0, 3, good.serial)
	write(next.certPEM, next.keyPEM)
	r.check(next.notAfter.Add(time.Minute))
	expect("new pair, expired by then", 0, 4, good.serial)
	if !strings.Contains(logs.String(), "expired at") {
		t.Error("no log line for the expired certificate")
	}
	write(next.certPEM, append(bytes.Clone(next.keyPEM), '\n')) // differs from the expired-rejected content
	r.check(now)
	expect("new pair", 1, 4, next.serial)
	if got := metricValue(t, reg, "llmfw_tls_certificate_expiry_timestamp_seconds", ""); got != float64(next.notAfter.Unix()) {
		t.Errorf("expiry gauge %v, want %v", got, next.notAfter.Unix())
	}
}

func TestTLSReloadUnreadableFiles(t *testing.T) {
	pems := &testPEMs{}
	log, logs := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	good := ca.server(t, pems)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for p, b := range map[string][]byte{cert: good.certPEM, key: good.keyPEM} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := startTLSTestServer(t, TLSConfig{TLSCertFile: cert, TLSKeyFile: key, TLSMinVersion: "1.2", TLSReload: 50 * time.Millisecond}, log)
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the missing key counted", func() bool { return metricValue(t, s.reg, "llmfw_tls_reloads_total", "rejected") >= 1 })
	if leaf, _ := servedCert(t, s.addr, clientTLS(ca.pool())); leaf.SerialNumber.Cmp(good.serial) != 0 {
		t.Errorf("served serial %v, want %v", leaf.SerialNumber, good.serial)
	}
	if !strings.Contains(logs.String(), "cannot read the files") || !strings.Contains(logs.String(), "LLMFW_TLS_KEY_FILE") {
		t.Errorf("no log line for the unreadable key:\n%s", logs.String())
	}
}

func TestTLSReloadClientCA(t *testing.T) {
	pems := &testPEMs{}
	log, _ := tlsTestLog(t, pems)
	ca, newCA := newTestCA(t, pems, "ca"), newTestCA(t, pems, "new-client-ca")
	srvCert := ca.server(t, pems)
	files := map[string][]byte{"tls.crt": srvCert.certPEM, "tls.key": srvCert.keyPEM, "ca.crt": ca.pem}
	sd := newSecretDir(t, files)
	s := startTLSTestServer(t, TLSConfig{
		TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSClientCAFile: sd.path("ca.crt"),
		TLSMinVersion: "1.2", TLSReload: 50 * time.Millisecond,
	}, log)
	oldClient, newClient := ca.client(t, pems), newCA.client(t, pems)
	creds := func(c tls.Certificate) credentials.TransportCredentials {
		return credentials.NewTLS(clientTLS(ca.pool(), c))
	}
	if err := healthCheck(t, s.addr, creds(oldClient)); err != nil {
		t.Fatalf("client of the first CA: %v", err)
	}
	// A client that keeps session tickets, to try resuming after the rotation.
	resumingConf := clientTLS(ca.pool(), oldClient)
	resumingConf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	resuming := credentials.NewTLS(resumingConf)
	if err := healthCheck(t, s.addr, resuming); err != nil {
		t.Fatalf("client of the first CA with a session cache: %v", err)
	}
	if err := healthCheck(t, s.addr, creds(newClient)); err == nil {
		t.Fatal("client of the new CA accepted before the CA rotation")
	}
	files["ca.crt"] = newCA.pem
	sd.swap(t, files)
	waitFor(t, "the rotated client CA", func() bool { return healthCheck(t, s.addr, creds(newClient)) == nil })
	if err := healthCheck(t, s.addr, creds(oldClient)); err == nil {
		t.Error("client of the replaced CA still accepted on a new connection")
	}
	if err := healthCheck(t, s.addr, resuming); err == nil {
		t.Error("client of the replaced CA accepted by resuming its session")
	}
	// A CA file without a certificate is rejected; the new CA stays.
	files["ca.crt"] = []byte("garbage\n")
	sd.swap(t, files)
	waitFor(t, "the bad CA file counted", func() bool { return metricValue(t, s.reg, "llmfw_tls_reloads_total", "rejected") == 1 })
	if err := healthCheck(t, s.addr, creds(newClient)); err != nil {
		t.Errorf("after a rejected CA file: %v", err)
	}
}

func TestTLSGuardHTTPListener(t *testing.T) {
	pems := &testPEMs{}
	log, _ := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	srvCert := ca.server(t, pems)
	sd := newSecretDir(t, map[string][]byte{"tls.crt": srvCert.certPEM, "tls.key": srvCert.keyPEM, "ca.crt": ca.pem})
	s := startTLSTestServer(t, TLSConfig{
		TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSClientCAFile: sd.path("ca.crt"),
		TLSMinVersion: "1.2", TLSReload: time.Hour, HTTPTLS: true,
	}, log)

	// What serve.go does with LLMFW_HTTP_TLS: wrap the guard listener.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(tls.NewListener(l, s.httpConf)) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "https://" + l.Addr().String() + "/"

	get := func(h2 bool, certs ...tls.Certificate) (string, error) {
		tr := &http.Transport{TLSClientConfig: clientTLS(ca.pool(), certs...), ForceAttemptHTTP2: h2}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	client := ca.client(t, pems)
	for _, h2 := range []bool{false, true} {
		want := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2]
		if got, err := get(h2, client); err != nil || got != want {
			t.Errorf("guard listener (h2 %v): %q, %v; want %s", h2, got, err, want)
		}
	}
	// mTLS is for Envoy on the gRPC listener; guard API callers use tokens.
	if got, err := get(false); err != nil || got != "HTTP/1.1" {
		t.Errorf("guard listener without a client certificate: %q, %v", got, err)
	}
	if err := healthCheck(t, s.addr, credentials.NewTLS(clientTLS(ca.pool()))); err == nil {
		t.Error("gRPC listener accepted a client without a certificate (mTLS)")
	}
}

func TestTLSMetricsLint(t *testing.T) {
	pems := &testPEMs{}
	log, _ := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	srvCert := ca.server(t, pems)
	sd := newSecretDir(t, map[string][]byte{"tls.crt": srvCert.certPEM, "tls.key": srvCert.keyPEM})
	s := startTLSTestServer(t, TLSConfig{TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSMinVersion: "1.2", TLSReload: time.Hour}, log)
	problems, err := testutil.GatherAndLint(s.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if n, _ := testutil.GatherAndCount(s.reg, "llmfw_tls_reloads_total", "llmfw_tls_certificate_expiry_timestamp_seconds"); n != 3 {
		t.Errorf("%d series, want reloads{ok,rejected} and the expiry gauge", n)
	}
	// Registering twice (a second listener on the same registry) is an
	// error, not a panic.
	if _, _, _, err := newGRPCTLS(TLSConfig{TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSMinVersion: "1.2"}, log, s.reg); err == nil {
		t.Error("second registration on the same registry: no error")
	}
}

// TestTLSLogsNoKeyMaterial drives every log path (start, reload ok, every
// kind of rejection, unreadable files) with debug logging and checks each
// line for PEM markers and for any run of the files' content. The other
// TLS tests run the same check on their own logs at cleanup.
func TestTLSLogsNoKeyMaterial(t *testing.T) {
	pems := &testPEMs{}
	log, logs := tlsTestLog(t, pems)
	ca := newTestCA(t, pems, "ca")
	a, b := ca.server(t, pems), ca.server(t, pems)
	sd := newSecretDir(t, map[string][]byte{"tls.crt": a.certPEM, "tls.key": a.keyPEM, "ca.crt": ca.pem})
	s := startTLSTestServer(t, TLSConfig{
		TLSCertFile: sd.path("tls.crt"), TLSKeyFile: sd.path("tls.key"), TLSClientCAFile: sd.path("ca.crt"),
		TLSMinVersion: "1.2", TLSReload: 20 * time.Millisecond,
	}, log)
	rejected := func() float64 { return metricValue(t, s.reg, "llmfw_tls_reloads_total", "rejected") }
	steps := []map[string][]byte{
		{"tls.crt": a.keyPEM, "tls.key": a.keyPEM, "ca.crt": ca.pem},                       // key in the cert file
		{"tls.crt": a.certPEM, "tls.key": b.keyPEM, "ca.crt": ca.pem},                      // mismatch
		{"tls.crt": a.certPEM, "tls.key": a.keyPEM, "ca.crt": a.keyPEM},                    // key as CA
		{"tls.crt": append(a.certPEM, a.keyPEM...), "tls.key": b.keyPEM, "ca.crt": ca.pem}, // key bundled with the cert
	}
	for i, f := range steps {
		sd.swap(t, f)
		waitFor(t, fmt.Sprintf("step %d rejected", i), func() bool { return rejected() == float64(i+1) })
	}
	sd.swap(t, map[string][]byte{"tls.crt": b.certPEM, "tls.key": b.keyPEM, "ca.crt": ca.pem})
	waitFor(t, "good reload", func() bool { return metricValue(t, s.reg, "llmfw_tls_reloads_total", "ok") == 1 })
	if err := os.Remove(filepath.Join(sd.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	n := rejected()
	waitFor(t, "unreadable files counted", func() bool { return rejected() > n })

	out := logs.String()
	if lines := strings.Count(out, "\n"); lines < 7 {
		t.Fatalf("only %d log lines; the test did not exercise the log paths:\n%s", lines, out)
	}
	// The check itself: it must see a key if one were logged.
	if leakedPEM(string(a.keyPEM), pems) == "" || leakedPEM(strings.Split(string(a.certPEM), "\n")[1], pems) == "" {
		t.Fatal("leakedPEM does not detect PEM content")
	}
	for i, line := range strings.Split(out, "\n") {
		if what := leakedPEM(line, pems); what != "" {
			t.Errorf("log line %d contains %s", i+1, what)
		}
	}
}

// parseEnvInto reads LLMFW_* variables into v the way loadConfig does.
func parseEnvInto(v any, environ map[string]string) error {
	return env.ParseWithOptions(v, env.Options{Prefix: envPrefix, Environment: environ})
}
