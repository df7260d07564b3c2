package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
	"mipo/modules/scanners/scannerstest"
)

// leasedJob creates a job for a new scanner and leases it at t0; it returns the scanner's
// client and the job's results path.
func leasedJob(t *testing.T, e *scannerstest.Env) (*apptest.Client, string, string) {
	t.Helper()
	reg, sc := e.Scanner(t, "worker")
	ids, err := jobs.Create(context.Background(), e.Srv.App.DB.Jobs, t0, jobs.New{ScanID: uuid.NewString(), Kind: jobs.KindVantage,
		ScannerID: reg.ScannerID, Targets: mustSet(t, "127.0.0.1"), Ports: portset.MustParse("22,80"), TimeoutMS: 700, RateLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if r := sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 1}); r.Status != http.StatusOK {
		t.Fatalf("lease: %d %s", r.Status, r.Body)
	}
	return sc, "/scanner/v1/jobs/" + ids[0] + "/results", ids[0]
}

func result(port int, at time.Time) map[string]any {
	return map[string]any{"address": "127.0.0.1", "port": port, "observed_at": at.Format(time.RFC3339Nano), "rtt_us": 84}
}

// The scanner API's inputs that answered 500 (which a scanner retries for ever) or were stored
// although they cannot be true: now each is a 4xx naming the field, and nothing is stored.
func TestScannerInputThatCannotBeStoredIsRefused(t *testing.T) {
	e := scannerstest.Start(t, nil)
	sc, results, job := leasedJob(t, e)
	e.Clock.Advance(time.Minute)
	stored := func() int {
		return e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1`, job) +
			e.Count(t, app.DBResults, `SELECT count(*) FROM result_batches WHERE job_id = $1`, job)
	}

	hb := map[string]any{"version": "1.0\x00evil", "hostname": "worker", "capacity": map[string]int{}, "metrics": map[string]any{}, "active_jobs": []string{}}
	r := sc.Post("/scanner/v1/heartbeat", hb)
	refused(t, "a NUL in the heartbeat's version", r, http.StatusBadRequest, "version")
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM scanners WHERE version LIKE '1.0%'`); n != 0 {
		t.Fatal("the refused heartbeat's version was stored")
	}

	for name, v := range map[string]int64{"fd_open": -1, "fd_limit": 1 << 40} {
		hb := scannerstest.Heartbeat(1, 1)
		hb["metrics"].(map[string]any)[name] = v
		refused(t, fmt.Sprintf("%s %d", name, v), sc.Post("/scanner/v1/heartbeat", hb), http.StatusBadRequest, "metrics."+name)
	}

	r = sc.Post(results, map[string]any{"batch": int64(1) << 62, "results": []any{result(22, t0)}})
	refused(t, "batch 2^62", r, http.StatusBadRequest, "batch")

	for _, at := range []time.Time{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		t0.Add(-11 * time.Minute), t0.Add(time.Minute + 11*time.Minute)} {
		r = sc.Post(results, map[string]any{"batch": 1, "results": []any{result(22, t0), result(80, at)}})
		refused(t, "observed_at "+at.Format(time.RFC3339), r, http.StatusUnprocessableEntity, "results[1].observed_at")
	}
	if n := stored(); n != 0 {
		t.Fatalf("refused batches stored %d rows", n)
	}

	// Within the stated clock-skew allowance (10 minutes either side of the lease window).
	r = sc.Post(results, map[string]any{"batch": 1, "results": []any{result(22, t0.Add(-9*time.Minute)), result(80, t0.Add(10*time.Minute))}})
	if r.Status != http.StatusOK {
		t.Fatalf("results within the allowance: %d %s", r.Status, r.Body)
	}

	same := make([]any, 5000)
	for i := range same {
		same[i] = result(22, t0.Add(time.Second))
	}
	r = sc.Post(results, map[string]any{"batch": 2, "results": same})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"accepted":1`) {
		t.Fatalf("5,000 identical results: %d %s", r.Status, r.Body)
	}
	if n := e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1 AND observed_at = $2`, job, t0.Add(time.Second)); n != 1 {
		t.Fatalf("5,000 identical results in one batch became %d rows", n)
	}
}

func refused(t *testing.T, what string, r *apptest.Response, status int, field string) {
	t.Helper()
	if r.Status != status || r.ErrorField() != field || r.ErrorCode() == "" {
		t.Fatalf("%s: got %d %s, want %d naming %s", what, r.Status, r.Body, status, field)
	}
}

// A scanner whose clock is ten minutes ahead, or twenty behind, sends its results with the Date
// it believes: they are accepted, and stored on mipo's clock, so they order by server time among
// every other scanner's (twenty behind would be refused as outside the lease without it).
func TestSkewedScannerClocksAreMovedOntoMipos(t *testing.T) {
	e := scannerstest.Start(t, nil)
	sc, results, job := leasedJob(t, e)
	e.Clock.Advance(time.Minute)
	now := t0.Add(time.Minute)
	for i, skew := range []time.Duration{10 * time.Minute, -20 * time.Minute} {
		port := 22 + 58*i // 22, then 80: the job's ports
		sc.Header.Set("Date", now.Add(skew).UTC().Format(http.TimeFormat))
		seen := now.Add(-30 * time.Second) // on mipo's clock
		r := sc.Post(results, map[string]any{"batch": i + 1, "results": []any{result(port, seen.Add(skew))}})
		if r.Status != http.StatusOK {
			t.Fatalf("a scanner %v off: %d %s", skew, r.Status, r.Body)
		}
		if n := e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1 AND port = $2 AND observed_at = $3`, job, port, seen); n != 1 {
			t.Fatalf("a scanner %v off: its result was not stored at %s, on mipo's clock", skew, seen.Format(time.RFC3339))
		}
	}
}
