# rolecall: the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
RUN_DIR := $(CURDIR)/.run
TESTENV_DIR := $(RUN_DIR)/testenv
BIN := target/debug/rolecall

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the rolecall binary
	$(CARGO) build --locked

.PHONY: controlplane
controlplane: ## Build kube-apiserver, etcd, kubectl, helm from Go modules (cached in testenv/bin)
	testenv/build.sh

.PHONY: crds
crds: build ## Regenerate crds/ from the Rust types
	$(BIN) crd --out-dir crds

.PHONY: check-crds
check-crds: build ## Fail when crds/ differs from what `rolecall crd` generates
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && $(BIN) crd --out-dir $$tmp && \
	  diff -ru crds $$tmp && diff -u <(cat crds/*.yaml) <($(BIN) crd) && echo "crds/ is up to date"

.PHONY: api-docs
api-docs: build ## Regenerate docs/api-reference.md from the CRD types
	$(BIN) api-docs > docs/api-reference.md

.PHONY: check-api-docs
check-api-docs: build ## Fail when docs/api-reference.md differs from what `rolecall api-docs` generates
	@diff -u docs/api-reference.md <($(BIN) api-docs) && echo "docs/api-reference.md is up to date"

.PHONY: demo
demo: controlplane build venv ## A control plane, rolecall installed, two SCIM apps, a scripted IdP pushing a company; ends with each hub's user tables
	hack/demo.sh up

.PHONY: demo-down
demo-down: ## Stop what `make demo` started
	hack/demo.sh down

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt

.PHONY: lint
lint: ## cargo fmt --check and clippy with -D warnings
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

.PHONY: unit
unit: ## Unit tests (no cluster needed)
	$(CARGO) test --locked --lib --bins

.PHONY: venv
venv: ## Python tools the suite uses: scim2-tester and scim2-cli (judges), scim2-server (a real SCIM app), openapi-core (the GitHub stand-in's validator)
	@test -x .venv/bin/scim2-server || { python3 -m venv .venv && .venv/bin/pip install -q scim2-tester==0.5.2 scim2-cli==0.6.0 scim2-server==0.8.3; }
	@.venv/bin/python -c 'import openapi_core, openapi_schema_validator, sys; sys.exit(openapi_core.__version__ != "0.23.1")' 2>/dev/null || \
	  .venv/bin/pip install -q openapi-core==0.23.1 openapi-schema-validator==0.8.1

.PHONY: integration
integration: controlplane ops-tools build venv browser ## Integration suite against a real kube-apiserver + etcd on 127.0.0.1
	@testenv/down.sh $(TESTENV_DIR) >/dev/null 2>&1; rm -rf $(TESTENV_DIR); \
	testenv/up.sh $(TESTENV_DIR) && trap 'testenv/down.sh $(TESTENV_DIR)' EXIT && \
	set -a && . $(TESTENV_DIR)/env && set +a && \
	$(CARGO) test --locked --test integration

.PHONY: browser
browser: ## Debian's Chromium, which the `rolecall ui` tests drive headless (installed when missing)
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; } || { echo "cannot install chromium (apt-get install chromium): the ui tests need it" >&2; exit 1; }

BENCH_SIZES ?= 1000 5000 10000
BENCH_REPORT ?= bench/results/report
# The operator's and sidecar's log filter in the whole loop (their logs stay in
# .run/bench-loop-N/): "info,rolecall::operator::hub_sync=debug" adds each
# sync's timings.
BENCH_LOOP_LOG ?= info

.PHONY: bench
bench: bench-hub bench-scim bench-loop ## All benchmarks: one large hub's own sync cost, SCIM at scale, and the whole loop at BENCH_SIZES users with its report

.PHONY: bench-hub
bench-hub: ## The operator's own time in one sync of a 5,000-account hub among 10,000 users (read-back parse, input, plan, record), no cluster
	@set -o pipefail && $(CARGO) test --locked --profile bench-build --lib hub_cost -- --ignored --nocapture 2>&1 | grep -E '^hub-cost:|test result|panicked'

.PHONY: bench-scim
bench-scim: controlplane ## SCIM at scale (optimised build): 10,000 users and 1,000 groups vs the raw API rate, filtered GET latency
	@testenv/down.sh $(RUN_DIR)/bench >/dev/null 2>&1; rm -rf $(RUN_DIR)/bench; \
	testenv/up.sh $(RUN_DIR)/bench && trap 'testenv/down.sh $(RUN_DIR)/bench' EXIT && \
	set -a && . $(RUN_DIR)/bench/env && set +a && \
	set -o pipefail && $(CARGO) test --locked --profile bench-build --test bench scim_provisioning -- --ignored --nocapture 2>&1 | grep -E '^bench:|test result|panicked'

.PHONY: bench-ui
bench-ui: controlplane browser ## rolecall ui on a hub of 10,000 then 50,000 accounts (BENCH_UI_SIZES): TTFB, whole page, Chromium render
	@testenv/down.sh $(RUN_DIR)/bench-ui >/dev/null 2>&1; rm -rf $(RUN_DIR)/bench-ui; \
	testenv/up.sh $(RUN_DIR)/bench-ui && trap 'testenv/down.sh $(RUN_DIR)/bench-ui' EXIT && \
	set -a && . $(RUN_DIR)/bench-ui/env && set +a && \
	set -o pipefail && $(CARGO) test --locked --profile bench-build --test bench ui_pages -- --ignored --nocapture 2>&1 | grep -E '^ui:|test result|panicked'

.PHONY: bench-loop
bench-loop: controlplane venv ## The whole loop, IdP to 20 apps, at each of BENCH_SIZES users (a fresh control plane each); writes $(BENCH_REPORT).{json,md,png}
	@test -x .venv/bin/python && .venv/bin/python -c 'import matplotlib' 2>/dev/null || .venv/bin/pip install -q 'matplotlib==3.10.*'
	@mkdir -p target/bench $(dir $(BENCH_REPORT)) && set -o pipefail && for n in $(BENCH_SIZES); do \
	  dir=$(RUN_DIR)/bench-loop-$$n; testenv/down.sh $$dir >/dev/null 2>&1; rm -rf $$dir; \
	  testenv/up.sh $$dir >/dev/null && ( set -a && . $$dir/env && set +a && \
	    ROLECALL_TEST_LOG='$(BENCH_LOOP_LOG)' BENCH_LOOP_USERS=$$n BENCH_OUT=$(CURDIR)/target/bench \
	    $(CARGO) test --locked --profile bench-build --test bench whole_loop -- --ignored --nocapture 2>&1 | grep --line-buffered -E '^loop:|test result|panicked' ); \
	  status=$$?; testenv/down.sh $$dir >/dev/null; [ $$status -eq 0 ] || exit $$status; \
	done
	.venv/bin/python bench/report.py $(BENCH_REPORT) $(foreach n,$(BENCH_SIZES),target/bench/whole-loop-$(n).json)

.PHONY: chaos
chaos: controlplane build venv ## Chaos: 51 operator kills; 21 SCIM sidecar kills mid-request; app faults (5xx, 429s, timeouts, drops, broken bodies); 30 failures in a row; API server and etcd restarted
	@testenv/down.sh $(RUN_DIR)/chaos >/dev/null 2>&1; rm -rf $(RUN_DIR)/chaos; \
	testenv/up.sh $(RUN_DIR)/chaos && trap 'testenv/down.sh $(RUN_DIR)/chaos' EXIT && \
	set -a && . $(RUN_DIR)/chaos/env && set +a && set -o pipefail && \
	CHAOS_KILLS=51 CHAOS_SIDECAR_KILLS=21 CHAOS_FAULT_ROUNDS=3 CHAOS_BACKOFF_FAULTS=30 \
	  $(CARGO) test --locked --test integration chaos -- --nocapture 2>&1 | grep -E '^(chaos|faults|sidecar|network|backoff):|test result|panicked' && \
	$(CARGO) test --locked --test integration chaos::the_api_server -- --include-ignored --nocapture 2>&1 | grep -E '^restart:|test result|panicked'

.PHONY: chart
chart: controlplane ## Regenerate the chart's CRD templates (from crds/) and the kustomize bases in config/ (from the chart)
	hack/chart-generate.sh

.PHONY: check-chart
check-chart: controlplane ## Fail when the chart's CRDs or config/ differ from what `make chart` generates; helm lint
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && mkdir -p $$tmp/charts && \
	  cp -r crds $$tmp/crds && cp -r charts/rolecall $$tmp/charts/rolecall && mkdir -p $$tmp/config && \
	  hack/chart-generate.sh $$tmp 2>/dev/null && \
	  diff -ru charts/rolecall/templates/crds $$tmp/charts/rolecall/templates/crds && \
	  for d in crd rbac manager prometheus default; do diff -ru config/$$d $$tmp/config/$$d || exit 1; done && \
	  testenv/bin/helm lint --strict charts/rolecall >/dev/null && echo "charts/rolecall and config/ are up to date"

.PHONY: test
test: lint unit check-crds check-api-docs check-chart check-alerts check-gitops integration ## Everything CI runs

# The fuzzers need nightly and libFuzzer, so CI does not run them; `make unit`
# replays fuzz/corpus/ through the same checks instead. New inputs go to
# fuzz/runs/ (not committed); `make fuzz-corpus` folds those that add coverage
# into fuzz/corpus/.
FUZZ_TARGETS := filter path patch user_json group_json
FUZZ_RUNS ?= 10000000
FUZZ_TIME ?= 0
# Safe Rust only: no sanitizer (ASan would halve the speed and find nothing more).
FUZZ_BUILD := -s none
FUZZ_FLAGS = -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_TIME) -max_len=4096 -timeout=10 -dict=scim.dict -print_final_stats=1

# Edges without hit counts, and a set cover rather than libFuzzer's
# smallest-first merge: a few hundred files per target instead of ~1,500.
FUZZ_CMIN_FLAGS := -use_counters=0 -set_cover_merge=1

.PHONY: fuzz-tools
fuzz-tools:
	@rustup toolchain list | grep -q '^nightly' || { echo "make fuzz needs the nightly toolchain: rustup toolchain install nightly" >&2; exit 1; }
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

.PHONY: fuzz
fuzz: fuzz-tools ## Coverage-guided fuzzing of the SCIM parsers (libFuzzer), FUZZ_RUNS executions per target (FUZZ_TIME caps seconds)
	@cd fuzz && $(CARGO) +nightly fuzz build $(FUZZ_BUILD) && set -o pipefail && for t in $(FUZZ_TARGETS); do \
	  mkdir -p runs/$$t && echo "fuzz: $$t ..." && \
	  $(CARGO) +nightly fuzz run $(FUZZ_BUILD) $$t runs/$$t corpus/$$t -- $(FUZZ_FLAGS) > runs/$$t.log 2>&1 || { tail -n 40 runs/$$t.log; exit 1; }; \
	  grep -E '^#[0-9]+ +DONE|^stat::(number_of_executed_units|average_exec_per_sec)' runs/$$t.log | tr '\n' ' '; echo; \
	done

.PHONY: fuzz-corpus
fuzz-corpus: fuzz-tools ## Fold what `make fuzz` found into fuzz/corpus/, minimised, keeping the Entra ID / Okta seeds (seed-*)
	@# libFuzzer's merge (what `cargo fuzz cmin` runs) keeps the files already in its
	@# first folder, so the seeds stay and only found inputs that add coverage join them.
	@cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p runs/$$t && find corpus/$$t -type f ! -name 'seed-*' -exec mv -t runs/$$t {} + && \
	  $(CARGO) +nightly fuzz run $(FUZZ_BUILD) $$t corpus/$$t runs/$$t -- -merge=1 -max_len=4096 $(FUZZ_CMIN_FLAGS) > runs/$$t.cmin.log 2>&1 || { tail -n 20 runs/$$t.cmin.log; exit 1; }; \
	  echo "fuzz corpus $$t: $$(ls corpus/$$t | wc -l) files ($$(ls corpus/$$t | grep -c '^seed-') seeds)"; \
	done

# Operations files: alerts (promtool), the Grafana dashboard, Argo CD health
# checks (gopher-lua), the Flux example, and the kubectl plugin.

.PHONY: ops-tools
ops-tools: ## Build promtool and the Argo CD Lua runner from Go modules (cached in testenv/bin)
	testenv/ops-tools.sh

.PHONY: check-alerts
check-alerts: ops-tools ## promtool check rules + promtool test rules on charts/rolecall/files/alerts.yaml
	testenv/bin/promtool check rules charts/rolecall/files/alerts.yaml
	testenv/bin/promtool test rules tests/promtool/alerts.test.yaml

.PHONY: gitops
gitops: ## Regenerate gitops/argocd/argocd-cm.yaml from the Lua health scripts
	gitops/argocd/generate.sh

.PHONY: check-gitops
check-gitops: ## Fail when gitops/argocd/argocd-cm.yaml differs from what the Lua scripts generate
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && gitops/argocd/generate.sh $$tmp/argocd-cm.yaml >/dev/null && \
	  diff -u gitops/argocd/argocd-cm.yaml $$tmp/argocd-cm.yaml && echo "gitops/argocd/argocd-cm.yaml is up to date"

.PHONY: plugin
plugin: build ## Build the kubectl plugin: target/debug/kubectl-rolecall (put it on PATH, then `kubectl rolecall status HUB`)
	ln -sf rolecall target/debug/kubectl-rolecall
	@echo "target/debug/kubectl-rolecall -> rolecall; try: PATH=$(CURDIR)/target/debug:\$$PATH kubectl rolecall status HUB -n NS"

.PHONY: github-openapi
github-openapi: ## Re-vendor GitHub's OpenAPI subset for the stand-in from npm @octokit/openapi (VERSION=x.y.z to move; needs npm)
	python3 tests/github/vendor_openapi.py $(if $(VERSION),--version $(VERSION))

.PHONY: check-github-openapi
check-github-openapi: ## Fail when tests/github/openapi/ differs from what its recorded @octokit/openapi version makes (needs npm, not in `make test`)
	python3 tests/github/vendor_openapi.py --check
