# Kite — VM-isolated containers with a bare-metal I/O data plane.
# `make help` lists the targets. Everything here works as root on a fresh
# Debian bookworm machine: `make run` (the demo) and `make test` (what CI runs).

SHELL        := /bin/bash
GO           ?= go
BIN          := $(CURDIR)/bin
GUEST_DIR    ?= /var/lib/kite/guest
# The unprivileged user QEMU runs as (configuration.toml: hypervisor.user).
QEMU_USER    ?= kite-qemu
GUEST_KERNEL ?=
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOTESTFLAGS  ?= -p 2 -timeout 25m
# Debian packages Kite needs on the host (qemu-system-common brings virtiofsd).
APT_PACKAGES := qemu-system-x86 qemu-system-common busybox-static protobuf-compiler libprotobuf-dev \
                e2fsprogs iproute2 kmod qemu-utils dpdk-dev \
                containerd runc umoci containernetworking-plugins
# The OCI CLI's real clients, tested in CI (cli/oci_podman_test.go, cli/oci_docker_test.go).
APT_PACKAGES += podman docker.io iptables
# Go fetches modules over HTTPS: a minimal Debian (debootstrap) has no CA bundle.
APT_PACKAGES += ca-certificates
# What the Kite guest kernel's build needs (`make guest`, guest/kernel).
APT_PACKAGES += gcc make binutils bc flex bison libelf-dev xz-utils
# The OCI runtimes `kite bench` measures Kite beside, with runc (`make bench-peers`).
APT_PACKAGES += crun runsc
# More guest images for the boot breakdown by kernel (`make bench-peers`), e.g. one
# built with `kite guest build --kernel kite --out DIR`.
BENCH_GUESTS ?=

# containerd releases the shim is tested against besides Debian's 1.6 (on PATH): built
# from the Go module proxy once and cached (scripts/build-containerd.sh); critest's version
# (scripts/build-critest.sh). `make test` runs the whole shim suite on the first release and
# a subset on the others (shim/releases_test.go); `make critest` compares runc and Kite.
CONTAINERD_RELEASES ?= v1.7.35 v2.4.2
CONTAINERD_CACHE    ?= /var/lib/kite/containerd
CRITEST_VERSION     ?= v1.37.0
empty :=
space := $(empty) $(empty)
CONTAINERD_DIRS     := /usr/bin $(addprefix $(CONTAINERD_CACHE)/,$(CONTAINERD_RELEASES))

export PATH := $(PATH):/usr/local/go/bin

.PHONY: help setup build agent guest test test-nested unit lint proto proto-check run bench bench-quick bench-peers clean containerd-releases critest-bin critest

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## install the Debian packages Kite needs and create QEMU's user (idempotent, quick when done)
	@scripts/setup.sh $(APT_PACKAGES)
	@scripts/setup-user.sh $(QEMU_USER)

build: ## build bin/kite, bin/containerd-shim-kite-v2 and the static bin/kite-agent
	$(GO) build -o $(BIN)/kite ./cmd/kite
	$(GO) build -o $(BIN)/containerd-shim-kite-v2 ./cmd/containerd-shim-kite-v2
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/kite-agent ./cmd/kite-agent

guest: build ## build the guest kernel (once; GUEST_KERNEL=kite|debian) + initramfs into $(GUEST_DIR)
	$(BIN)/kite guest build --out $(GUEST_DIR) --agent $(BIN)/kite-agent $(if $(GUEST_KERNEL),--kernel $(GUEST_KERNEL))

lint: ## go vet + staticcheck (pinned) + the import rules and type sizes of docs/architecture.md
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run ./scripts/archcheck

proto: ## regenerate the agent protocol (protoc + pinned plugins)
	agent/protocol/generate.sh

proto-check: ## fail if the generated agent protocol is stale
	agent/protocol/generate.sh --check

unit: ## unit tests only (no root, no QEMU needed)
	$(GO) test $(GOTESTFLAGS) -short ./...

test: setup lint proto-check guest containerd-releases critest-bin ## what CI runs: everything, no skips allowed
	KITE_TEST_STRICT=1 KITE_TEST_CONTAINERD=$(subst $(space),:,$(CONTAINERD_DIRS)) KITE_TEST_CRITEST=$(shell scripts/build-critest.sh $(CRITEST_VERSION) 2>/dev/null) KITE_TEST_GUEST_DIR=$(GUEST_DIR) KITE_GUEST_CACHE=$(GUEST_DIR)/cache $(GO) test $(GOTESTFLAGS) -count=1 ./...

test-nested: setup guest ## only the passthrough tests that boot a Kite guest inside the test-host VM (TCG in TCG; part of make test too)
	KITE_TEST_STRICT=1 KITE_TEST_GUEST_DIR=$(GUEST_DIR) $(GO) test -count=1 -timeout 90m -run '^TestNested' -v ./sandbox/

run: setup guest ## the main job: boot a VM and run a container in it
	$(BIN)/kite check
	scripts/demo.sh

bench: build guest ## the full benchmark suite (about 12 min under TCG) into bench-results/
	$(BIN)/kite bench --out bench-results

bench-quick: build guest ## the quick benchmark suite (under 3 min) into bench-results/
	$(BIN)/kite bench --quick --out bench-results

bench-peers: setup build guest ## Kite (cold, pooled, templated) beside runc, crun, runsc (about 40 min under TCG) into bench-results/peers/
	$(BIN)/kite bench --only kernels,container,density,burst,balloon --out bench-results/peers $(foreach g,$(BENCH_GUESTS),--guest $(g))

clean: ## remove build outputs (not the guest cache)
	rm -rf $(BIN)

containerd-releases: ## build the containerd releases the shim is tested against (once, cached)
	@for v in $(CONTAINERD_RELEASES); do scripts/build-containerd.sh $$v $(CONTAINERD_CACHE) >/dev/null; done

critest-bin: ## build critest $(CRITEST_VERSION) (once, cached under /var/lib/kite/critest)
	@scripts/build-critest.sh $(CRITEST_VERSION) >/dev/null

critest: setup guest critest-bin ## the full critest with runc and with Kite (containerd 1.6; ~7 min): counts and differences
	$(GO) run ./scripts/critest -critest $$(scripts/build-critest.sh $(CRITEST_VERSION)) -guest $(GUEST_DIR)
