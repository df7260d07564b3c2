package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/scanners/scannerstest"
)

var (
	fleetScanners = flag.Int("mipo.scanners", 1000, "simulated scanners of BenchmarkScannerFleet")
	fleetFor      = flag.Duration("mipo.fleet-for", 20*time.Second, "how long the fleet streams (bench-scale: 5m)")
	fleetPerPost  = 200
)

// BenchmarkScannerFleet runs -mipo.scanners simulated scanners in this process, speaking the
// scanner protocol over loopback HTTP to two ingest processes' worth of servers (a manager with
// ingest, and a second ingest-only server, on the same databases): each registers, leases a
// job, heartbeats every 10 s and streams result batches as fast as it is answered, resending a
// batch whose answer it did not get, for -mipo.fleet-for. It reports results/s, the p50 and p99
// request latency, and results lost or duplicated, counted against what the simulators sent.
//
//	go test -run '^$' -bench ScannerFleet -benchtime 1x -timeout 30m ./modules/ingest/ -mipo.fleet-for 5m
func BenchmarkScannerFleet(b *testing.B) {
	for b.Loop() {
		ctx := context.Background()
		dbs := apptest.Databases(b)
		a := apptest.Start(b, scannerstest.Config(b, dbs, nil), dbs, app.Options{})
		ing := apptest.Start(b, scannerstest.Config(b, dbs, nil, app.RoleIngest), dbs, app.Options{})
		nodes := []string{a.URL, ing.URL}
		owner := rbactest.Owner(b, a)

		type sim struct {
			node, key, job string
			third          int
			sent           int64
		}
		sims := make([]*sim, *fleetScanners)
		start := time.Now()
		for i := range sims {
			node := nodes[i%2]
			tok := scannerstest.Provision(b, owner, nil)
			reg := scannerstest.Register(b, node, tok.Secret, fmt.Sprintf("fleet-%d", i))
			// Each scanner its own /24 of 10.0.0.0/8: every result it sends is a distinct fact.
			targets, _ := netset.Parse(fmt.Sprintf("10.%d.%d.0/24", i>>8, i&255))
			ids, err := jobs.Create(ctx, a.App.DB.Jobs, time.Now(), jobs.New{ScanID: uuid.Must(uuid.NewV7()).String(), Kind: jobs.KindVantage,
				ScannerID: reg.ScannerID, Targets: targets, Ports: portset.All(), TimeoutMS: 1000})
			if err != nil {
				b.Fatal(err)
			}
			if r := scannerstest.Scanner(b, node, reg.APIKey).Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0}); r.Status != 200 {
				b.Fatalf("lease: %d %s", r.Status, r.Body)
			}
			sims[i] = &sim{node: node, key: reg.APIKey, job: ids[0], third: i}
		}
		b.Logf("%d scanners registered with a leased job in %s", len(sims), time.Since(start).Round(time.Second))

		transport := &http.Transport{MaxIdleConnsPerHost: *fleetScanners, MaxConnsPerHost: 0}
		client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
		post := func(s *sim, path string, body []byte) (time.Duration, int, error) {
			req, _ := http.NewRequest(http.MethodPost, s.node+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+s.key)
			t := time.Now()
			res, err := client.Do(req)
			if err != nil {
				return 0, 0, err
			}
			res.Body.Close()
			return time.Since(t), res.StatusCode, nil
		}
		var mu sync.Mutex
		var latencies []time.Duration
		var failures, resent atomic.Int64
		deadline := time.Now().Add(*fleetFor)
		heartbeat, _ := json.Marshal(scannerstest.Heartbeat(1, 1))
		var wg sync.WaitGroup
		start = time.Now()
		for _, s := range sims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				lastBeat := time.Time{}
				for seq := 1; time.Now().Before(deadline); seq++ {
					if time.Since(lastBeat) >= 10*time.Second {
						if d, code, err := post(s, "/scanner/v1/heartbeat", heartbeat); err == nil && code == 200 {
							mine = append(mine, d)
							lastBeat = time.Now()
						} else {
							failures.Add(1)
						}
					}
					rs := make([]map[string]any, fleetPerPost)
					at := time.Now().UTC().Format(time.RFC3339Nano)
					for i := range rs {
						idx := (seq-1)*fleetPerPost + i
						rs[i] = map[string]any{"address": fmt.Sprintf("10.%d.%d.%d", s.third>>8, s.third&255, idx%256), "port": 1 + idx/256, "observed_at": at, "rtt_us": 50}
					}
					body, _ := json.Marshal(map[string]any{"batch": seq, "results": rs})
					// Until acknowledged, as a scanner's disk buffer does.
					for attempt := 0; ; attempt++ {
						d, code, err := post(s, "/scanner/v1/jobs/"+s.job+"/results", body)
						if err == nil && code == 200 {
							mine = append(mine, d)
							break
						}
						failures.Add(1)
						resent.Add(1)
						if attempt > 20 {
							b.Errorf("batch %d of %s never acknowledged: %d %v", seq, s.job, code, err)
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
					s.sent += int64(fleetPerPost)
					if 1+(seq*fleetPerPost)/256 > 65000 {
						break // this scanner's /24 and port space are used up
					}
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)

		var sent int64
		for _, s := range sims {
			sent += s.sent
		}
		var stored, distinct int64
		if err := a.App.DB.Results.QueryRow(ctx, `SELECT count(*), count(DISTINCT (job_id, address, port)) FROM observations`).Scan(&stored, &distinct); err != nil {
			b.Fatal(err)
		}
		slices.Sort(latencies)
		pct := func(p float64) float64 {
			if len(latencies) == 0 {
				return 0
			}
			return float64(latencies[int(float64(len(latencies)-1)*p)].Microseconds()) / 1000
		}
		b.ReportMetric(float64(stored)/elapsed.Seconds(), "results/s")
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(max(sent-distinct, 0)), "lost")
		b.ReportMetric(float64(stored-distinct), "duplicated")
		b.ReportMetric(float64(resent.Load()), "resent")
		b.Logf("%d scanners for %s: %d results sent, %d stored (%d distinct), %d requests, %d failed and resent",
			len(sims), elapsed.Round(time.Second), sent, stored, distinct, len(latencies), failures.Load())
		if stored != sent || distinct != sent {
			b.Fatalf("sent %d, stored %d, distinct %d: lost or duplicated results", sent, stored, distinct)
		}
	}
}
