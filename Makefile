# emrtd — build, demo and test on a Debian machine.
#
#   make demo   install what is missing, build, read an emulated booklet
#   make test   everything CI runs: formatting, lints, docs, unit/integration tests,
#               and the PC/SC tests through a real pcscd + vpcd (tests/vpcd.rs)
#   make vpcd-test  only the PC/SC tests
#   make desk-test  emrtd desk through pcscd + vpcd and headless Chromium (screenshots in
#               target/desk-screens/), and the 200-document sequence
#   make deb    the Debian package for a desk PC (cargo-deb): binary, man pages, shell
#               completions, systemd user unit for `emrtd desk` -> target/debian/*.deb
#   make deb-test  install that package on a clean debootstrapped Debian (minutes, network;
#               not part of `make test`) and run `emrtd desk --emulator` there
#   make bench  release build, then benches/bench.rs: target/bench/results.json + report.md
#   make fuzz-smoke  every cargo-fuzz target for ~FUZZ_SMOKE_TOTAL seconds in all (60)
#   make fuzz   every cargo-fuzz target for FUZZ_TIME seconds each (600)
#
# `make test` also runs fuzz-smoke when cargo-fuzz and a nightly toolchain (or
# RUSTC_BOOTSTRAP) are available, and says so when they are not.
#
# The PC/SC tests start pcscd themselves (or use a running one). Under `make test` a
# missing pcscd is a failure, not a skip: set PCSC_REQUIRED=0 to let them skip (loudly)
# on a machine where pcscd cannot run.
#
SHELL := /bin/bash
CARGO ?= cargo
# slapd + ldap-utils: `emrtd pkd sync` is tested against a real OpenLDAP (tests/pkd_sync.rs);
# the tests start their own slapd on 127.0.0.1 with random ports and never use a system one,
# so the package is installed unconfigured (debconf slapd/no_configuration) and starts none
DEB_PACKAGES := pkg-config libssl-dev libpcsclite-dev pcscd vsmartcard-vpcd opensc pcsc-tools python3-pyscard python3-cryptography softhsm2 slapd ldap-utils openpace
# `emrtd desk`'s page is tested in headless Chromium (tests/desk_vpcd.rs); `make test`
# installs it, `make build` and `make demo` do not need it
DESK_DEB_PACKAGES := chromium
BIN := target/debug/emrtd
DEMO_DIR := target/demo

.PHONY: all deps desk-deps install-debs build demo deb deb-test test lint fmt clippy doc unit vpcd-test desk-test clean bench fuzz fuzz-smoke fuzz-smoke-if-available soak proptest-deep
PCSC_REQUIRED ?= 1
PCSC_ENV := $(if $(filter 1,$(PCSC_REQUIRED)),EMRTD_REQUIRE_PCSCD=1,)

all: build

# Install the Debian packages that are missing (needs root or sudo; skipped with a
# note otherwise, and the build then says what is missing).
deps:
	@$(MAKE) --no-print-directory install-debs PACKAGES="$(DEB_PACKAGES)"
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }

desk-deps:
	@$(MAKE) --no-print-directory install-debs PACKAGES="$(DESK_DEB_PACKAGES)"

# install-debs PACKAGES="...": the ones missing, with apt-get
install-debs:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else \
	    echo "not root and no sudo: install them yourself: apt-get install$$missing" >&2; exit 1; fi; \
	  echo "slapd slapd/no_configuration boolean true" | $$SUDO debconf-set-selections 2>/dev/null || true; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	    || { echo "apt-get install failed for:$$missing" >&2; exit 1; }; \
	fi

build: deps
	$(CARGO) build --locked

demo: build
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@echo "== emrtd pkd import: a master list alone is stored but NOT anchored (its CSCAs validate nothing)"
	$(BIN) --store $(DEMO_DIR)/trust.db pkd import pkd-fixtures/pki/00-masterlist-ut.ml
	@echo "== emrtd pkd import: the rest of the fixture test PKI; its CSCA files are anchors and anchor that list"
	$(BIN) --store $(DEMO_DIR)/trust.db -q pkd import pkd-fixtures/pki/*
	@echo "== emrtd pkd stats: per country, and the anchors with their SHA-256"
	$(BIN) --store $(DEMO_DIR)/trust.db pkd stats
	@echo "== emrtd read: emulated BAC booklet (pkd-fixtures/booklets/bac.toml)"
	$(BIN) read --emulator pkd-fixtures/booklets/bac.toml --out $(DEMO_DIR)/bac-dump
	@echo "== emrtd verify: emulated REF-1 booklet (PACE, AA, CA) against that store"
	$(BIN) --store $(DEMO_DIR)/trust.db verify --emulator pkd-fixtures/booklets/ref1.toml --html $(DEMO_DIR)/ref1.html
	@echo "== emrtd verify: a forged booklet (DG2 swapped) must be INVALID"
	@$(BIN) --store $(DEMO_DIR)/trust.db -q verify --emulator pkd-fixtures/booklets/forged-dg2-face-swapped.toml; \
	  rc=$$?; test $$rc -eq 1 || { echo "expected exit 1, got $$rc" >&2; exit 1; }
	@echo "== HTML report: $(DEMO_DIR)/ref1.html; dump: $(DEMO_DIR)/bac-dump"

fmt:
	$(CARGO) fmt --all -- --check

# the second run is the verifier without the emulator (`--no-default-features`), every
# target included: tests, examples and the bench that need the emulator declare
# required-features and drop out (docs/architecture.md)
clippy:
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) clippy --locked --all-targets --no-default-features -- -D warnings

doc:
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --locked --no-deps --lib

# property tests draw their cases from a fixed seed here, so that CI is reproducible
# (plus the failures kept in tests/*.proptest-regressions); `make proptest-deep`
# explores with fresh seeds and many more cases
PROPTEST_SEED ?= 20261206
unit:
	PROPTEST_RNG_SEED=$(PROPTEST_SEED) $(PCSC_ENV) $(CARGO) test --locked

# the property tests with fresh randomness and many cases (not part of `make test`);
# a failure prints its minimal case and is kept in tests/*.proptest-regressions
PROPTEST_DEEP_CASES ?= 20000
proptest-deep:
	PROPTEST_CASES=$(PROPTEST_DEEP_CASES) $(CARGO) test --locked --release --test hostile_chip
	PROPTEST_CASES=$$(( $(PROPTEST_DEEP_CASES) / 10 )) $(CARGO) test --locked --release --lib \
		--test aa_signatures --test ca_vectors --test check_hostile --test inspect_hostile \
		--test lds_vectors_a --test lds_vectors_b --test pace_round_trip --test pki_hostile

# the emulated passport behind a real pcscd: emrtd read, opensc-tool, pyscard
vpcd-test: deps
	$(PCSC_ENV) $(CARGO) test --locked --test vpcd

# emrtd desk as an officer sees it (pcscd + vpcd + headless Chromium), and 200 documents
desk-test: deps desk-deps
	$(PCSC_ENV) $(CARGO) test --locked --test desk_vpcd --test desk_sequence

lint: fmt clippy doc

test: deps desk-deps lint unit fuzz-smoke-if-available

# release build (timings), then the benchmark harness (cargo bench builds the same
# release binary it times); figures and machine in target/bench/report.md
bench: deps
	$(CARGO) build --locked --release
	$(CARGO) bench --locked --bench bench

# the Debian package: the release binary writes its man pages and completions first
DEB_ASSETS := target/deb-assets
deb: deps
	@command -v cargo-deb >/dev/null 2>&1 || { echo "installing cargo-deb (crates.io)"; \
	  $(CARGO) install --locked cargo-deb; }
	$(CARGO) build --locked --release
	rm -rf $(DEB_ASSETS) && mkdir -p $(DEB_ASSETS)/man $(DEB_ASSETS)/completions
	target/release/emrtd completions man --out-dir $(DEB_ASSETS)/man
	gzip -9n $(DEB_ASSETS)/man/*.1
	target/release/emrtd completions bash > $(DEB_ASSETS)/completions/emrtd.bash
	target/release/emrtd completions zsh > $(DEB_ASSETS)/completions/_emrtd
	target/release/emrtd completions fish > $(DEB_ASSETS)/completions/emrtd.fish
	$(CARGO) deb --no-build --output target/debian/

# a clean Debian (DEB_SUITE, from DEBIAN_MIRROR) under target/deb-test/, the package
# installed there with apt, then used (packaging/deb-test.sh says what is checked)
DEB_SUITE ?= bookworm
DEBIAN_MIRROR ?= http://deb.debian.org/debian
deb-test: deb
	@$(MAKE) --no-print-directory install-debs PACKAGES="debootstrap curl jq"
	DEB_SUITE=$(DEB_SUITE) DEBIAN_MIRROR=$(DEBIAN_MIRROR) packaging/deb-test.sh

# PACE sessions against the software chip, SOAK_SESSIONS per mapping × cipher, fresh
# randomness each (not part of `make test`; figures in docs/benchmarks.md)
SOAK_SESSIONS ?= 2000
soak:
	SOAK_SESSIONS=$(SOAK_SESSIONS) $(CARGO) run --locked --release --example soak

FUZZ_SMOKE_TOTAL ?= 60
FUZZ_TIME ?= 600
# targets run at once by `make fuzz` (one per core), and their nice level
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
FUZZ_NICE ?= 10
# libFuzzer memory limits: a process past FUZZ_RSS_MB, or one allocation past
# FUZZ_MALLOC_MB, is a finding (amplification on attacker data)
FUZZ_RSS_MB ?= 2048
FUZZ_MALLOC_MB ?= 512
FUZZ_LIMITS = FUZZ_RSS_MB=$(FUZZ_RSS_MB) FUZZ_MALLOC_MB=$(FUZZ_MALLOC_MB)
fuzz-smoke:
	FUZZ_SMOKE_TOTAL=$(FUZZ_SMOKE_TOTAL) $(FUZZ_LIMITS) fuzz/run.sh smoke

fuzz:
	FUZZ_TIME=$(FUZZ_TIME) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_NICE=$(FUZZ_NICE) $(FUZZ_LIMITS) fuzz/run.sh long

fuzz-smoke-if-available:
	@command -v cargo-fuzz >/dev/null 2>&1 || { echo "installing cargo-fuzz (crates.io)"; \
	  $(CARGO) install --locked cargo-fuzz >/dev/null 2>&1 || echo "cargo-fuzz could not be installed"; }
	@if fuzz/run.sh check >/dev/null 2>&1; then $(MAKE) --no-print-directory fuzz-smoke; \
	else echo "FUZZ SMOKE SKIPPED: $$(fuzz/run.sh check 2>&1)"; fi

clean:
	$(CARGO) clean
