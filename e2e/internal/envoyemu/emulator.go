package envoyemu

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Headers the emulator adds to downstream responses in TestMode only; Envoy
// adds neither.
const (
	HeaderRequestID = "x-emu-request-id"
	HeaderDetails   = "x-emu-response-code-details"
)

// Response code details the emulator records, spelled as Envoy's ext_proc
// filter spells them (per Envoy source ext_proc.cc ErrorPrefix, not run).
const (
	DetailsMessageTimeout = "ext_proc_error_per-message_timeout_exceeded"
	DetailsSpurious       = "ext_proc_error_spurious_message" // our spelling; Envoy logs "Spurious response message"
	// DetailsViaUpstream is what Envoy 1.40 records for an answer that came
	// from the upstream, including one forwarded after the side stream
	// closed cleanly (seen on the real Envoy, TestFactSideStreamFailsMidBody).
	DetailsViaUpstream = "via_upstream"
)

// Route selects the per-route values Envoy would send: the route name
// (request attribute xds.route_name) and the gRPC initial metadata
// (grpc_service.initial_metadata, merged per route by key in Envoy).
type Route struct {
	PathPrefix      string // first matching prefix wins; "" matches everything
	Name            string
	InitialMetadata map[string]string
}

// Config is the emulated filter and route configuration.
type Config struct {
	ExtProcAddr string // host:port of the ext_proc gRPC server
	UpstreamURL string // scheme://host:port of the upstream cluster; the request :path is appended

	MessageTimeout       time.Duration // default 2s (Envoy's own default is 200ms)
	StatusOnError        int           // default 500
	ReceivingNamespaces  []string      // default ["llmfw"]
	Routes               []Route       // default one route named "default"
	GracefulCloseTimeout time.Duration // default 1s, runtime key remote_close_timeout_milliseconds

	// TestMode adds HeaderRequestID (and HeaderDetails on local replies) to
	// downstream responses.
	TestMode bool

	// AllowModeOverride emulates allow_mode_override: true with
	// allowed_override_modes holding the one mode {request BUFFERED,
	// response STREAMED} (headers SEND, trailers SKIP): a response-headers
	// reply carrying that mode_override streams the response body chunk by
	// chunk; any other override is ignored.
	AllowModeOverride bool
}

func (c *Config) defaults() {
	if c.MessageTimeout == 0 {
		c.MessageTimeout = 2 * time.Second
	}
	if c.StatusOnError == 0 {
		c.StatusOnError = http.StatusInternalServerError
	}
	if c.ReceivingNamespaces == nil {
		c.ReceivingNamespaces = []string{"llmfw"}
	}
	if len(c.Routes) == 0 {
		c.Routes = []Route{{Name: "default"}}
	}
	if c.GracefulCloseTimeout == 0 {
		c.GracefulCloseTimeout = time.Second
	}
}

// Emulator is an http.Handler that fronts an upstream with an emulated
// ext_proc filter. Create it with New; Close it when done.
type Emulator struct {
	cfg      Config
	conn     *grpc.ClientConn
	client   extprocv3.ExternalProcessorClient
	upstream *url.URL
	httpc    *http.Client
	stats    counters

	mu      sync.Mutex
	nextID  uint64
	records map[string]*Record
	order   []string
}

// New connects (lazily) to cfg.ExtProcAddr. One HTTP/2 connection carries all
// streams, as Envoy's per-worker gRPC client does.
func New(cfg Config) (*Emulator, error) {
	cfg.defaults()
	up, err := url.Parse(cfg.UpstreamURL)
	if err != nil || up.Scheme == "" || up.Host == "" {
		return nil, fmt.Errorf("envoyemu: upstream URL %q must be scheme://host:port", cfg.UpstreamURL)
	}
	// envoy_grpc.max_receive_message_length 0 means unlimited on Envoy's side.
	conn, err := grpc.NewClient(cfg.ExtProcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return nil, fmt.Errorf("envoyemu: dial ext_proc %q: %w", cfg.ExtProcAddr, err)
	}
	return &Emulator{
		cfg:      cfg,
		conn:     conn,
		client:   extprocv3.NewExternalProcessorClient(conn),
		upstream: up,
		httpc: &http.Client{
			Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
			// The router does not follow redirects.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		records: map[string]*Record{},
	}, nil
}

// Close releases the gRPC connection and idle upstream connections.
func (e *Emulator) Close() error {
	e.httpc.CloseIdleConnections()
	return e.conn.Close()
}

// Stats returns a snapshot of the counters.
func (e *Emulator) Stats() Stats { return e.stats.snapshot() }

// Record returns the record of the request with the given emulator ID.
func (e *Emulator) Record(id string) (Record, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.records[id]
	if !ok {
		return Record{}, false
	}
	return r.clone(), true
}

// Records returns every record, oldest first.
func (e *Emulator) Records() []Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Record, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, e.records[id].clone())
	}
	return out
}

// LastRecord returns the most recent record.
func (e *Emulator) LastRecord() (Record, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.order) == 0 {
		return Record{}, false
	}
	return e.records[e.order[len(e.order)-1]].clone(), true
}

func (e *Emulator) newRecord(route string) *Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	return &Record{ID: strconv.FormatUint(e.nextID, 10), Route: route}
}

func (e *Emulator) store(r *Record) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.records[r.ID] = r
	e.order = append(e.order, r.ID)
}

func (e *Emulator) route(path string) Route {
	for _, r := range e.cfg.Routes {
		if strings.HasPrefix(path, r.PathPrefix) {
			return r
		}
	}
	return Route{Name: "default"}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Server is an Emulator listening on a loopback port.
type Server struct {
	*Emulator
	URL    string // http://127.0.0.1:port
	srv    *http.Server
	served chan struct{}
}

// Start runs a new Emulator on 127.0.0.1 with a free port.
func Start(cfg Config) (*Server, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("envoyemu: listen: %w", err)
	}
	s := &Server{
		Emulator: e,
		URL:      "http://" + ln.Addr().String(),
		srv:      &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second},
		served:   make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the listener, waits for in-flight requests, and closes the emulator.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.served
	return errors.Join(err, s.Emulator.Close())
}
