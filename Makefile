# wsrelay — the two commands users need are `make run` and `make test`.
NODE ?= node
NPM ?= npm

.PHONY: all install build run test bench faults clean

all: build

# Install dependencies when node_modules is missing or older than the lock file.
node_modules/.installed: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

build: install
	$(NPM) run --silent build

# Starts the relay on its embedded default: tcp 127.0.0.1:5170 -> websocket 127.0.0.1:9000,
# with the bundled sink listening on 9000 and printing what it receives.
run: build
	$(NODE) dist/src/cli.js

# Builds, lints and checks the import layers side by side, then runs the suite (docs/CONTRIBUTING.md).
test: install
	$(NPM) run --silent test

bench: build
	$(NODE) dist/load/bench.js $(BENCH_ARGS)

# Every fault scenario at full length (about 3 minutes; the disk-full one needs root to mount a
# tmpfs): prints records sent / acknowledged / delivered / duplicated / lost per scenario and
# fails if an acknowledged record was lost. Short variants run in `make test`.
faults: build
	$(NODE) dist/load/faults.js $(FAULTS_ARGS)

clean:
	rm -rf dist node_modules
