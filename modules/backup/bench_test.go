package backup

import (
	"context"
	"flag"
	"testing"
	"time"

	"mipo/app/apptest"
)

var benchRows = flag.Int("backup.rows", 1_000_000, "results rows for BenchmarkResultsBackupAndRestore (the issue asks for 10000000)")

// BenchmarkResultsBackupAndRestore backs up and restores a results database of -backup.rows
// observations, and reports rows per second each way and the compressed, encrypted bytes per row:
//
//	go test ./modules/backup -run '^$' -bench ResultsBackupAndRestore -benchtime 1x -backup.rows 10000000
func BenchmarkResultsBackupAndRestore(b *testing.B) {
	ctx := context.Background()
	dbs := apptest.Databases(b)
	// As scans make them: a scan covers many addresses, each job thousands, four scanners.
	_, err := dbs.Results.Exec(ctx, `INSERT INTO observations (observed_at, scan_id, job_id, scanner_id, address, port, rtt_us)
		SELECT now() - interval '30 days' + i * interval '200 ms',
			md5('scan' || i / 200000)::uuid, md5('job' || i / 5000)::uuid, md5('scanner' || i % 4)::uuid,
			'10.0.0.0'::inet + (i / 20), (ARRAY[22, 80, 443, 3389, 8080])[1 + i % 5] + (i / 20) % 3, 50 + i % 900
		FROM generate_series(1, $1) i`, *benchRows)
	if err != nil {
		b.Fatal(err)
	}
	s := newOwnedService(b, dbs)
	b.ResetTimer()
	var backup, restore time.Duration
	var size int64
	for range b.N {
		start := time.Now()
		m, err := s.Create(ctx, KindResults, true)
		if err != nil {
			b.Fatal(err)
		}
		backup += time.Since(start)
		size = m.Size()
		start = time.Now()
		if err := s.Restore(ctx, []string{m.ID}, nil); err != nil {
			b.Fatal(err)
		}
		restore += time.Since(start)
	}
	rows := float64(*benchRows) * float64(b.N)
	b.ReportMetric(rows/backup.Seconds(), "backup-rows/s")
	b.ReportMetric(rows/restore.Seconds(), "restore-rows/s")
	b.ReportMetric(float64(size)/float64(*benchRows), "bytes/row")
	b.ReportMetric(0, "ns/op")
	var n int64
	dbs.Results.QueryRow(ctx, `SELECT count(*) FROM observations`).Scan(&n)
	if n != int64(*benchRows) {
		b.Fatalf("%d observations after restore, want %d", n, *benchRows)
	}
}
