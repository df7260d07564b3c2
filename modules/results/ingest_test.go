package results_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app/apptest"
	"mipo/modules/results"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestABatchIsStoredOnce(t *testing.T) {
	db := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	b := results.Batch{JobID: uuid.NewString(), ScanID: uuid.NewString(), ScannerID: uuid.NewString(), Seq: 1,
		Observations: []results.Observation{
			{Address: netip.MustParseAddr("127.0.0.1"), Port: 22, ObservedAt: time.Now(), RTTMicros: 80},
			{Address: netip.MustParseAddr("::1"), Port: 443, ObservedAt: time.Now(), RTTMicros: 90},
		}}
	for i, wantDup := range []bool{false, true, true} {
		dup, err := results.Insert(ctx, db, b, time.Now())
		if err != nil || dup != wantDup {
			t.Fatalf("delivery %d: duplicate %v %v", i+1, dup, err)
		}
	}
	var n int
	db.QueryRow(ctx, `SELECT count(*) FROM observations WHERE job_id = $1`, b.JobID).Scan(&n)
	if n != 2 {
		t.Fatalf("%d observations stored, want 2", n)
	}
	b.Seq = 3
	results.Insert(ctx, db, b, time.Now())
	missing, err := results.MissingBatches(ctx, db, b.JobID, 0, 4)
	if err != nil || len(missing) != 2 || missing[0] != 2 || missing[1] != 4 {
		t.Fatalf("missing %v %v", missing, err)
	}
}

// A job re-queued after a stall numbers its batches from 1 again: the former holder's batch 1
// and the new holder's batch 1 are both kept, each attempt counts its own batches, and a batch
// stored before batches had attempts (attempt 0) counts for any attempt.
func TestBatchesOfEachAttemptAreKept(t *testing.T) {
	db := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	job, scan := uuid.NewString(), uuid.NewString()
	obs := func(port uint16) []results.Observation {
		return []results.Observation{{Address: netip.MustParseAddr("127.0.0.1"), Port: port, ObservedAt: time.Now()}}
	}
	for _, b := range []results.Batch{
		{JobID: job, ScanID: scan, ScannerID: uuid.NewString(), Attempt: 1, Seq: 1, Observations: obs(22)},
		{JobID: job, ScanID: scan, ScannerID: uuid.NewString(), Attempt: 2, Seq: 1, Observations: obs(80)},
	} {
		if dup, err := results.Insert(ctx, db, b, time.Now()); err != nil || dup {
			t.Fatalf("attempt %d batch 1: duplicate %v %v", b.Attempt, dup, err)
		}
	}
	var n int
	db.QueryRow(ctx, `SELECT count(*) FROM observations WHERE job_id = $1`, job).Scan(&n)
	if n != 2 {
		t.Fatalf("%d observations stored, want 2: one attempt's batch hid the other's", n)
	}
	if missing, err := results.MissingBatches(ctx, db, job, 2, 2); err != nil || len(missing) != 1 || missing[0] != 2 {
		t.Fatalf("attempt 2 missing %v %v, want [2]", missing, err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO result_batches (job_id, attempt, batch, scan_id, scanner_id, results, received_at)
		VALUES ($1, 0, 2, $2, $2, 0, now())`, job, scan); err != nil {
		t.Fatal(err)
	}
	if missing, err := results.MissingBatches(ctx, db, job, 2, 2); err != nil || len(missing) != 0 {
		t.Fatalf("a batch from before attempts does not count: missing %v %v", missing, err)
	}
	if dup, err := results.Insert(ctx, db, results.Batch{JobID: job, ScanID: scan, ScannerID: scan, Attempt: 3, Seq: 2, Observations: obs(443)}, time.Now()); err != nil || !dup {
		t.Fatalf("a batch stored before attempts, sent again: duplicate %v %v", dup, err)
	}
}

// The binary COPY that Insert encodes itself stores every column as sent: IPv4 and IPv6
// addresses, times to the microsecond (before and after PostgreSQL's epoch of 2000), ports and
// round-trip times to the ends of their ranges, and the batch's ids.
func TestInsertStoresEveryColumnAsSent(t *testing.T) {
	db := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	b := results.Batch{JobID: uuid.NewString(), ScanID: uuid.NewString(), ScannerID: uuid.NewString(), Seq: 1,
		Observations: []results.Observation{
			{Address: netip.MustParseAddr("10.1.2.3"), Port: 1, ObservedAt: time.Date(2026, 11, 30, 21, 4, 5, 123456789, time.UTC), RTTMicros: 0},
			{Address: netip.MustParseAddr("2001:db8::ff00:42:8329"), Port: 65535, ObservedAt: time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), RTTMicros: 1<<31 - 1},
			{Address: netip.MustParseAddr("255.255.255.255"), Port: 443, ObservedAt: time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC), RTTMicros: 84},
		}}
	if _, err := results.Insert(ctx, db, b, time.Now()); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, `SELECT address, port, observed_at, rtt_us, scan_id::text, scanner_id::text FROM observations
		WHERE job_id = $1 ORDER BY observed_at DESC`, b.JobID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := []results.Observation{b.Observations[0], b.Observations[2], b.Observations[1]}
	n := 0
	for ; rows.Next(); n++ {
		var o results.Observation
		var port int32
		var scan, scanner string
		if err := rows.Scan(&o.Address, &port, &o.ObservedAt, &o.RTTMicros, &scan, &scanner); err != nil {
			t.Fatal(err)
		}
		o.Port = uint16(port)
		w := want[n]
		w.ObservedAt = w.ObservedAt.Truncate(time.Microsecond)
		if o.Address != w.Address || o.Port != w.Port || !o.ObservedAt.Equal(w.ObservedAt) || o.RTTMicros != w.RTTMicros || scan != b.ScanID || scanner != b.ScannerID {
			t.Errorf("row %d: stored %+v %s %s, sent %+v %s %s", n, o, scan, scanner, w, b.ScanID, b.ScannerID)
		}
	}
	if n != len(want) {
		t.Fatalf("%d rows stored, want %d", n, len(want))
	}
}
