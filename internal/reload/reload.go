// Package reload runs everything the firewall reloads from disk — the
// policy file, the TLS certificate, key and client CA, the audit log after
// a rotation — from one loop: each task on its own interval, every task on
// SIGHUP, one at a time. It is the process's one SIGHUP subscriber.
package reload

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Task is one thing to re-check.
type Task struct {
	Name string
	// Every is the polling interval; 0 runs the task on SIGHUP only.
	Every time.Duration
	// Run checks and, when something changed and checks out, swaps it in.
	// It must not block for long: the tasks run one after another.
	Run func()
}

// Loop runs the tasks until ctx ends: each every Every, and all of them,
// in order, whenever hangups delivers (nil: never). Tasks without Run are
// skipped.
func Loop(ctx context.Context, hangups <-chan struct{}, tasks ...Task) {
	var live []Task
	for _, t := range tasks {
		if t.Run != nil {
			live = append(live, t)
		}
	}
	next := make([]time.Time, len(live))
	now := time.Now()
	for i, t := range live {
		if t.Every > 0 {
			next[i] = now.Add(t.Every)
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var wait <-chan time.Time
		if i := soonest(live, next); i >= 0 {
			timer.Reset(time.Until(next[i]))
			wait = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-hangups:
			for _, t := range live {
				t.Run()
			}
		case now := <-wait:
			for i, t := range live {
				if t.Every > 0 && !now.Before(next[i]) {
					t.Run()
					next[i] = time.Now().Add(t.Every)
				}
			}
		}
	}
}

// soonest is the index of the polled task due first, or -1.
func soonest(tasks []Task, next []time.Time) int {
	best := -1
	for i, t := range tasks {
		if t.Every > 0 && (best < 0 || next[i].Before(next[best])) {
			best = i
		}
	}
	return best
}

// Hangups subscribes to SIGHUP: each signal is one value on the channel
// (signals arriving while one is pending merge). stop ends the
// subscription.
func Hangups() (hangups <-chan struct{}, stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sig:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, func() {
		signal.Stop(sig)
		close(done)
	}
}
