# Container image of llm-firewall: one static Go binary on distroless.
#   docker build -t ghcr.io/llm-firewall/llm-firewall:dev .
# (needs a Docker/BuildKit engine; cmd/llm-firewall/static_test.go checks the
# build flags, the static linking and the run conditions without one).

# Go 1.26 as go.mod requires. bookworm matches the runtime's Debian 12 base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Pure Go: no libc is linked, so the binary runs on the static distroless
# base, which has no libc and no dynamic loader.
ENV CGO_ENABLED=0
# Modules first, in their own layer: it is rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# -trimpath: no build-machine paths in the binary (reproducible builds);
# -s -w: no symbol table or DWARF (smaller image; panics still give stack traces).
RUN go build -trimpath -ldflags="-s -w" -o /out/llm-firewall ./cmd/llm-firewall

# distroless static: no shell, no package manager, only CA certificates,
# tzdata and /etc/passwd entries. The firewall needs no file at run time (the
# default policy and the classifier model are embedded; config is LLMFW_*).
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="llm-firewall" \
      org.opencontainers.image.description="LLM security firewall: an Envoy ext_proc gRPC server" \
      org.opencontainers.image.source="https://github.com/llm-firewall/llm-firewall" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/llm-firewall /llm-firewall
# The nonroot user (65532), numeric so Kubernetes' runAsNonRoot can verify
# it; the Helm chart runs the pod as 65532:65532 with a read-only root
# filesystem.
USER 65532:65532
# ext_proc + grpc.health.v1 (LLMFW_GRPC_ADDR) and admin HTTP /metrics,
# /healthz, /readyz (LLMFW_ADMIN_ADDR): the binary's defaults.
EXPOSE 50051 9090
# Exec form: the binary is PID 1 and receives SIGTERM itself (there is no
# shell to wrap it); it drains and exits 0.
ENTRYPOINT ["/llm-firewall"]
CMD ["serve"]
