# Kite — VM-isolated containers with a bare-metal I/O data plane.
# `make help` lists the targets. Everything here works as root on a fresh
# Debian bookworm machine: `make run` (the demo) and `make test` (what CI runs).

SHELL        := /bin/bash
GO           ?= go
BIN          := $(CURDIR)/bin
GUEST_DIR    ?= /var/lib/kite/guest
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOTESTFLAGS  ?= -p 2 -timeout 25m
# Debian packages Kite needs on the host (qemu-system-common brings virtiofsd).
APT_PACKAGES := qemu-system-x86 qemu-system-common busybox-static protobuf-compiler libprotobuf-dev \
                e2fsprogs iproute2 kmod qemu-utils dpdk-dev \
                containerd runc umoci containernetworking-plugins

export PATH := $(PATH):/usr/local/go/bin

.PHONY: help setup build agent guest test unit lint proto proto-check run bench bench-quick clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## install the Debian packages Kite needs (idempotent, quick when done)
	@scripts/setup.sh $(APT_PACKAGES)

build: ## build bin/kite, bin/containerd-shim-kite-v2 and the static bin/kite-agent
	$(GO) build -o $(BIN)/kite ./cmd/kite
	$(GO) build -o $(BIN)/containerd-shim-kite-v2 ./cmd/containerd-shim-kite-v2
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/kite-agent ./cmd/kite-agent

guest: build ## build the guest kernel + initramfs into $(GUEST_DIR)
	$(BIN)/kite guest build --out $(GUEST_DIR) --agent $(BIN)/kite-agent

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

test: setup lint proto-check guest ## what CI runs: everything, no skips allowed
	KITE_TEST_STRICT=1 KITE_TEST_GUEST_DIR=$(GUEST_DIR) KITE_GUEST_CACHE=$(GUEST_DIR)/cache $(GO) test $(GOTESTFLAGS) -count=1 ./...

run: setup guest ## the main job: boot a VM and run a container in it
	$(BIN)/kite check
	scripts/demo.sh

bench: build guest ## the full benchmark suite (about 12 min under TCG) into bench-results/
	$(BIN)/kite bench --out bench-results

bench-quick: build guest ## the quick benchmark suite (under 3 min) into bench-results/
	$(BIN)/kite bench --quick --out bench-results

clean: ## remove build outputs (not the guest cache)
	rm -rf $(BIN)
