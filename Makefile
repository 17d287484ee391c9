# mailpull — build, test and check.
#
#   make build   the binary, in bin/mailpull
#   make test    installs the servers the tests need (Debian packages, not
#                started), then gofmt, go vet, staticcheck and every test,
#                including those against a real Dovecot and slapd
#   make check   gofmt, go mod tidy -diff, go vet and staticcheck only
#   make bench   installs mbsync and doveadm (Debian packages, not started),
#                then compares them with mailpull on the rig; knobs in the
#                environment or on the command line: BENCH_N=1000,10000
#                BENCH_RTT=20ms BENCH_REPS=3 (see docs/benchmarks.md)
#   make fuzz    every fuzz test for FUZZTIME (default 100000x) each
#   make deb     the Debian package, built with dpkg-buildpackage and checked
#                with lintian, into dist/
#   make demo    installs the servers (Debian packages, not started), builds,
#                then shows mailpull's first run on throw-away servers
#                (README, "Try it")

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
TESTFLAGS   ?= -count=1 -timeout 15m
BENCHFLAGS  ?= -count=1 -timeout 90m

FUZZTIME    ?= 100000x

.PHONY: all build deps check fmt tidy vet staticcheck test fuzz bench deb demo clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/mailpull ./cmd/mailpull

deps:
	sh .ci/deps.sh

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>&1); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags bench ./bench/
	$(GO) vet -tags demo ./demo/

staticcheck:
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags bench ./bench/
	$(STATICCHECK) -tags demo ./demo/

check: fmt tidy vet staticcheck

# go.mod must say which modules are direct: guard_test.go reads it.
tidy:
	$(GO) mod tidy -diff

# The tests run as root on CI, and the rig drops to an unprivileged account for
# the servers. A skipped test fails the run: nothing that matters may be
# skipped silently (see docs/testing.md).
test: deps check
	sh .ci/gotest.sh $(TESTFLAGS) ./...
	FUZZTIME=$(FUZZTIME) sh .ci/fuzz.sh

# Every fuzz test for FUZZTIME each; make test runs them briefly.
fuzz:
	FUZZTIME=$(FUZZTIME) sh .ci/fuzz.sh

# The benchmark is a test under the bench build tag, so that go test ./...
# never builds it; it measures the binary make build just made.
bench: build
	sh bench/deps.sh
	MAILPULL_BIN=$(CURDIR)/bin/mailpull $(GO) test -tags bench -run . -v $(BENCHFLAGS) ./bench/

deb:
	sh .ci/deb.sh

# The demo is a test under the demo build tag, run as a compiled test binary
# so that its output (and mailpull's progress bar) goes straight to the
# terminal; it starts and stops its own servers on 127.0.0.1.
demo: build
	sh .ci/deps.sh --servers
	$(GO) test -c -tags demo -o bin/demo.test ./demo/
	MAILPULL_BIN=$(CURDIR)/bin/mailpull bin/demo.test -test.run '^TestDemo$$' -test.v -test.count=1 -test.timeout 10m

clean:
	rm -rf bin dist
