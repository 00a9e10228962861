package main

import (
	"context"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// TestServeWithMutualTLS: serve() with LLMFW_TLS_* set speaks mTLS on the
// gRPC listener: a plaintext client and a client without a certificate are
// refused, Envoy's certificate is served.
func TestServeWithMutualTLS(t *testing.T) {
	pems := &testPEMs{}
	ca := newTestCA(t, pems, "llmfw-test-ca")
	srvCert := ca.server(t, pems)
	dir := newSecretDir(t, map[string][]byte{"tls.crt": srvCert.certPEM, "tls.key": srvCert.keyPEM, "ca.crt": ca.pem})
	cfg, err := loadConfig(map[string]string{
		"LLMFW_GRPC_ADDR": "127.0.0.1:0", "LLMFW_ADMIN_ADDR": "127.0.0.1:0", "LLMFW_SHUTDOWN_GRACE": "1s",
		"LLMFW_TLS_CERT_FILE": dir.path("tls.crt"), "LLMFW_TLS_KEY_FILE": dir.path("tls.key"),
		"LLMFW_TLS_CLIENT_CA_FILE": dir.path("ca.crt"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bound := make(chan listening, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, bound) }()
	var addr listening
	select {
	case addr = <-bound:
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	if err := healthCheck(t, addr.GRPC, insecure.NewCredentials()); err == nil {
		t.Fatal("a plaintext client was served")
	}
	if err := healthCheck(t, addr.GRPC, credentials.NewTLS(clientTLS(ca.pool()))); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if err := healthCheck(t, addr.GRPC, credentials.NewTLS(clientTLS(ca.pool(), ca.client(t, pems)))); err != nil {
		t.Fatalf("Envoy's certificate refused: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
}
