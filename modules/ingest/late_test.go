package ingest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
	"mipo/modules/results"
	"mipo/modules/scanners/scannerstest"
)

// A scanner that could not reach ingest while its lease stalled comes back after the job was
// re-queued to another: the results it observed are stored (the scan loses nothing), the new
// holder's are stored too, the same open port seen by both counts once in the scan's outcome,
// and the former holder's progress and completion are 410: the job is the new holder's.
func TestAFormerHoldersLateResultsAreKept(t *testing.T) {
	e := scannerstest.Start(t, nil)
	regA, a := e.Scanner(t, "stalled")
	regB, b := e.Scanner(t, "taker")
	_, outsider := e.Scanner(t, "outsider")
	ctx := context.Background()
	db := e.Srv.App.DB.Jobs
	scan := uuid.NewString()
	ids, err := jobs.Create(ctx, db, t0,
		jobs.New{ScanID: scan, Kind: jobs.KindPool, Pool: []string{regA.ScannerID, regB.ScannerID}, Seq: 1,
			Targets: mustSet(t, "127.0.0.1"), Ports: portset.MustParse("22,80,443,8080"), TimeoutMS: 500},
		// A second job keeps the scan running after the first ends.
		jobs.New{ScanID: scan, Kind: jobs.KindPool, Pool: []string{regB.ScannerID}, Seq: 2,
			Targets: mustSet(t, "127.0.0.2"), Ports: portset.MustParse("22"), TimeoutMS: 500})
	if err != nil {
		t.Fatal(err)
	}
	id, base := ids[0], "/scanner/v1/jobs/"+ids[0]
	lease := func(c *apptest.Client, want string, attempt int) {
		t.Helper()
		var l struct {
			Job struct {
				ID      string `json:"id"`
				Attempt int    `json:"attempt"`
			}
		}
		r := c.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0})
		r.JSON(t, &l)
		if r.Status != http.StatusOK || l.Job.ID != want || l.Job.Attempt != attempt {
			t.Fatalf("lease: %d %s, want job %s attempt %d", r.Status, r.Body, want, attempt)
		}
	}
	lease(a, id, 1)

	// A's lease goes silent; the dispatcher's reconciler re-queues it, as after
	// MIPO_JOB_STALL_AFTER, and B takes it.
	stalled, err := jobs.Stalled(ctx, db, t0.Add(time.Hour), func(*jobs.Job) time.Duration { return 15 * time.Second })
	if err != nil || len(stalled) != 1 || stalled[0].ID != id {
		t.Fatalf("stalled %v %v", stalled, err)
	}
	if status, err := jobs.Requeue(ctx, db, stalled[0], "no progress for 15s", t0.Add(time.Hour)); err != nil || status != jobs.Queued {
		t.Fatalf("requeue: %s %v", status, err)
	}
	lease(b, id, 2)

	obs := t0.Format(time.RFC3339Nano)
	batch := func(attempt, n int, ports ...int) map[string]any {
		var rs []map[string]any
		for _, p := range ports {
			rs = append(rs, map[string]any{"address": "127.0.0.1", "port": p, "observed_at": obs, "rtt_us": 90})
		}
		body := map[string]any{"batch": n, "results": rs}
		if attempt > 0 {
			body["attempt"] = attempt
		}
		return body
	}
	send := func(c *apptest.Client, body map[string]any, dup bool) {
		t.Helper()
		r := c.Post(base+"/results", body)
		var ack struct{ Duplicate bool }
		r.JSON(t, &ack)
		if r.Status != http.StatusOK || ack.Duplicate != dup {
			t.Fatalf("results %v: %d %s, want duplicate %v", body, r.Status, r.Body, dup)
		}
	}
	// A's spool drains once ingest is back: its batches (an older scanner names no attempt)...
	send(a, batch(0, 1, 22, 80), false)
	send(a, batch(0, 1, 22, 80), true) // its acknowledgement lost: stored once
	send(a, batch(1, 2, 8080), false)
	// ... then its progress and completion: the job is B's now.
	scannerstest.WantError(t, "a former holder's progress", a.Post(base+"/progress", map[string]int{"hosts_done": 1}), http.StatusGone, "job_gone")
	scannerstest.WantError(t, "a former holder's completion", a.Post(base+"/complete", map[string]any{"status": "done", "hosts_done": 1, "ports_probed": 3, "batches": 2}),
		http.StatusGone, "job_gone")
	scannerstest.WantError(t, "a former holder's completion naming its attempt", a.Post(base+"/complete", map[string]any{"status": "done", "batches": 2, "attempt": 1}),
		http.StatusGone, "job_gone")
	// B's batch 1 is its own, not A's batch 1 again; port 22, which A saw too, is stored once.
	send(b, batch(0, 1, 22, 443), false)
	send(b, batch(2, 2, 80), false)
	scannerstest.WantError(t, "the new holder naming an attempt it never held", b.Post(base+"/results", batch(1, 3, 22)), http.StatusGone, "job_gone")
	scannerstest.WantError(t, "the new holder completing as an earlier attempt", b.Post(base+"/complete", map[string]any{"status": "done", "batches": 2, "attempt": 1}),
		http.StatusGone, "job_gone")
	if r := b.Post(base+"/complete", map[string]any{"status": "done", "hosts_done": 1, "ports_probed": 3, "batches": 2, "attempt": 2}); r.Status != http.StatusOK {
		t.Fatalf("the new holder's completion: %d %s", r.Status, r.Body)
	}
	// Job done, scan still running (its second job): A's late batches are still kept.
	send(a, batch(0, 3, 22), false)

	// A scanner that never held the job gets 410 for results, as before.
	scannerstest.WantError(t, "results from a scanner that never held the job", outsider.Post(base+"/results", batch(0, 1, 22)), http.StatusGone, "job_gone")
	scannerstest.WantError(t, "results naming an attempt the scanner never held", a.Post(base+"/results", batch(2, 4, 22)), http.StatusGone, "job_gone")
	scannerstest.WantError(t, "a former holder's results outside the job's ports", a.Post(base+"/results", batch(0, 4, 444)), http.StatusUnprocessableEntity, "outside_job")

	if n := e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE scan_id = $1 AND scanner_id = $2`, scan, regA.ScannerID); n != 3 {
		t.Fatalf("%d of the former holder's observations stored, want 3", n)
	}
	if n := e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE scan_id = $1 AND scanner_id = $2`, scan, regB.ScannerID); n != 1 {
		t.Fatalf("%d of the new holder's observations stored, want 1 (443; 22 and 80 A had stored)", n)
	}
	if n := e.Count(t, app.DBResults, `SELECT count(*) FROM result_batches WHERE job_id = $1`, id); n != 5 {
		t.Fatalf("%d batches recorded, want 5 (3 of attempt 1, 2 of attempt 2)", n)
	}
	if n := e.Count(t, app.DBResults, `SELECT count(*) FROM (SELECT address, port FROM observations WHERE scan_id = $1
		GROUP BY 1, 2 HAVING count(*) > 1) d`, scan); n != 0 {
		t.Fatalf("%d open ports stored twice for the scan", n)
	}
	out, err := results.ComputeOutcome(ctx, e.Srv.App.DB.ResultsDB(), results.Scan{ID: scan, FinishedAt: t0}, nil)
	if err != nil || out.OpenPorts != 4 {
		t.Fatalf("outcome: %d open ports %v, want 4 (22, 80, 443 and 8080, each once)", out.OpenPorts, err)
	}

	// Once every job of the scan ended, its outcome is worked out: late results are refused.
	lease(b, ids[1], 1)
	if r := b.Post("/scanner/v1/jobs/"+ids[1]+"/complete", map[string]any{"status": "done", "hosts_done": 1, "ports_probed": 1, "batches": 0}); r.Status != http.StatusOK {
		t.Fatalf("second job's completion: %d %s", r.Status, r.Body)
	}
	scannerstest.WantError(t, "a former holder's results after the scan ended", a.Post(base+"/results", batch(0, 5, 22)), http.StatusGone, "job_gone")
	send(a, batch(0, 3, 22), true) // a repeat is still acknowledged, so the spool can let it go
}

// A vantage job stays with its scanner: re-queued after a stall until it has had its tries, it
// is failed by the reconciler. What the scanner observed before it could reach ingest again is
// still stored while the scan runs, and its completion is 410.
func TestAVantageJobFailedAfterItsStallsKeepsItsLateResults(t *testing.T) {
	e := scannerstest.Start(t, nil)
	reg, sc := e.Scanner(t, "vantage")
	ctx := context.Background()
	db := e.Srv.App.DB.Jobs
	scan := uuid.NewString()
	ids, err := jobs.Create(ctx, db, t0,
		jobs.New{ScanID: scan, Kind: jobs.KindVantage, ScannerID: reg.ScannerID, Seq: 1, MaxAttempts: 1,
			Targets: mustSet(t, "127.0.0.1"), Ports: portset.MustParse("22"), TimeoutMS: 500},
		jobs.New{ScanID: scan, Kind: jobs.KindVantage, ScannerID: reg.ScannerID, Seq: 2,
			Targets: mustSet(t, "127.0.0.2"), Ports: portset.MustParse("22"), TimeoutMS: 500})
	if err != nil {
		t.Fatal(err)
	}
	if r := sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0}); r.Status != http.StatusOK {
		t.Fatalf("lease: %d %s", r.Status, r.Body)
	}
	stalled, err := jobs.Stalled(ctx, db, t0.Add(time.Hour), func(*jobs.Job) time.Duration { return 15 * time.Second })
	if err != nil || len(stalled) != 1 {
		t.Fatalf("stalled %v %v", stalled, err)
	}
	if status, err := jobs.Requeue(ctx, db, stalled[0], "no progress for 15s", t0.Add(time.Hour)); err != nil || status != jobs.Failed {
		t.Fatalf("requeue: %s %v", status, err)
	}
	base := "/scanner/v1/jobs/" + ids[0]
	body := map[string]any{"attempt": 1, "batch": 1, "results": []any{map[string]any{"address": "127.0.0.1", "port": 22, "observed_at": t0}}}
	if r := sc.Post(base+"/results", body); r.Status != http.StatusOK {
		t.Fatalf("late results of a job failed after its stall: %d %s", r.Status, r.Body)
	}
	scannerstest.WantError(t, "the completion of a job failed after its stall", sc.Post(base+"/complete", map[string]any{"status": "done", "batches": 1, "attempt": 1}),
		http.StatusGone, "job_gone")
	if n := e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1`, ids[0]); n != 1 {
		t.Fatalf("%d observations stored, want 1", n)
	}
}
