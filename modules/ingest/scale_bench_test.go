package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/results"
	"mipo/modules/scanners/scannerstest"
)

// make bench runs these small; make bench-scale runs them at the size.
var (
	scaleStored  = flag.Int("mipo.stored", 1_000_000, "observations already in the store, across a year of weekly partitions (bench-scale: 100000000)")
	scaleIngest  = flag.Int("mipo.ingest", 200_000, "results posted through the HTTP API per ingest measurement")
	scaleDiffOf  = flag.Int("mipo.diff", 100_000, "observations in each of the two diffed scans (bench-scale: 1000000)")
	scaleOpen    = flag.Int("mipo.open", 1_000_000, "ports open now under 10.0.0.0/8, in the open-now table")
	scaleOnly    = flag.String("mipo.only", "", "measure only this part: ingest (ingest and COPY) or diff (the diff); both skip the history and current-open reads")
	scalePerPost = 5000
)

// BenchmarkResultsAtScale measures, in one run: ingest through the HTTP API into an empty store
// and into one already holding -mipo.stored observations across a year of weekly partitions,
// and a plain COPY of the same rows into that same table (the ratios are the point), each with
// the CPU it took per row; then,
// inside the full store, a diff of two scans of -mipo.diff observations (whole, and its first
// page) with the time to keep open now at the second (a rescan), the newest page of one /16's
// history over the last 30 days, a page of the ports open now in a /8 from the open-now table,
// and bytes on disk per observation (tables and indexes).
// Run it once: the store is built by the run.
//
//	go test -run '^$' -bench ResultsAtScale -benchtime 1x -timeout 60m ./modules/ingest/
//	go test -run '^$' -bench ResultsAtScale -benchtime 1x -timeout 600m ./modules/ingest/ -mipo.stored 100000000 -mipo.diff 1000000
//	go test -run '^$' -bench ResultsAtScale -benchtime 1x -timeout 60m ./modules/ingest/ -mipo.only diff -mipo.diff 1000000
//	go test -run '^$' -bench ResultsAtScale -benchtime 1x -timeout 60m ./modules/ingest/ -mipo.only ingest -mipo.stored 2000000
func BenchmarkResultsAtScale(b *testing.B) {
	for b.Loop() {
		ctx := context.Background()
		full := ingestStore(b)
		start := time.Now()
		prefill(b, full, *scaleStored)
		b.Logf("%d observations across a year loaded in %s", *scaleStored, time.Since(start).Round(time.Second))
		if *scaleOnly != "diff" {
			measureIngest(b, full)
		}
		if *scaleOnly == "ingest" {
			continue
		}
		measureDiff(b, full)
		if *scaleOnly == "diff" {
			continue
		}

		t := time.Now()
		page, err := results.History(ctx, full.pool, results.HistoryQuery{Subnet: "10.42.0.0/16", From: time.Now().AddDate(0, 0, -30).Format(time.RFC3339), Limit: 100})
		if err != nil || len(page.Items) == 0 {
			b.Fatalf("history: %d rows %v", len(page.Items), err)
		}
		b.ReportMetric(float64(time.Since(t).Microseconds())/1000, "history16-30d-ms")

		t = time.Now()
		open, err := results.OpenNowOf(ctx, full.pool, results.OpenScope{Query: results.OpenQuery{Subnet: "10.0.0.0/8"}}, []results.ScanRef{openScan},
			app.List{Sort: "address", Limit: 1000})
		if err != nil || len(open.Items) != 1000 {
			b.Fatalf("open now: %d %v", len(open.Items), err)
		}
		b.ReportMetric(float64(time.Since(t).Microseconds())/1000, "open8-page-ms")

		var bytes, rows float64
		if err := full.pool.QueryRow(ctx, `SELECT sum(pg_total_relation_size(relid)), (SELECT count(*) FROM observations) FROM pg_partition_tree('observations')`).Scan(&bytes, &rows); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(bytes/rows, "bytes/observation")
		b.Logf("observations: %.0f rows, %.0f MB with indexes", rows, bytes/1e6)
	}
}

// store is a fresh mipo (ingest and all) on its own databases, with 4 scanners each holding a
// leased job over 10.0.0.0/8, all ports.
type store struct {
	pool    app.ResultsDB
	owner   app.ResultsDB // the tables' owner: only it may VACUUM them (mipo's role is skipped with a warning)
	url     string
	streams []*benchStream
}

type benchStream struct {
	key, job, scanner string
	next              int
}

func ingestStore(b *testing.B) *store {
	dbs := apptest.Databases(b)
	srv := apptest.Start(b, scannerstest.Config(b, dbs, nil), dbs, app.Options{})
	owner := rbactest.Owner(b, srv)
	targets, _ := netset.Parse("10.0.0.0/8")
	s := &store{pool: srv.App.DB.ResultsDB(), owner: dbs.Owner(b).ResultsDB(), url: srv.URL}
	for i := range 4 {
		tok := scannerstest.Provision(b, owner, nil)
		reg := scannerstest.Register(b, srv.URL, tok.Secret, fmt.Sprintf("scale-%d", i))
		ids, err := jobs.Create(context.Background(), srv.App.DB.Jobs, time.Now(), jobs.New{ScanID: uuid.Must(uuid.NewV7()).String(), Kind: jobs.KindVantage,
			ScannerID: reg.ScannerID, Targets: targets, Ports: portset.All(), TimeoutMS: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if r := scannerstest.Scanner(b, srv.URL, reg.APIKey).Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0}); r.Status != 200 {
			b.Fatalf("lease: %d %s", r.Status, r.Body)
		}
		s.streams = append(s.streams, &benchStream{key: reg.APIKey, job: ids[0], scanner: reg.ScannerID})
	}
	return s
}

// batchBody is one batch of results: distinct addresses of 10.0.0.0/8 (offset per batch).
func batchBody(seq, offset int) []byte {
	rs := make([]map[string]any, scalePerPost)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range rs {
		a := offset + i
		rs[i] = map[string]any{"address": fmt.Sprintf("10.%d.%d.%d", a>>16&255, a>>8&255, a&255), "port": 1 + a%65535, "observed_at": at, "rtt_us": 84}
	}
	body, _ := json.Marshal(map[string]any{"batch": seq, "results": rs})
	return body
}

// batchBodies is n results in batches (4 at least), made before any clock starts.
func batchBodies(n int) [][]byte {
	bodies := make([][]byte, max(n/scalePerPost, 4))
	for i := range bodies {
		bodies[i] = batchBody(0, (i*scalePerPost)%(1<<24))
	}
	return bodies
}

// postAll posts the batches from the 4 streams at once, batch i by stream i%4, and returns
// results/s.
func (s *store) postAll(b *testing.B, bodies [][]byte) float64 {
	var wg sync.WaitGroup
	errs := make(chan error, len(s.streams))
	start := time.Now()
	for i, st := range s.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for j := i; j < len(bodies); j += len(s.streams) {
				st.next++
				// The batch number goes in front: {"batch":N,... replaces {"batch":0,...
				body := bytes.Replace(bodies[j], []byte(`"batch":0`), fmt.Appendf(nil, `"batch":%d`, st.next), 1)
				req, _ := http.NewRequest(http.MethodPost, s.url+"/scanner/v1/jobs/"+st.job+"/results", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+st.key)
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- fmt.Errorf("batch %d: %d", st.next, res.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(len(bodies)*scalePerPost) / elapsed.Seconds()
}

// copyRows COPYs n rows like a batch's (same columns, same batch size, 4 at once) straight into
// observations, and returns rows/s: what the database alone can take, measured against the same
// table. Each COPY is the binary one ingest sends (results.CopyObservations), encoded before
// the clock starts, so the figure is the database's own work.
func copyRows(b *testing.B, pool app.ResultsDB, n int) float64 {
	ctx := context.Background()
	batches := max(n/scalePerPost, 4)
	next := make(chan []byte, batches)
	scan, scanner, now := uuid.NewString(), uuid.NewString(), time.Now()
	var sql string
	for i := range batches {
		obs := make([]results.Observation, scalePerPost)
		for j := range obs {
			a := (i*scalePerPost + j) % (1 << 24)
			obs[j] = results.Observation{Address: netip.AddrFrom4([4]byte{10, byte(a >> 16), byte(a >> 8), byte(a)}), Port: uint16(1 + a%65535), ObservedAt: now, RTTMicros: 84}
		}
		var data []byte
		var err error
		if sql, data, err = results.CopyObservations(results.Batch{JobID: uuid.NewString(), ScanID: scan, ScannerID: scanner, Observations: obs}); err != nil {
			b.Fatal(err)
		}
		next <- data
	}
	close(next)
	var wg sync.WaitGroup
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pool.Pool().Acquire(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Release()
			for data := range next {
				if _, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), sql); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(batches*scalePerPost) / time.Since(start).Seconds()
}

// measureCPU returns a function that runs a measurement of n rows and returns the CPU it used
// per row, in µs: this process's and that of every process of the database cluster (the
// postmaster's children, read from /proc). 0 where /proc cannot tell.
func measureCPU(b *testing.B, pool app.ResultsDB) func(f func()) float64 {
	var backend int
	if err := pool.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	postmaster := procField(backend, 3)
	cluster := func() (total time.Duration) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil && (pid == postmaster || procField(pid, 3) == postmaster) {
				total += time.Duration(procField(pid, 13)+procField(pid, 14)) * 10 * time.Millisecond // clock ticks: 100 a second
			}
		}
		return total
	}
	self := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return func(f func()) float64 {
		c0, s0 := cluster(), self()
		f()
		used := cluster() - c0 + self() - s0
		if postmaster == 0 {
			return 0
		}
		return float64(used.Microseconds()) / float64(max(*scaleIngest/scalePerPost, 4)*scalePerPost)
	}
}

// procField is field i (from 0) of /proc/pid/stat after the command's name; 0 when unreadable.
func procField(pid, i int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	fields := strings.Fields(rest)
	if i-2 >= len(fields) {
		return 0
	}
	n, _ := strconv.Atoi(fields[i-2])
	return n
}

// prefill loads n observations spread over the last year (weekly partitions made first), in
// chunks of 5,000,000 rows generated by the database itself, and open now (fillOpen).
func prefill(b *testing.B, s *store, n int) {
	ctx := context.Background()
	pool := s.pool
	now := time.Now()
	if _, err := results.EnsurePartitions(ctx, pool, now.AddDate(-1, 0, -7), now.Add(results.PartitionsAhead)); err != nil {
		b.Fatal(err)
	}
	const chunk = 5_000_000
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		// Scans of 1,000,000 observations by one of 10 scanners, jobs of 10,000; times spread
		// over 365 days; addresses scattered over 10.0.0.0/8.
		if _, err := pool.Exec(ctx, `INSERT INTO observations (observed_at, port, rtt_us, scan_id, scanner_id, job_id, address)
			SELECT now() - (g % 525600) * interval '1 minute', 1 + g % 1000, 100, md5('scan' || g / 1000000)::uuid,
			       md5('scanner' || g % 10)::uuid, md5('job' || g / 10000)::uuid, '10.0.0.0'::inet + (g::bigint * 2654435761 % 16777216)
			FROM generate_series($1::bigint, $2::bigint - 1) g`, lo, hi); err != nil {
			b.Fatal(err)
		}
	}
	s.vacuum(b, "observations")
	fillOpen(b, s, *scaleOpen)
	// The load's dirty pages are written out now, not by a checkpoint that would otherwise fall
	// in the middle of the ingest measurements and be counted against them. (A superuser's
	// command: mipo's own role may not.)
	conn, err := pgx.Connect(ctx, apptest.SuperuserDSN("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
		b.Fatal(err)
	}
}

func fillScan(b *testing.B, pool app.ResultsDB, scan, scanner string, n int, at time.Time, port string) {
	_, err := pool.Exec(context.Background(), `INSERT INTO observations (observed_at, port, rtt_us, scan_id, scanner_id, job_id, address)
		SELECT $5::timestamptz + (g % 3600) * interval '1 second', `+port+`, 100, $1, $2, $3, '10.0.0.0'::inet + g / 10
		FROM generate_series(0, $4 - 1) g`, scan, scanner, uuid.NewString(), n, at)
	if err != nil {
		b.Fatal(err)
	}
}

// openScan is the scan open now is kept at by fillOpen: the first of prefill's scans, under a
// template of its own.
var openScan = results.ScanRef{ID: "2f1f1d1c-0000-4000-8000-000000000001", TemplateID: "2f1f1d1c-0000-4000-8000-000000000002", At: time.Now()}

// fillOpen gives open now n open ports under 10.0.0.0/8, seen by 10 scanners, kept at
// openScan, whose observations lie in the last day (its rows' last seen are looked up there).
func fillOpen(b *testing.B, s *store, n int) {
	ctx := context.Background()
	_, err := s.pool.Exec(ctx, `INSERT INTO open_now (first_seen, port, template_id, scanner_id, address)
		SELECT now() - interval '30 days', 1 + g % 3, $2, md5('scanner' || g % 10)::uuid, '10.0.0.0'::inet + g / 3
		FROM generate_series(0, $1 - 1) g`, n, openScan.TemplateID)
	if err != nil {
		b.Fatal(err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO open_now_scans (template_id, scan_id, finished_at, first_observed, last_observed, kept_at)
		VALUES ($1, $2, now(), now() - interval '1 day', now(), now())`, openScan.TemplateID, openScan.ID)
	if err != nil {
		b.Fatal(err)
	}
	s.vacuum(b, "open_now")
}

// measureIngest posts results into an empty store and into full, and COPYs the same rows.
func measureIngest(b *testing.B, full *store) {
	empty := ingestStore(b)
	// Each rate comes with the CPU it took, this process's (client and server) and the
	// database's: on a machine shared with other work the rate moves with the load, the CPU per
	// row much less.
	var emptyRate, fullRate, copyRate float64
	cpu := measureCPU(b, full.pool)
	bodies := batchBodies(*scaleIngest)
	b.ReportMetric(cpu(func() { emptyRate = empty.postAll(b, bodies) }), "empty-cpu-µs/result")
	b.ReportMetric(cpu(func() { fullRate = full.postAll(b, bodies) }), "full-cpu-µs/result")
	b.ReportMetric(cpu(func() { copyRate = copyRows(b, full.pool, *scaleIngest) }), "copy-cpu-µs/row")
	b.ReportMetric(emptyRate, "empty-results/s")
	b.ReportMetric(fullRate, "full-results/s")
	b.ReportMetric(copyRate, "copy-rows/s")
	b.ReportMetric(fullRate/emptyRate, "full/empty")
	b.ReportMetric(fullRate/copyRate, "full/copy")
}

// measureDiff diffs two scans of -mipo.diff observations each, of the same addresses with 1% of
// ports moved, launched a day ago: whole from their observations (as while they run), then
// whole and its first page from their key sets (as once they completed), with the time to make
// a key set and to keep open now (once per scan, at its completion).
func measureDiff(b *testing.B, full *store) {
	ctx := context.Background()
	scanner, a, c := uuid.NewString(), uuid.NewString(), uuid.NewString()
	launched := time.Now().Add(-24 * time.Hour)
	n := *scaleDiffOf
	fillScan(b, full.pool, a, scanner, n, launched, `1 + g % 10`)
	fillScan(b, full.pool, c, scanner, n, launched.Add(time.Hour), `CASE WHEN g % 100 = 0 THEN 101 + g % 10 ELSE 1 + g % 10 END`)
	for _, s := range []string{a, c} {
		cov, _ := netset.Parse("10.0.0.0/8")
		if err := results.RecordCoverage(ctx, full.pool, results.Coverage{JobID: uuid.NewString(), ScanID: s, ScannerID: scanner, Targets: cov,
			Ports: portset.MustParse("1-200"), Status: "done", CompletedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	full.vacuum(b, "observations")
	// First as while the scans run (or just completed): read from their observations.
	whole := func(metric string) {
		t := time.Now()
		d, err := results.DiffPage(ctx, full.pool, results.DiffRequest{From: a, To: c, ByScanner: true})
		if err != nil || len(d.Opened) != n/100 || len(d.Closed) != n/100 {
			b.Fatalf("diff: %d opened, %d closed, %v", len(d.Opened), len(d.Closed), err)
		}
		b.ReportMetric(float64(time.Since(t).Milliseconds()), metric)
	}
	whole("diff-running-ms")
	// Then as every diff of completed scans: each scan's key set made once, as its completion
	// does, and read by the diff.
	t := time.Now()
	for _, s := range []string{a, c} {
		if k, err := results.MakeKeySet(ctx, full.pool, s); err != nil || k != n {
			b.Fatalf("key set of %d keys: %v", k, err)
		}
	}
	b.ReportMetric(float64(time.Since(t).Milliseconds())/2, "keyset-make-ms")
	whole("diff-whole-ms")
	// Open now kept at each scan's completion, as its template's latest: at the first, every
	// port new; at the second, a rescan, only the 1% that moved written.
	tmpl := uuid.NewString()
	for i, s := range []string{a, c} {
		t := time.Now()
		ref := results.ScanRef{ID: s, TemplateID: tmpl, At: launched.Add(time.Duration(i) * time.Hour)}
		if _, err := results.OpenNowOf(ctx, full.pool, results.OpenScope{}, []results.ScanRef{ref}, app.List{Sort: "address", Limit: 1}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(t).Milliseconds()), []string{"open-now-first-ms", "open-now-rescan-ms"}[i])
	}
	t = time.Now()
	if _, err := results.DiffPage(ctx, full.pool, results.DiffRequest{From: a, To: c, ByScanner: true, Limit: 1000}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t).Microseconds())/1000, "diff-page-ms")
}

// vacuum VACUUMs and ANALYZEs a table as its owner, so its pages are all-visible and its
// statistics current, as autovacuum leaves a table that has settled.
func (s *store) vacuum(b *testing.B, table string) {
	if _, err := s.owner.Exec(context.Background(), `VACUUM ANALYZE `+table); err != nil {
		b.Fatal(err)
	}
}
