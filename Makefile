# gosync: the two commands a new user needs are `make test` and `make bench`.
#
# This is a multi-module repository (see go.work). Every target fans out over
# the modules found below; `go test ./...` at the root would test nothing,
# because the root is not a module.

SHELL := /bin/bash
GO ?= go
MODULES := $(patsubst %/go.mod,%,$(wildcard */go.mod))
# Watchdogs inside the tests turn hangs into failures with a goroutine dump;
# this timeout is only the last resort.
TEST_TIMEOUT ?= 20m

.PHONY: all test fmt-check vet staticcheck vet-cross build-gowork-off test-race \
	test-386 test-arm64 test-windows bench bench-full bench-adaptive bench-shared bench-fleet stress help

all: test

help:
	@echo "make test        gofmt, vet, staticcheck, cross-GOOS vet, go test -race in every module, 386 and arm64 tests (or build-only with a SKIPPED line), Windows tests under Wine"
	@echo "make bench       quick benchmark comparison: the verdict (losing cells, claims), tables and charts"
	@echo "make bench-full  the same with enough runs for benchstat significance"
	@echo "make bench-adaptive  the overload simulation: adaptive limits, fixed limits and failsafe-go against a service whose capacity changes (also run by make bench)"
	@echo "make bench-shared  the cross-process semaphore against SysV, flock and jobserver (Linux)"
	@echo "make bench-fleet   the etcd semaphore against concurrency.Mutex and a bare watch, on embedded etcd"
	@echo "make stress      the conformance suite with -race -count=50, 1000-kill chaos on Linux and under Wine, 300 process kills on etcd (long; not in CI)"

test: fmt-check vet staticcheck vet-cross build-gowork-off test-race test-386 test-arm64 test-windows
	@echo "==> make test: all checks passed"

fmt-check:
	@echo "==> gofmt"
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt -l reports:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do echo "==> go vet $$m"; (cd $$m && $(GO) vet ./...); done

# staticcheck is pinned with the tool directive in benchmarks/go.mod. It is
# built once for this machine and run for linux and for windows (the iocp
# backend's real code only exists there).
STATICCHECK := $(CURDIR)/.cache/bin/staticcheck
staticcheck:
	@mkdir -p $(dir $(STATICCHECK))
	@cd benchmarks && $(GO) build -o $(STATICCHECK) honnef.co/go/tools/cmd/staticcheck
	@set -e; for os in linux windows; do for m in $(MODULES); do echo "==> GOOS=$$os staticcheck $$m"; \
		(cd $$m && GOOS=$$os $(STATICCHECK) ./...); done; done

# Every package must build on every GOOS (platform backends carry stubs) and
# on a 32-bit architecture (counts are ints).
vet-cross:
	@set -e; for target in windows/amd64 darwin/arm64 linux/386; do for m in $(MODULES); do \
		echo "==> $$target go vet $$m"; (cd $$m && GOOS=$${target%/*} GOARCH=$${target#*/} $(GO) vet ./...); done; done

# The workspace hides version and replace mistakes: check each module alone.
build-gowork-off:
	@set -e; for m in $(MODULES); do echo "==> GOWORK=off go build+vet $$m"; \
		(cd $$m && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./...); done

test-race:
	@set -e; for m in $(MODULES); do echo "==> go test -race $$m"; \
		(cd $$m && $(GO) test -race -timeout $(TEST_TIMEOUT) ./...); done

# Counts are ints: run the Semaphore, the drop-in and the suite on a 32-bit
# architecture (natively, where the kernel executes 386 binaries) and on
# arm64 (natively on arm64, under qemu-user-static elsewhere). A host that
# cannot run one builds and vets it instead and prints a "SKIPPED running"
# line with the reason; see scripts/cross/test-arch.sh.
test-386:
	@GO=$(GO) TEST_TIMEOUT=$(TEST_TIMEOUT) scripts/cross/test-arch.sh 386

test-arm64:
	@GO=$(GO) TEST_TIMEOUT=$(TEST_TIMEOUT) scripts/cross/test-arch.sh arm64

# Cross-compiles the Windows test binaries (backend-iocp, core, shared) and runs them
# under Wine, installing Wine and mingw-w64 with apt-get when run as root.
test-windows:
	@scripts/wine/test-windows.sh

# make bench also prints the cross-process table (the shared module against
# System V semaphores, flock slots and a jobserver pipe; Linux only) into
# benchmarks/results/shared.txt, and the fleet table (the etcd semaphore
# against concurrency.Mutex and a bare watch, on embedded etcd) into
# benchmarks/results/fleet.txt, and ends with the overload simulation
# (bench-adaptive).
bench:
	@cd benchmarks && $(GO) run ./cmd/benchreport -profile quick -out results
	@echo "==> cross-process table (shared): benchmarks/results/shared.txt"
	@set -o pipefail; cd shared && $(GO) test -run '^$$' -bench Cross -benchtime 20000x -count 3 -cpu 2 . | tee ../benchmarks/results/shared.txt
	@echo "==> fleet table (etcd): benchmarks/results/fleet.txt"
	@set -o pipefail; cd fleet && { $(GO) test -run '^$$' -bench 'Uncontended|Handoff' -benchtime 200x -count 3 -cpu 2 . && \
		$(GO) test -run '^$$' -bench 'Waiters' -benchtime 512x -count 1 -cpu 2 . ; } | tee ../benchmarks/results/fleet.txt
	@echo "==> the verdict (losing cells, claims) is printed above the cross-process table and heads benchmarks/results/tables.txt"
	@$(MAKE) --no-print-directory bench-adaptive

# The overload simulation (benchmarks/cmd/overload): the adaptive limiters,
# a fixed limit set too high and one too low, and failsafe-go's adaptive
# limiter in front of a simulated service whose capacity halves and doubles
# back, under open-loop arrivals at 0.5x to 4x its capacity, in real time,
# each adaptive contender four times per load; about 11 minutes. Its
# claims' verdict and tables go to
# benchmarks/results/overload.txt, its charts beside them.
bench-adaptive:
	@echo "==> overload simulation: benchmarks/results/overload.txt"
	@cd benchmarks && $(GO) run ./cmd/overload -out results

bench-full:
	@cd benchmarks && $(GO) run ./cmd/benchreport -profile full -out results

# The cross-process semaphore against System V SEM_UNDO, flock slots and a
# jobserver pipe, at 2, 8 and 64 processes, and its handoff against a raw
# shared-futex ping-pong (docs/shared.md). Linux only; about 2 minutes.
bench-shared:
	@cd shared && $(GO) test -run '^$$' -bench Cross -benchtime 20000x -count 5 -cpu 2 .

# The fleet (etcd) semaphore against etcd's concurrency.Mutex (uncontended
# round trips, 1/16/256 waiters over 4 clients) and its handoff against a
# bare watch notification, all on one embedded etcd member (docs/fleet.md).
# Fixed iteration counts, 5 runs each; a few minutes.
bench-fleet:
	@cd fleet && $(GO) test -run '^$$' -bench 'Uncontended|Handoff' -benchtime 200x -count 5 -cpu 2 . && \
		$(GO) test -run '^$$' -bench 'Waiters' -benchtime 512x -count 3 -cpu 2 .

# The conformance suite over every backend available here, 50 times under
# -race (roughly 5 minutes per backend on 2 cores; not run by CI).
stress:
	@set -e; for m in backend-generic backend-iouring; do echo "==> stress $$m"; \
		(cd $$m && $(GO) test -race -count=50 -timeout 2h -run '^TestConformance$$' .); done
	@echo "==> stress conformance (reference backends)"
	@cd conformance && $(GO) test -race -count=50 -timeout 2h -run 'TestGeneric|TestCondBackend' .
	@echo "==> stress shared (1000 SIGKILLs of child processes)"
	@cd shared && GOSYNC_CHAOS_KILLS=1000 $(GO) test -race -count=1 -timeout 2h -run '^TestChaos$$' -v .
	@echo "==> stress shared under Wine (1000 TerminateProcess kills; a SKIPPED line where Wine cannot run)"
	@GOSYNC_CHAOS_KILLS=1000 GOSYNC_WINE_MODULES=shared GOSYNC_WINE_TIMEOUT=2400 GOSYNC_WINE_TESTFLAGS='-test.run=^TestChaos$$' scripts/wine/test-windows.sh
	@echo "==> stress fleet (300 SIGKILLs of processes using the etcd semaphore, etcd members in their own processes)"
	@cd fleet && GOSYNC_FLEET_KILLS=300 $(GO) test -race -count=1 -timeout 2h -run '^TestKilledProcessesNeverOverAdmit$$' -v .
