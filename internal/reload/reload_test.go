package reload

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"
)

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) task(name string, every time.Duration) Task {
	return Task{Name: name, Every: every, Run: func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.n[name]++
	}}
}

func (c *counter) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Polled tasks run on their own intervals; a hangup runs every task, the
// SIGHUP-only one included; nothing runs after ctx ends.
func TestLoop(t *testing.T) {
	c := &counter{n: map[string]int{}}
	hup := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Loop(ctx, hup, c.task("fast", 5*time.Millisecond), c.task("slow", time.Hour), c.task("hup-only", 0), Task{Name: "nil"})
	}()
	waitFor(t, "fast to run three times", func() bool { return c.get("fast") >= 3 })
	if c.get("slow") != 0 || c.get("hup-only") != 0 {
		t.Fatalf("slow %d, hup-only %d before any hangup", c.get("slow"), c.get("hup-only"))
	}
	hup <- struct{}{}
	waitFor(t, "the hangup to run every task", func() bool { return c.get("slow") == 1 && c.get("hup-only") == 1 })
	cancel()
	<-done
	n := c.get("fast")
	time.Sleep(20 * time.Millisecond)
	if c.get("fast") != n {
		t.Fatal("a task ran after the loop ended")
	}
}

// SIGHUP sent to the process reaches the loop through Hangups.
func TestHangups(t *testing.T) {
	hup, stop := Hangups()
	defer stop()
	c := &counter{n: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Loop(ctx, hup, c.task("policy", 0), c.task("tls", 0))
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SIGHUP to run both tasks", func() bool { return c.get("policy") == 1 && c.get("tls") == 1 })
}
