package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSSStats is the server's resident memory over a run, in bytes.
type RSSStats struct {
	StartBytes int64   `json:"start_bytes"`
	MaxBytes   int64   `json:"max_bytes"`
	LastBytes  int64   `json:"last_bytes"`
	IntervalS  float64 `json:"interval_s"`
	Samples    []int64 `json:"samples"`
	Failures   int     `json:"failures,omitempty"` // samples that could not be read
	LastError  string  `json:"last_error,omitempty"`
}

// SelfRSS reads this process's resident set size (VmRSS in
// /proc/self/status): the server's when it runs in-process (--self).
func SelfRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
			return 0, fmt.Errorf("read RSS: unexpected VmRSS line %q", strings.TrimSpace(line))
		}
	}
	return 0, fmt.Errorf("read RSS: no VmRSS in /proc/self/status")
}

// ScrapeRSS returns a reader of process_resident_memory_bytes from a
// Prometheus text endpoint (the firewall's admin /metrics).
func ScrapeRSS(metricsURL string) func() (int64, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	return func() (int64, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, metricsURL, nil)
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("scrape RSS: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("scrape RSS: %s answered %s", metricsURL, resp.Status)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		if err != nil {
			return 0, fmt.Errorf("scrape RSS: %w", err)
		}
		return parseRSSMetric(body)
	}
}

func parseRSSMetric(body []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "process_resident_memory_bytes"); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(rest[strings.LastIndex(rest, "}")+1:])
			if len(f) == 0 {
				break
			}
			v, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				return 0, fmt.Errorf("scrape RSS: %q: %w", line, err)
			}
			return int64(v), nil
		}
	}
	return 0, fmt.Errorf("scrape RSS: no process_resident_memory_bytes in the metrics")
}

// rssSampler reads RSS at the start, every interval, and at the stop.
type rssSampler struct {
	read     func() (int64, error)
	interval time.Duration
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	st       RSSStats
}

func startRSS(read func() (int64, error), interval time.Duration) *rssSampler {
	s := &rssSampler{read: read, interval: interval, done: make(chan struct{})}
	s.st.IntervalS = interval.Seconds()
	s.sample()
	s.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	})
	return s
}

func (s *rssSampler) sample() {
	v, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.st.Failures++
		s.st.LastError = err.Error()
		return
	}
	if len(s.st.Samples) == 0 {
		s.st.StartBytes = v
	}
	s.st.Samples = append(s.st.Samples, v)
	s.st.MaxBytes = max(s.st.MaxBytes, v)
	s.st.LastBytes = v
}

func (s *rssSampler) stop() RSSStats {
	close(s.done)
	s.wg.Wait()
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}
