# dcv build and test entry points. `make test` is the one test command:
# README.md and .ci/run call it, and it installs what the tests need.
GO ?= go
# Debian packages the suite runs against: real peers nobody here wrote.
DEB_PACKAGES ?= knot certbot lego uacme
export GOFLAGS ?= -buildvcs=false

.PHONY: build test deps vet fmt-check unit race bench fuzz crash

# The version is git's description of the commit (tag, or hash, "-dirty"
# with uncommitted changes); "dev" outside a git checkout.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/dcv ./cmd/dcv

# The whole default suite: dependencies, static checks, every test.
test: deps fmt-check vet unit

deps:
	./scripts/test-deps.sh $(DEB_PACKAGES)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# DCV_REQUIRE_PEERS: a real peer that deps installed must not be skipped.
# The tests run in a network namespace with the loopback interface only
# (scripts/loopback-only.sh): they may send traffic to loopback addresses
# and nowhere else (LOOPBACK_ONLY=require: fail where that cannot be set
# up). go vet, before, has downloaded what the build needs.
unit: vet
	DCV_REQUIRE_PEERS=1 ./scripts/loopback-only.sh $(GO) test -count=1 -timeout 12m ./...

# The suite under the race detector (about 3 minutes on 2 cores, so not in
# the default suite): every package, in the same loopback-only namespace.
race: vet
	DCV_REQUIRE_PEERS=1 ./scripts/loopback-only.sh $(GO) test -race -count=1 -timeout 30m ./...

# Benchmarks are not part of the default suite.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

# Fuzzing runs each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Crash soak: dcv serve killed (SIGKILL) under load CRASH_CYCLES times
# (TestCrashRecovery, which the default suite runs with 2).
CRASH_CYCLES ?= 25
crash:
	DCV_CRASH_CYCLES=$(CRASH_CYCLES) ./scripts/loopback-only.sh $(GO) test -count=1 -timeout 60m -run '^TestCrashRecovery$$' -v ./cmd/dcv
