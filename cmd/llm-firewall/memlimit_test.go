package main

import (
	"errors"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if v, ok := m[p]; ok {
				return []byte(v), nil
			}
			return nil, errors.New("no such file")
		}
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMEMLIMIT" {
				return v
			}
			return ""
		}
	}
	v2, v1 := cgroupLimitFiles[0], cgroupLimitFiles[1]
	for _, tc := range []struct {
		name   string
		ratio  float64
		env    string
		files  map[string]string
		limit  int64
		source string
	}{
		{"cgroup v2 limit", 0.9, "", map[string]string{v2: "1073741824\n"}, 966367641, v2},
		{"cgroup v1 limit", 0.5, "", map[string]string{v1: "536870912\n"}, 268435456, v1},
		{"v2 unlimited", 0.9, "", map[string]string{v2: "max\n", v1: "536870912"}, 0, ""},
		{"v1 unlimited", 0.9, "", map[string]string{v1: "9223372036854771712\n"}, 0, ""},
		{"no cgroup files", 0.9, "", nil, 0, ""},
		{"explicit GOMEMLIMIT wins", 0.9, "200MiB", map[string]string{v2: "1073741824"}, 0, "GOMEMLIMIT"},
		{"ratio 0 disables", 0, "", map[string]string{v2: "1073741824"}, 0, ""},
		{"garbage", 0.9, "", map[string]string{v2: "lots"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit, source := memoryLimit(tc.ratio, env(tc.env), files(tc.files))
			if limit != tc.limit || source != tc.source {
				t.Fatalf("got %d from %q, want %d from %q", limit, source, tc.limit, tc.source)
			}
		})
	}
}
