package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

// BenchmarkIngestResults measures results stored per second through the scanner API: full
// batches of 5,000 results POSTed to /scanner/v1/jobs/{id}/results of a real ingest handler
// (key check, binding, job ownership, validation against the job, the ledger row and COPY into
// the results database of a real PostgreSQL), from 4 scanners' worth of parallel streams.
//
//	go test -run '^$' -bench IngestResults ./modules/ingest/
func BenchmarkIngestResults(b *testing.B) {
	dbs := apptest.Databases(b)
	srv := apptest.Start(b, scannerstest.Config(b, dbs, nil), dbs, app.Options{})
	owner := rbactest.Owner(b, srv)
	ctx := context.Background()
	targets, _ := netset.Parse("10.0.0.0/8")
	const streams, perBatch = 4, 5000

	type stream struct {
		client *http.Client
		key    string
		job    string
		next   atomic.Int64
	}
	var ss []*stream
	for i := range streams {
		tok := scannerstest.Provision(b, owner, nil)
		reg := scannerstest.Register(b, srv.URL, tok.Secret, fmt.Sprintf("bench-%d", i))
		ids, err := jobs.Create(ctx, srv.App.DB.Jobs, time.Now(), jobs.New{ScanID: uuid.NewString(), Kind: jobs.KindVantage,
			ScannerID: reg.ScannerID, Targets: targets, Ports: portset.All(), TimeoutMS: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if r := scannerstest.Scanner(b, srv.URL, reg.APIKey).Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0}); r.Status != 200 {
			b.Fatalf("lease: %d %s", r.Status, r.Body)
		}
		ss = append(ss, &stream{client: &http.Client{}, key: reg.APIKey, job: ids[0]})
	}
	// One batch's results, encoded once: what differs between requests is the batch number.
	rs := make([]map[string]any, perBatch)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range rs {
		rs[i] = map[string]any{"address": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "port": 1 + i%65535, "observed_at": at, "rtt_us": 84}
	}
	results, _ := json.Marshal(rs)

	post := func(s *stream) error {
		n := s.next.Add(1)
		body := append(fmt.Appendf(nil, `{"batch":%d,"results":`, n), results...)
		body = append(body, '}')
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/scanner/v1/jobs/"+s.job+"/results", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.key)
		res, err := s.client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		var ack struct {
			Accepted  int
			Duplicate bool
		}
		if err := json.NewDecoder(res.Body).Decode(&ack); err != nil || res.StatusCode != 200 || ack.Accepted != perBatch || ack.Duplicate {
			return fmt.Errorf("batch %d: %d %+v %v", n, res.StatusCode, ack, err)
		}
		return nil
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, streams)
	for _, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := post(s); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	var stored int64
	srv.App.DB.Results.QueryRow(ctx, `SELECT count(*) FROM observations`).Scan(&stored)
	if stored != int64(b.N)*perBatch {
		b.Fatalf("%d observations stored, want %d", stored, int64(b.N)*perBatch)
	}
	b.ReportMetric(float64(stored)/b.Elapsed().Seconds(), "results/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
