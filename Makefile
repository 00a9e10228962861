# llm-firewall. Needs only Go; anything else is fetched through the Go module proxy.
GO          ?= go
BIN         := bin/llm-firewall
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT   := golang.org/x/perf/cmd/benchstat@latest
BENCH_COUNT ?= 6

.PHONY: all build run test unit e2e bench lint fmt clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/llm-firewall

# Serve with the embedded default policy (ext_proc on :50051, admin on :9090).
run: build
	./$(BIN) serve

# The whole suite: vet, unit and transport tests with the race detector, then
# the end-to-end suite against the built binary.
test: unit e2e

unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

e2e:
	$(GO) vet -tags e2e ./e2e/...
	$(GO) test -race -count=1 -tags e2e ./e2e

# Benchmarks with allocations; compare two runs with
#   go run $(BENCHSTAT) old.txt new.txt
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(BENCH_COUNT) ./... | tee bench.txt

lint:
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { gofmt -l $$(git ls-files -co --exclude-standard '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files -co --exclude-standard '*.go')

clean:
	rm -rf bin bench.txt
