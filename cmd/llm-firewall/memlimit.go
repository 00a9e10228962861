package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupLimitFiles are where a container's memory limit is published:
// cgroup v2, then v1.
var cgroupLimitFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryLimit decides the Go runtime's soft memory limit. An explicit
// GOMEMLIMIT wins (the runtime has already applied it); otherwise the limit
// is ratio × the container's memory limit, so that the garbage collector
// works harder as the pod nears its limit instead of the kernel killing it,
// and the heap does not idle at twice its live size. No container limit, or
// a ratio of 0, leaves the runtime's default (no limit).
func memoryLimit(ratio float64, getenv func(string) string, readFile func(string) ([]byte, error)) (limit int64, source string) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, "GOMEMLIMIT"
	}
	if ratio <= 0 {
		return 0, ""
	}
	for _, f := range cgroupLimitFiles {
		b, err := readFile(f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(s, 10, 64)
		// "max" (v2) or a huge number (v1, no limit) mean unlimited.
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0, ""
		}
		return int64(float64(n) * ratio), f
	}
	return 0, ""
}

// applyMemoryLimit sets the soft memory limit from the container's, and
// logs what is in force.
func applyMemoryLimit(ratio float64, log *slog.Logger) {
	limit, source := memoryLimit(ratio, os.Getenv, os.ReadFile)
	switch {
	case source == "GOMEMLIMIT":
		log.Info("memory limit from GOMEMLIMIT", "bytes", debug.SetMemoryLimit(-1))
	case limit > 0:
		debug.SetMemoryLimit(limit)
		log.Info("memory limit from the container's", "bytes", limit, "ratio", ratio, "source", source)
	}
}
