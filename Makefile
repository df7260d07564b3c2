# mipo's build. `make run` and `make test` work on a fresh Debian machine with Go installed:
# whatever they need and do not find (the PostgreSQL server, Node.js packages, Chromium, nmap),
# they install, and say so.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT     := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

export CGO_ENABLED = 0

.PHONY: all build run test test-go test-scanner bench ui postgres nmap clean

all: build

## build: bin/mipo and bin/mipo-scanner, static, version stamped
build:
	$(GO) build -trimpath -ldflags "-s -w -X mipo/app.Version=$(VERSION)" -o bin/mipo .
	cd scanner && $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o ../bin/mipo-scanner .

## run: mipo with every role on the embedded PostgreSQL; the address is printed
run: postgres build
	./bin/mipo serve $(ARGS)

## test: every test: Go (server and scanner)
test: postgres
	$(GO) vet ./...
	cd scanner && $(GO) vet ./... && test "$$($(GO) list -m all)" = "mipo/scanner"
	$(GO) test -timeout 20m ./...
	cd scanner && $(GO) test -timeout 10m ./...

## bench: the benchmarks, with their reference (nmap) where there is one
bench: postgres nmap
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...
	cd scanner && $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 20m ./...

## postgres: install the PostgreSQL server (for the embedded database) when it is missing
postgres:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "make: the PostgreSQL server is not installed; installing it with apt-get (mipo's embedded database and the tests need it)"; \
		$(APT) update -q && $(APT) install -y -q postgresql; \
	fi

nmap:
	@command -v nmap >/dev/null 2>&1 || { echo "make: installing nmap with apt-get (the benchmark's reference scanner)"; $(APT) update -q && $(APT) install -y -q nmap; }

clean:
	rm -rf bin
