package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func target(t *testing.T, s string) netset.Set {
	set, err := netset.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func TestPoolJobsAreLeasedOnceAcrossRacingScanners(t *testing.T) {
	db := apptest.Databases(t).Jobs
	ctx := context.Background()
	scan := uuid.NewString()
	pool := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	var news []jobs.New
	for i := 0; i < 30; i++ {
		news = append(news, jobs.New{ScanID: scan, Kind: jobs.KindPool, Pool: pool, Seq: i, Targets: target(t, "127.0.0.1"), Ports: portset.MustParse("22"), TimeoutMS: 500})
	}
	if _, err := jobs.Create(ctx, db, t0, news...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]string{}
	var wg sync.WaitGroup
	for _, s := range pool {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, err := jobs.Lease(ctx, db, s, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if j == nil {
					return
				}
				mu.Lock()
				if prev, dup := got[j.ID]; dup {
					t.Errorf("job %d leased by %s and %s", j.Seq, prev, s)
				}
				got[j.ID] = s
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 30 {
		t.Fatalf("%d of 30 jobs leased", len(got))
	}
	if j, _ := jobs.Lease(ctx, db, uuid.NewString(), t0); j != nil {
		t.Fatal("a scanner outside the pool leased a job")
	}
}

func TestVantageJobStallsRequeuesToTheSameScannerAndFailsAfterItsTries(t *testing.T) {
	db := apptest.Databases(t).Jobs
	ctx := context.Background()
	scanner := uuid.NewString()
	ids, err := jobs.Create(ctx, db, t0, jobs.New{ScanID: uuid.NewString(), Kind: jobs.KindVantage, ScannerID: scanner,
		Targets: target(t, "127.0.0.0/30"), Ports: portset.MustParse("1-100"), TimeoutMS: 500, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := jobs.Lease(ctx, db, uuid.NewString(), t0); j != nil {
		t.Fatal("another scanner leased a vantage job")
	}
	window := func(*jobs.Job) time.Duration { return time.Minute }
	for attempt := 1; attempt <= 2; attempt++ {
		j, err := jobs.Lease(ctx, db, scanner, t0)
		if err != nil || j == nil || j.ID != ids[0] || j.Attempts != attempt {
			t.Fatalf("attempt %d: lease %+v %v", attempt, j, err)
		}
		if _, err := jobs.ReportProgress(ctx, db, j.ID, scanner, jobs.Progress{HostsDone: 1, PortsProbed: 100}, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		stalled, _ := jobs.Stalled(ctx, db, t0.Add(30*time.Second), window)
		if len(stalled) != 0 {
			t.Fatal("a job stalled inside its window")
		}
		stalled, _ = jobs.Stalled(ctx, db, t0.Add(2*time.Minute), window)
		if len(stalled) != 1 {
			t.Fatalf("attempt %d: %d stalled jobs", attempt, len(stalled))
		}
		status, err := jobs.Requeue(ctx, db, stalled[0], "no progress", t0.Add(2*time.Minute))
		want := jobs.Queued
		if attempt == 2 {
			want = jobs.Failed
		}
		if err != nil || status != want {
			t.Fatalf("attempt %d: requeue gave %s %v, want %s", attempt, status, err, want)
		}
		// The stalled scanner's late reports are refused: the job is no longer its own.
		if _, err := jobs.ReportProgress(ctx, db, j.ID, scanner, jobs.Progress{}, t0.Add(3*time.Minute)); err != jobs.ErrGone {
			t.Fatalf("a late report after requeue: %v", err)
		}
	}
	st, _ := jobs.StateOf(ctx, db, (func() string { j, _ := jobs.Get(ctx, db, ids[0]); return j.ScanID })())
	if !st.Finished() || st.Failed != 1 {
		t.Fatalf("state %+v", st)
	}
}

func TestCompleteAndCancel(t *testing.T) {
	db := apptest.Databases(t).Jobs
	ctx := context.Background()
	scan, scanner := uuid.NewString(), uuid.NewString()
	_, err := jobs.Create(ctx, db, t0,
		jobs.New{ScanID: scan, Kind: jobs.KindVantage, ScannerID: scanner, Seq: 0, Targets: target(t, "::1"), Ports: portset.MustParse("80"), TimeoutMS: 500},
		jobs.New{ScanID: scan, Kind: jobs.KindVantage, ScannerID: scanner, Seq: 1, Targets: target(t, "127.0.0.1"), Ports: portset.MustParse("80"), TimeoutMS: 500})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := jobs.Lease(ctx, db, scanner, t0)
	if err := jobs.CancelScan(ctx, db, scan, t0); err != nil {
		t.Fatal(err)
	}
	cancel, err := jobs.ReportProgress(ctx, db, j.ID, scanner, jobs.Progress{HostsDone: 1}, t0)
	if err != nil || !cancel {
		t.Fatalf("a running job of a cancelled scan must be told to stop: %v %v", cancel, err)
	}
	if _, err := jobs.Complete(ctx, db, j.ID, uuid.NewString(), jobs.Completion{Status: jobs.Done}, t0); err != jobs.ErrGone {
		t.Fatalf("another scanner completed the job: %v", err)
	}
	done, err := jobs.Complete(ctx, db, j.ID, scanner, jobs.Completion{Status: jobs.Cancelled, HostsDone: 1, Batches: 0}, t0)
	if err != nil || done.Status != jobs.Cancelled {
		t.Fatal(done, err)
	}
	st, _ := jobs.StateOf(ctx, db, scan)
	if !st.Finished() || st.Cancelled != 2 {
		t.Fatalf("state %+v", st)
	}
}

// What the scans and scanners modules read of the jobs table, each in one query: the jobs each
// scanner holds, each scan's completion, and failing what nobody took in time.
func TestReadsForOtherModules(t *testing.T) {
	db := apptest.Databases(t).Jobs
	ctx := context.Background()
	scan, other := uuid.NewString(), uuid.NewString()
	a, b, idle := uuid.NewString(), uuid.NewString(), uuid.NewString()
	var news []jobs.New
	for i, s := range []string{a, b, a} {
		news = append(news, jobs.New{ScanID: scan, Kind: jobs.KindPool, Pool: []string{s}, Seq: i, Targets: target(t, "127.0.0.1"), Ports: portset.MustParse("22"), TimeoutMS: 500})
	}
	news = append(news, jobs.New{ScanID: other, Kind: jobs.KindPool, Pool: []string{idle}, Seq: 0, Targets: target(t, "127.0.0.1"), Ports: portset.MustParse("22"), TimeoutMS: 500})
	if _, err := jobs.Create(ctx, db, t0, news...); err != nil {
		t.Fatal(err)
	}
	leased := map[string][]string{}
	for _, s := range []string{a, a, b} {
		j, err := jobs.Lease(ctx, db, s, t0.Add(time.Minute))
		if err != nil || j == nil {
			t.Fatalf("lease for %s: %v %v", s, j, err)
		}
		leased[s] = append(leased[s], j.ID)
	}
	active, err := jobs.ActiveByScanner(ctx, db, []string{a, b, idle})
	if err != nil {
		t.Fatal(err)
	}
	if len(active[a]) != 2 || len(active[b]) != 1 || active[b][0] != leased[b][0] || active[idle] == nil || len(active[idle]) != 0 {
		t.Fatalf("active jobs by scanner: %v (leased %v)", active, leased)
	}
	if _, err := jobs.ReportProgress(ctx, db, leased[b][0], b, jobs.Progress{HostsDone: 1, PortsProbed: 1}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	done, err := jobs.ScanCompletion(ctx, db, []string{scan, other, uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	if done[scan] <= 0 || done[scan] >= 100 || done[other] != 0 {
		t.Fatalf("completion: %v", done)
	}
	n, err := jobs.FailUnclaimed(ctx, db, t0.Add(time.Second), "nobody took it", t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("failed %d unclaimed jobs (%v), want only the other scan's queued one", n, err)
	}
	if st, _ := jobs.StateOf(ctx, db, other); st.Failed != 1 {
		t.Fatalf("the unclaimed job did not fail: %+v", st)
	}
}
