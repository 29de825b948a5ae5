# n4ws: build, test, lint, benchmark and demo. `make help` lists the targets.
GO      ?= go
GOFMT   ?= $(shell $(GO) env GOROOT)/bin/gofmt
N4WS    := bin/n4ws
DEMO    := $(CURDIR)/demo
DEMO_WS := $(DEMO)/workspace

.PHONY: help build test test-team tidy conformance lint fuzz fuzz-ci bench bench-go demo demo-stop clean crash

help:
	@echo "make build      build $(N4WS)"
	@echo "make test       go mod tidy check, go vet, layering check, go test -race"
	@echo "make test-team  the integration suite's core on a team store (PostgreSQL + S3 test servers)"
	@echo "make tidy       check that go.mod and go.sum (both modules) are tidy"
	@echo "make conformance  pjdfstest and fsx on a real mount (root; docs/RELIABILITY.md)"
	@echo "make lint       layering check and gofmt"
	@echo "make fuzz       every fuzz target for FUZZTIME each (default 10m); make fuzz-ci: 10s each (part of make test)"
	@echo "make crash      crash matrix, concurrency, full-disk and hostile-input tests, long (N4WS_CRASH_POINTS, N4WS_CRASH_SEED)"
	@echo "make bench      mount vs native benchmark, written to docs/BENCH.md (BENCH_SIZE_MB, BENCH_FILES shrink it)"
	@echo "make bench-go   Go benchmarks of backing/ and vfs/"
	@echo "make demo       mount a demo store at demo/workspace; make demo-stop unmounts it"
	@echo "make clean      remove bin/ and demo/"

build:
	$(GO) build -o $(N4WS) ./cmd/n4ws

# integration/duckdb is a module of its own (DuckDB is large and cgo): it reads
# the catalog's Parquet files with an independent reader.
test: tidy
	$(GO) vet ./...
	bash .ci/layering.sh
	cd integration/duckdb && $(GO) vet ./... && $(GO) test -count=1 -timeout 20m .
	$(GO) test -race -count=1 -timeout 30m ./...
	N4WS_TEST_STORE=team $(GO) test -race -count=1 -timeout 10m -run '$(TEAM_SAMPLE)' ./integration
	$(MAKE) fuzz-ci

# The integration suite's core on a team store: N4WS_TEST_STORE=team makes
# newStore create a team store (PostgreSQL index, S3 blobs) on throwaway
# servers (backing/backingtest; .ci/run installs them). TEAM_TESTS lists the
# tests of the POSIX tools, cp/tar/rsync, catalog, library, reports, trash and
# nirs4all's live projection (the stand-in at the mount root) that pass that
# way. Left out: TestRmRfLargeTree (cp -r of its tree takes over a minute at a
# PostgreSQL transaction per create and close: past its time limit); tests
# that open index.db or blobs/ directly (a team store has neither); and the
# suites outside this core, not tried on a team store (crash, hostile input,
# concurrency, full disk, conformance, the other tests of nirs4all's native
# files; TestLiveTeamStore starts its own team store). TEAM_SAMPLE, a short
# sample (about 80 s with -race on the 2-core test machine), runs in make test.
TEAM_POSIX := TestPosix|TestPythonOps|TestRenameat2|TestSignalsDoNotFailIO|TestCpA|TestTar|TestRsync|TestMv|TestDDTruncate
TEAM_TRASH_REPORTS := TestTrashRmRfPipelineRestore|TestTrashDatasetRunsDeleteAndGC|TestReportsInBrowser|TestReportChartPNGs|TestReportsFollowCatalog
TEAM_LIBRARY := TestLibrarySaveShowImport|TestArchiveReadOnlyAndForget|TestImportRefusesBadZips|TestRunsListDeleteArchive|TestExportImportBetweenStores|TestLibraryFullrunWithData|TestLibrarySaveInterrupted
TEAM_CATALOG := TestCatalogBestAtOnce|TestCatalogBestMovesAndArchives|TestExportsPerModel|TestXattrsOfPipelines|TestStatusBadInput|TestNextIDAndUniqueNumbers|TestConfigBestRule|TestCatalogDeterministic|TestStatusWithoutMount|TestCatalogBestOneMetric|TestCatalogArchiveNames|TestCatalogParquetValues|TestSeedQueriesDemo|TestSeedQueriesFailedMalformed
TEAM_LIVE := TestLiveProjection|TestLiveConcurrentRunsCatalogDelete|TestLiveLegacyCheck|TestLiveCatalogSurfaces|TestLiveLibraryExportSameBlobs|TestLiveDroppedArtifactsLeaveBinaries
TEAM_TESTS := ^($(TEAM_POSIX)|$(TEAM_TRASH_REPORTS)|$(TEAM_LIBRARY)|$(TEAM_CATALOG)|$(TEAM_LIVE))$$
TEAM_SAMPLE := ^(TestPosix|TestCatalogBestAtOnce|TestLibrarySaveShowImport)$$
test-team:
	N4WS_TEST_STORE=team $(GO) test -race -count=1 -timeout 60m -run '$(TEAM_TESTS)' ./integration

# Fuzz targets run one at a time (go test -fuzz takes one); seeds and crashers found
# live in <package>/testdata/fuzz/FuzzX/ and run with every plain go test too.
fuzz-ci:
	FUZZTIME=$${FUZZTIME:-10s} bash .ci/fuzz.sh

fuzz:
	FUZZTIME=$${FUZZTIME:-10m} bash .ci/fuzz.sh

# go.mod lists what the code imports, direct dependencies as direct. -diff changes
# nothing and fails on a difference; with a warm module cache it works offline
# (GOPROXY=off), as tidy reads only modules already downloaded.
tidy:
	$(GO) mod tidy -diff
	cd integration/duckdb && $(GO) mod tidy -diff

# pjdfstest (all 8798 subtests) and fsx (100,000 operations) against a real
# mount, about 3 minutes; part of `make test` too. Needs root, gcc, make,
# autoconf, automake and ../shared/conformance (or N4WS_CONFORMANCE_DIR).
conformance:
	CI=true $(GO) test -count=1 -timeout 20m -run '^TestConformance$$' -v ./integration

lint:
	bash .ci/layering.sh
	@out=$$(find . \( -path ./.git -o -path ./demo -o -path ./bin \) -prune -o -name '*.go' -print | xargs -r $(GOFMT) -l); \
	if [ -n "$$out" ]; then echo "gofmt -l lists:"; echo "$$out"; exit 1; fi

# The long run of the reliability tests: 20 kill points per crash scenario
# (CI runs 2) and the concurrency and full-disk tests. The seed of each
# scenario is logged; N4WS_CRASH_SEED=<seed> replays a failure.
N4WS_CRASH_POINTS ?= 20
crash:
	@N4WS_CRASH_POINTS=$(N4WS_CRASH_POINTS) N4WS_CONCURRENT_EACH=100 N4WS_SPARSE_GB=10 \
		$(GO) test -race -count=1 -timeout 120m -v \
		-run 'TestCrash|TestConcurrent|TestFullDisk|TestHostile' ./integration/ > crash.log 2>&1; \
	status=$$?; grep -E '^\s*(--- |ok|FAIL)|kills|crash plan|writers|took|reads during' crash.log; \
	echo "full log: crash.log"; exit $$status

# The driver and the client are built, not `go run`, so that Ctrl-C reaches the driver
# directly and its cleanup (unmount) runs. A run without errors writes its tables, the
# machine and the date to $(BENCH_OUT) (the README links docs/BENCH.md); BENCH_OUT= writes
# no file (a partial run, e.g. BENCH_ONLY=sqlite, that should not replace the record).
BENCH_OUT ?= docs/BENCH.md
bench: build
	$(GO) build -o bin/fsload ./integration/bench/fsload
	$(GO) build -o bin/parquetw ./integration/testdata/nirs4all_standin/parquetw
	$(GO) build -o bin/n4ws-bench ./integration/bench
	bin/n4ws-bench -n4ws $(N4WS) -fsload bin/fsload -parquetw bin/parquetw -out '$(BENCH_OUT)'

# Lists the packages first: `go test` fails on a folder with no Go files yet.
bench-go:
	@pkgs=$$($(GO) list ./backing/... ./vfs/... 2>/dev/null); \
	if [ -z "$$pkgs" ]; then echo "bench-go: no packages in backing/ or vfs/ yet"; exit 0; fi; \
	$(GO) test -run '^$$' -bench . -benchmem $$pkgs

# demo/go.mod makes `./...` (vet, test, go list) skip demo/ and never walk the mounted workspace.
demo: build
	@mkdir -p $(DEMO) && printf 'module demo\n' > $(DEMO)/go.mod
	$(N4WS) --store $(DEMO)/store init
	$(N4WS) --store $(DEMO)/store demo
	@if mountpoint -q $(DEMO_WS); then echo "already mounted: $(DEMO_WS)"; \
	else $(N4WS) --store $(DEMO)/store mount $(DEMO_WS); fi
	@ds=$$(ls $(DEMO_WS)/runs | head -n 1); p=$$(ls $(DEMO_WS)/runs/$$ds | grep -m 1 '^[0-9]'); \
	echo; echo "Mounted at $(DEMO_WS). Try:"; \
	echo "  ls $(DEMO_WS)/runs/$$ds | head"; \
	echo "  ls -l $(DEMO_WS)/runs/$$ds/$$p"; \
	echo "  cat $(DEMO_WS)/runs/$$ds/$$p/metrics.json"; \
	echo "  cat $(DEMO_WS)/runs/$$ds/best_*.csv | head     # computed: the dataset's best pipeline"; \
	echo "  ls -R $(DEMO_WS)/exports $(DEMO_WS)/catalog"; \
	echo "  xdg-open $(DEMO_WS)/exports/session_reports/$$ds.html    # or any browser: a self-contained report"; \
	echo "  duckdb -c \"SELECT dataset, pipeline, rmse FROM '$(DEMO_WS)/catalog/predictions.parquet' QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY rmse) = 1\""; \
	echo "  python3 -c \"import polars as pl; print(pl.read_parquet('$(DEMO_WS)/catalog/predictions.parquet').sort('rmse').head())\""; \
	echo "  $(N4WS) --store $(DEMO)/store stats"; \
	echo "Stop with: make demo-stop"

demo-stop:
	@if mountpoint -q $(DEMO_WS); then $(N4WS) --store $(DEMO)/store umount $(DEMO_WS); \
	else echo "not mounted: $(DEMO_WS)"; fi

# Unmount first: rm -rf through a live mount would delete the demo store's files via FUSE.
clean: demo-stop
	rm -rf --one-file-system bin demo
