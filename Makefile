# mipo's build. `make run` and `make test` work on a fresh Debian machine with Go installed:
# whatever they need and do not find (the PostgreSQL server, Node.js packages, Chromium, nmap),
# they install, and say so.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT     := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

export CGO_ENABLED = 0

.PHONY: all build run test test-go test-scanner test-ui test-site test-faults bench bench-scale ui ui-deps site site-deps node chromium postgres nmap iptables nginx clean

all: build

## build: bin/mipo and bin/mipo-scanner, static, version stamped
build:
	$(GO) build -trimpath -ldflags "-s -w -X mipo/app.Version=$(VERSION)" -o bin/mipo .
	cd scanner && $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o ../bin/mipo-scanner .

## run: mipo with every role on the embedded PostgreSQL; the address is printed
run: postgres build
	./bin/mipo serve $(ARGS)

## test: every test: Go (server and scanner), the web UI's unit and browser tests, then the website's
test: postgres
	$(GO) vet ./...
	cd scanner && $(GO) vet ./... && test "$$($(GO) list -m all)" = "mipo/scanner"
	$(GO) test -timeout 20m ./...
	cd scanner && $(GO) test -timeout 10m ./...
	$(MAKE) --no-print-directory test-ui
	$(MAKE) --no-print-directory test-site

## test-ui: the web UI's type check, unit tests (vitest) and browser tests (Playwright driving
## Debian's Chromium against a real `mipo serve` on the embedded PostgreSQL)
test-ui: postgres ui-deps chromium
	cd ui && npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings --output human
	cd ui && npx vitest run
	cd ui && npx playwright test

## test-site: build the website, then check it: every internal link resolves, every UI help file
## has its page, the API reference lists every route of the OpenAPI document, and Debian's
## Chromium walks home -> a feature's docs -> the API reference from a plain static file server
test-site: site chromium
	cd website && npm test

## site: the public website (website/: Astro + Starlight) into website/dist, generated from the UI's
## help files, README.md, docs/*.md and ui/src/api/openapi.json; any static host can serve it.
## Preview: `cd website && npm run preview`. Needs only the npm registry (no remote fonts or images);
## the scripts turn Astro's telemetry off, so building sends nothing anywhere.
site: site-deps
	cd website && npm run build

## site-deps: the website's npm packages (npm ci in website/) when missing or older than the lock
## file. Astro 5 is the newest that runs on Node.js 20 (Astro 6 and later need Node.js 22.12); the
## EBADENGINE warning npm prints for undici concerns Astro's remote-fonts client, which the site never loads.
site-deps: node website/node_modules/.package-lock.json

website/node_modules/.package-lock.json: website/package-lock.json
	@echo "make: installing the website's npm packages with npm ci in website/ (Astro, Starlight, playwright-core; no browser download)"
	cd website && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

## ui: regenerate the API client from the server's OpenAPI document, rebuild ui/dist (embedded by
## ui/embed.go) and stamp it with its sources' hash; commit ui/dist afterwards
ui: ui-deps
	@mkdir -p bin && $(GO) build -o bin/mipo-openapi . && \
	if bin/mipo-openapi openapi > ui/src/api/openapi.json.new 2>/dev/null && grep -q '"openapi"' ui/src/api/openapi.json.new; then \
		mv ui/src/api/openapi.json.new ui/src/api/openapi.json; echo "make: ui/src/api/openapi.json written by \`mipo openapi\`"; \
	else \
		rm -f ui/src/api/openapi.json.new; echo "make: \`mipo openapi\` is not available; keeping the committed ui/src/api/openapi.json"; \
	fi; rm -f bin/mipo-openapi
	cd ui && npx openapi-typescript src/api/openapi.json -o src/api/schema.d.ts
	cd ui && npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings --output human
	cd ui && npx vite build
	cd ui && node scripts/source-hash.mjs --write

## ui-deps: the UI's npm packages (npm ci in ui/) when they are missing or older than the lock file
ui-deps: node ui/node_modules/.package-lock.json

ui/node_modules/.package-lock.json: ui/package-lock.json
	@echo "make: installing the web UI's npm packages with npm ci in ui/ (Svelte, Vite, vitest, Playwright's test runner; no browser download)"
	cd ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

node:
	@command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || { \
		echo "make: the web UI's build and tests need Node.js 20.19 or newer (with npm); found: $$(node --version 2>/dev/null || echo none)"; exit 1; }

## chromium: Debian's Chromium for the browser tests, installed when missing
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "make: Chromium is not installed; installing it with apt-get (the browser tests drive Debian's Chromium, never a downloaded one)"; \
		$(APT) update -q && $(APT) install -y -q chromium; \
	fi

## test-faults: the production topology as processes (one PostgreSQL cluster with the three
## databases, manager, 2 ingest, 2 dispatchers, backup, Debian's nginx as the TLS edge, real
## mipo-scanner processes) and the faults injected into it during running scans, each printing one
## line with its counts, then the load (TestLoad: 1,000 simulated scanners for 10 minutes); about
## 21 minutes. `make test` leaves it out (see README, Operations). Shorten the load with
## MIPO_FAULTS_LOAD_FOR (10m) and MIPO_FAULTS_LOAD_SCANNERS (1000); bound the slow faults with
## MIPO_FAULTS_INGEST_KILLS (20), MIPO_FAULTS_DB_OUTAGE (60s),
## MIPO_FAULTS_EDGE_OUTAGE (30s), MIPO_FAULTS_PHONE_HOME (10m, beside the load); pick faults with RUN='TestFaults/(EndToEnd|KillScanner)$$'.
test-faults: postgres nginx iptables
	MIPO_FAULTS=1 $(GO) test -count=1 -v -timeout 30m -run '$(or $(RUN),.)' ./faults/

## bench: the benchmarks, with their reference (nmap) where there is one. The scanner's engine
## on 127.0.0.1 needs no root; BenchmarkVersusNmap (many hosts, dead space, one host, against
## nmap in the same run) needs root for its private network namespace and skips without it.
bench: postgres nmap iptables
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...
	cd scanner && $(GO) test -run '^$$' -bench 'Loopback' -benchtime 3x -timeout 20m .
	cd scanner && $(GO) test -run '^$$' -bench 'VersusNmap' -benchtime 1x -timeout 40m .

## bench-scale: the results store at the issue's size, once: ingest into an empty store and into
## one holding 100,000,000 observations across a year of weekly partitions (with a plain COPY of
## the same rows in the same run), a diff of two 1,000,000-observation scans, a /16's history,
## a /8's open ports, bytes per observation; then 1,000 simulated scanners streaming into two
## ingest servers for 5 minutes. Long (hours on 2 shared cores); bounded by -timeout.
bench-scale: postgres
	$(GO) test -run '^$$' -bench 'ResultsAtScale' -benchtime 1x -timeout 300m ./modules/ingest/ \
		-mipo.stored 100000000 -mipo.ingest 1000000 -mipo.diff 1000000 -mipo.open 10000000
	$(GO) test -run '^$$' -bench 'ScannerFleet' -benchtime 1x -timeout 30m ./modules/ingest/ -mipo.scanners 1000 -mipo.fleet-for 5m

## postgres: install the PostgreSQL server (for the embedded database) when it is missing
postgres:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "make: the PostgreSQL server is not installed; installing it with apt-get (mipo's embedded database and the tests need it)"; \
		$(APT) update -q && $(APT) install -y -q postgresql; \
	fi

nmap:
	@command -v nmap >/dev/null 2>&1 || { echo "make: installing nmap with apt-get (the benchmark's reference scanner)"; $(APT) update -q && $(APT) install -y -q nmap; }

## iptables: drops and rejects ports inside the benchmark's and tests' private network namespace
iptables:
	@command -v iptables >/dev/null 2>&1 || { echo "make: installing iptables with apt-get (the scanner's benchmark and tests DROP and REJECT ports in their own network namespace)"; $(APT) update -q && $(APT) install -y -q iptables; }

## nginx: Debian's nginx, the edge of the fault suite's topology (run with its own configuration
## and pid file; the package's own service is never started by the tests)
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "make: installing nginx-light with apt-get (the TLS edge of the fault suite's topology)"; $(APT) update -q && $(APT) install -y -q nginx-light; }

clean:
	rm -rf bin website/dist
