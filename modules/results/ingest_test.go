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
	missing, err := results.MissingBatches(ctx, db, b.JobID, 4)
	if err != nil || len(missing) != 2 || missing[0] != 2 || missing[1] != 4 {
		t.Fatalf("missing %v %v", missing, err)
	}
}
