// Command llm-firewall is the LLM security firewall: an Envoy ext_proc server
// (serve) and offline tools (policy check).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	// Every detector family and the normalizer register with the pipeline
	// (adding a family is one line in detectors/all).
	_ "github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

const usage = `llm-firewall — an LLM security firewall for Envoy (ext_proc)

Usage:
  llm-firewall serve               run the ext_proc gRPC server (configured from LLMFW_* variables; see serve --help)
  llm-firewall scan [flags]        scan JSON Lines texts offline (scan --help)
  llm-firewall eval --in FILE      measure detection on labelled JSON Lines (eval --help)
  llm-firewall policy check FILE   validate a policy file; exits non-zero on any error
  llm-firewall policy default      print the embedded default policy
  llm-firewall audit verify|keygen check audit logs, make a signing key (audit help)
  llm-firewall bench [flags]       load an ext_proc server, optionally beside a no-op baseline (bench --help)
  llm-firewall help                this text
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		if len(args) > 1 && (args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
			fmt.Fprintln(stdout, "llm-firewall serve: the Envoy ext_proc server. Configuration comes from the environment:")
			fmt.Fprintln(stdout)
			printEnvHelp(stdout)
			return 0
		}
		if len(args) > 1 {
			fmt.Fprintf(stderr, "serve takes no arguments (got %q); configure it with LLMFW_* variables, see serve --help\n", args[1:])
			return 2
		}
		cfg, err := loadConfig(environMap())
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		if err := serve(ctx, cfg, stderr, nil); err != nil {
			fmt.Fprintln(stderr, "llm-firewall:", err)
			return 1
		}
		return 0
	case "policy":
		return policyCmd(args[1:], stdout, stderr)
	case "scan":
		return scanCmd(args[1:], stdout, stderr)
	case "eval":
		return evalCmd(args[1:], stdout, stderr)
	case "audit":
		return auditCmd(args[1:], stdout, stderr)
	case "bench":
		return benchCmd(args[1:], stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return 2
}

func policyCmd(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 2 && args[0] == "check":
		ps, err := loadPolicyFile(args[1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok (version %s, policies %v, default %s)\n", args[1], ps.Version, ps.Names(), ps.Default.Name)
		return 0
	case len(args) == 1 && args[0] == "default":
		stdout.Write(pipeline.DefaultPolicyYAML())
		return 0
	}
	fmt.Fprint(stderr, "usage: llm-firewall policy check FILE | llm-firewall policy default\n")
	return 2
}
