package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nonrootUID is the distroless nonroot user the Dockerfile and the Helm chart
// run the firewall as.
const nonrootUID = 65532

// TestContainerBinary builds the binary exactly as the Dockerfile does and
// checks what the distroless static image relies on: a statically linked ELF
// (the base has no libc and no dynamic loader) that serves with nothing but
// LLMFW_* variables, no shell, no HOME, no config file and a read-only working
// directory, and exits 0 on SIGTERM.
func TestContainerBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux; the ELF checks need a linux build")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH")
	}

	binDir := t.TempDir()
	bin := filepath.Join(binDir, "llm-firewall")
	// Same flags as the Dockerfile's build stage, from the module root.
	build := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/llm-firewall")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	t.Run("static", func(t *testing.T) { assertStatic(t, bin) })

	t.Run("serve-help-empty-env", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--help")
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("serve --help with an empty environment: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "LLMFW_GRPC_ADDR") {
			t.Errorf("serve --help does not list LLMFW_GRPC_ADDR:\n%s", out)
		}
	})

	t.Run("serve-sigterm", func(t *testing.T) {
		// A read-only, empty working directory (like the image's root).
		roDir := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(roDir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(roDir, 0o755) })

		grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
		cmd := exec.Command(bin, "serve")
		cmd.Dir = roDir
		// The whole environment: no HOME, no PATH, no TMPDIR, no policy file.
		cmd.Env = []string{"LLMFW_GRPC_ADDR=" + grpcAddr, "LLMFW_ADMIN_ADDR=" + adminAddr}
		if os.Geteuid() == 0 {
			// Root ignores the 0555 mode; run as the image's user instead so
			// the read-only directory really is read-only to the process.
			// It must reach the binary and the directory through t.TempDir's
			// 0700 directories.
			for _, d := range []string{filepath.Dir(roDir), binDir} {
				for _, dd := range []string{d, filepath.Dir(d)} {
					if err := os.Chmod(dd, 0o755); err != nil {
						t.Fatal(err)
					}
				}
			}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nonrootUID, Gid: nonrootUID}}
		}
		var logs bytes.Buffer
		cmd.Stdout = &logs
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		killed := false
		defer func() {
			if !killed {
				cmd.Process.Kill()
				<-exited
			}
		}()

		if err := waitReady(adminAddr, exited, 10*time.Second); err != nil {
			killed = true
			cmd.Process.Kill()
			<-exited
			t.Fatalf("%v\nlogs:\n%s", err, logs.String())
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		select {
		case err := <-exited:
			killed = true
			if err != nil {
				t.Fatalf("after SIGTERM: %v (want exit 0)\nlogs:\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("still running 10s after SIGTERM\nlogs:\n%s", logs.String())
		}
		if !hasLogMsg(logs.String(), "stopped") {
			t.Errorf(`no "stopped" log line after SIGTERM:\n%s`, logs.String())
		}
	})

	t.Run("dockerignore-keeps-build-inputs", func(t *testing.T) { assertContextComplete(t, gobin) })
}

// assertStatic fails unless bin is an ELF without a program interpreter and
// without shared-library dependencies.
func assertStatic(t *testing.T, bin string) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("not an ELF file: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("PT_INTERP program header present: dynamically linked")
		}
	}
	if f.Section(".interp") != nil {
		t.Errorf(".interp section present: dynamically linked")
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("reading DT_NEEDED: %v", err)
	}
	if len(libs) > 0 {
		t.Errorf("DT_NEEDED entries %v: needs shared libraries absent from distroless static", libs)
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitReady polls GET /readyz until it answers 200, the process exits, or the
// deadline passes.
func waitReady(adminAddr string, exited <-chan error, within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	last := "no answer"
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("serve exited before ready: %v", err)
		default:
		}
		resp, err := client.Get("http://" + adminAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("/readyz not 200 within %v (last: %s)", within, last)
}

func hasLogMsg(logs, msg string) bool {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"msg":"`+msg+`"`) {
			return true
		}
	}
	return false
}

// assertContextComplete checks that no .dockerignore pattern excludes go.mod,
// go.sum or a source or embedded file of a module package the binary is built
// from. Patterns are matched as Docker does for simple patterns (path.Match
// on the context-relative path or any of its parent directories; "**" and
// "!" exceptions are not used in the file and are rejected here).
func assertContextComplete(t *testing.T, gobin string) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "**") || strings.HasPrefix(line, "!") {
			t.Fatalf(".dockerignore pattern %q: this check handles only simple patterns", line)
		}
		patterns = append(patterns, filepath.Clean(strings.Trim(line, "/")))
	}

	list := exec.Command(gobin, "list", "-deps",
		"-f", `{{if and .Module .Module.Main}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		"./cmd/llm-firewall")
	list.Dir = root
	list.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files := []string{"go.mod", "go.sum"}
	embedded := 0
	for _, abs := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("build input %s outside the module root %s", abs, root)
		}
		if !strings.HasSuffix(rel, ".go") {
			embedded++
		}
		files = append(files, rel)
	}
	if embedded == 0 {
		t.Fatalf("go list reported no embedded files; the check is not looking at what it should:\n%s", out)
	}
	for _, f := range files {
		for p := f; p != "." && p != string(filepath.Separator); p = filepath.Dir(p) {
			for _, pat := range patterns {
				if ok, _ := filepath.Match(pat, p); ok {
					t.Errorf(".dockerignore pattern %q excludes build input %s", pat, f)
				}
			}
		}
	}
}
