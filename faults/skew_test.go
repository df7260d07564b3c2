package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"mipo/app/apptest"
)

// clockSkew: a scanner whose clock is 10 minutes ahead, then 10 minutes behind, speaks the real
// protocol through the edge (this test is that scanner, since a real one's clock cannot be
// moved without moving the machine's) and reports exactly the open listeners of its job. Nothing
// valid is refused: every result is acknowledged and stored once.
func (f *faultRun) clockSkew(t *testing.T) {
	top := f.top
	var tok struct{ Secret string }
	r := top.owner.Post("/api/v1/scanners/tokens", map[string]any{"name": "skewed"})
	if r.Status != http.StatusCreated {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &tok)
	c := top.client()
	capacity := map[string]int{"max_concurrency": 100, "max_rate": 1000, "fd_limit": 1024}
	r = c.Post("/scanner/v1/register", map[string]any{"token": tok.Secret, "hostname": "skewed", "version": "test", "capacity": capacity})
	var reg struct {
		ScannerID string `json:"scanner_id"`
		APIKey    string `json:"api_key"`
	}
	if r.Status != http.StatusOK {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &reg)
	c.Header.Set("Authorization", "Bearer "+reg.APIKey)
	heartbeat := func() {
		r := c.Post("/scanner/v1/heartbeat", map[string]any{"version": "test", "hostname": "skewed", "capacity": capacity,
			"metrics": map[string]any{}, "active_jobs": []string{}})
		if r.Status != http.StatusOK {
			t.Fatalf("heartbeat: %d %s", r.Status, r.Body)
		}
	}
	heartbeat()
	truth := f.l.truth()
	tmpl := f.templateFor(t, "skewed", 0, []string{reg.ScannerID})

	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		r := top.owner.Post("/api/v1/scans", map[string]any{"template_id": tmpl})
		if r.Status != http.StatusCreated {
			t.Fatalf("launch: %d %s", r.Status, r.Body)
		}
		var launched struct{ Items []struct{ ID string } }
		r.JSON(t, &launched)
		scanID := launched.Items[0].ID
		sent, refused, jobsDone := 0, 0, 0
		apptest.WaitFor(t, 90*time.Second, "the skewed scanner's scan to end", func() bool {
			heartbeat()
			r := c.Post("/scanner/v1/jobs/lease", map[string]any{"wait_seconds": 1})
			if r.Status == http.StatusOK {
				var lease struct {
					Job struct {
						ID      string
						Targets []struct{ First, Last string }
						Ports   [][]int
					}
				}
				r.JSON(t, &lease)
				var batch []map[string]any
				var probed uint64
				hosts := uint64(0)
				for _, iv := range lease.Job.Targets {
					first, last := netip.MustParseAddr(iv.First), netip.MustParseAddr(iv.Last)
					for a := first; a.Compare(last) <= 0; a = a.Next() {
						hosts++
						for _, pr := range lease.Job.Ports {
							for p := pr[0]; p <= pr[len(pr)-1]; p++ {
								probed++
								if truth[fmt.Sprintf("%s/%d", a, p)] {
									batch = append(batch, map[string]any{"address": a.String(), "port": p,
										"observed_at": time.Now().Add(skew).UTC().Format(time.RFC3339Nano), "rtt_us": 50})
								}
							}
						}
					}
				}
				batches := 0
				for len(batch) > 0 {
					n := min(len(batch), 40)
					batches++
					// As mipo-scanner does: the Date it believes, from which ingest reads its skew.
					c.Header.Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
					rr := c.Post("/scanner/v1/jobs/"+lease.Job.ID+"/results", map[string]any{"batch": batches, "results": batch[:n]})
					if rr.Status != http.StatusOK {
						refused += n
						t.Errorf("results %+v skew: %d %s", skew, rr.Status, rr.Body)
					} else {
						sent += n
					}
					batch = batch[n:]
				}
				rr := c.Post("/scanner/v1/jobs/"+lease.Job.ID+"/complete", map[string]any{"status": "done", "hosts_done": hosts,
					"ports_probed": probed, "batches": batches})
				if rr.Status != http.StatusOK {
					t.Errorf("complete %+v skew: %d %s", skew, rr.Status, rr.Body)
				}
				jobsDone++
			}
			d, ok := f.detail(t, scanID)
			return ok && d.Scan.Status != "pending" && d.Scan.Status != "running"
		})
		stored := f.count(t, `SELECT count(*) FROM observations WHERE scan_id = $1`, scanID)
		distinct := f.count(t, `SELECT count(DISTINCT (address, port)) FROM observations WHERE scan_id = $1`, scanID)
		var offset float64
		f.results.QueryRow(context.Background(), `SELECT COALESCE(avg(extract(epoch FROM o.observed_at - b.received_at)), 0)
			FROM observations o JOIN result_batches b USING (job_id) WHERE o.scan_id = $1`, scanID).Scan(&offset)
		d, _ := f.detail(t, scanID)
		line := fmt.Sprintf("fault %-28s sent %4d stored %4d duplicated %d lost %d of %d | %d results refused, %d jobs, scan %s | stored observed_at is %+.0f s from the server's receipt",
			fmt.Sprintf("scanner clock %+v:", skew), sent, stored, stored-distinct, len(truth)-distinct, len(truth), refused, jobsDone, d.Scan.Status, offset)
		fmt.Println(line)
		t.Log(line)
		// Ordered by server time: what the skewed scanner saw is stored on mipo's clock.
		if offset < -5 || offset > 5 {
			t.Errorf("scanner clock %+v: its observations are stored %+.0f s from the server's receipt, not on the server's clock", skew, offset)
		}
		if refused > 0 || stored != len(truth) || distinct != len(truth) || d.Scan.Status != "completed" {
			t.Errorf("a scanner %v off: %d refused, %d stored (%d distinct) of %d, scan %s %s", skew, refused, stored, distinct, len(truth), d.Scan.Status, d.Scan.StatusDetail)
		}
	}
}
