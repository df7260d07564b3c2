package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testJobID = "7d3c1f5e-2a7b-4c1e-9f1a-0b2c3d4e5f60"

// jobJSON builds a job as ingest sends it; extra fields override.
func jobJSON(id string, targets [][2]string, ports []uint16, extra map[string]any) string {
	var ts []map[string]string
	for _, t := range targets {
		ts = append(ts, map[string]string{"first": t[0], "last": t[1]})
	}
	var ps [][2]int
	for _, p := range ports {
		ps = append(ps, [2]int{int(p), int(p)})
	}
	j := map[string]any{"id": id, "scan_id": id, "targets": ts, "ports": ps, "rate_limit": 0, "concurrency": 0,
		"timeout_ms": 1000, "retries": 1, "max_duration_seconds": 60, "lease_expires_at": "2026-11-23T11:20:00Z"}
	for k, v := range extra {
		j[k] = v
	}
	b, _ := json.Marshal(j)
	return string(b)
}

func newTestAgent(t *testing.T, f *fakeIngest, dir string) *Agent {
	t.Helper()
	c, err := newClient(f.ts.URL, "", f.key, true)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAgent(c, openTestSpool(t, dir), Capacity{MaxConcurrency: 100, MaxRate: 100000, FDLimit: 4096}, time.Minute, testLogger(t))
	a.leaseWait, a.progressEvery, a.batchMax, a.batchEvery, a.flushTimeout = time.Second, 100*time.Millisecond, 2, 50*time.Millisecond, 500*time.Millisecond
	return a
}

// start runs the agent until the returned stop is called (as SIGTERM would).
func start(a *Agent) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// loopbackJob opens listeners on 127.0.0.1 and ::1 and returns a job over
// both with their ports and a few closed ones, and the open ports the kernel
// says the job must find, as "addr port".
func loopbackJob(t *testing.T) (string, []string) {
	ports := listenN(t, "127.0.0.1", 5)
	targets := [][2]string{{"127.0.0.1", "127.0.0.1"}}
	hosts := []string{"127.0.0.1"}
	if hasIPv6Loopback() {
		ports = append(ports, listenN(t, "::1", 3)...)
		targets = append(targets, [2]string{"::1", "::1"})
		hosts = append(hosts, "::1")
	}
	ports = append(ports, closedPort(t), closedPort(t))
	slices.Sort(ports)
	ports = slices.Compact(ports)
	var want []string
	for _, h := range hosts {
		for _, p := range ports {
			if len(listeningPorts(t, h, p, p)) > 0 {
				want = append(want, fmt.Sprintf("%s %d", h, p))
			}
		}
	}
	slices.Sort(want)
	return jobJSON(testJobID, targets, ports, nil), want
}

func spoolHolds(t *testing.T, dir, suffix string) bool {
	return slices.ContainsFunc(spoolFiles(t, dir), func(n string) bool { return strings.HasSuffix(n, suffix) })
}

// A whole job through a flaky ingest: every open port arrives exactly once,
// the complete counts every batch, progress and heartbeats are sent.
func TestAgentEndToEnd(t *testing.T) {
	job, want := loopbackJob(t)
	f := newFakeIngest(t)
	f.queue = []string{job}
	f.failBefore, f.failAfter = 2, 2
	dir := t.TempDir()
	stop := start(newTestAgent(t, f, dir))
	defer stop()
	eventually(t, 20*time.Second, "the job to complete", func() bool { _, ok := f.completed(testJobID); return ok })
	if got := f.opens(testJobID); !slices.Equal(got, want) {
		t.Fatalf("ingest stored %v, want %v", got, want)
	}
	c, _ := f.completed(testJobID)
	var j struct{ Targets, Ports []any }
	json.Unmarshal([]byte(job), &j)
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Status != "done" || c.Batches != len(f.batches[testJobID]) || c.Batches < 2 ||
		c.HostsDone != uint64(len(j.Targets)) || c.PortsProbed != uint64(len(j.Targets)*len(j.Ports)) {
		t.Fatalf("complete %+v; ingest holds %d batches", c, len(f.batches[testJobID]))
	}
	prog := f.progress[testJobID]
	if len(prog) == 0 || prog[len(prog)-1].PortsProbed != c.PortsProbed || prog[len(prog)-1].PortsTotal != c.PortsProbed {
		t.Fatalf("progress %+v", prog)
	}
	if len(f.heartbeats) == 0 || f.heartbeats[0].Capacity.MaxConcurrency != 100 || f.heartbeats[0].Metrics.MemTotalBytes == 0 {
		t.Fatalf("heartbeats %+v", f.heartbeats)
	}
}

// A scanner stopped while ingest is down keeps its results in the spool;
// the next start sends them before anything else, and nothing is lost or
// stored twice.
func TestAgentRestartLosesNothing(t *testing.T) {
	job, want := loopbackJob(t)
	f := newFakeIngest(t)
	f.queue = []string{job}
	f.acceptOnly = 1 // the first batch gets through, then ingest goes down
	dir := t.TempDir()
	stop := start(newTestAgent(t, f, dir))
	eventually(t, 20*time.Second, "the complete to be spooled", func() bool { return spoolHolds(t, dir, "-complete.json") })
	stop()
	if _, ok := f.completed(testJobID); ok || len(f.opens(testJobID)) == 0 {
		t.Fatalf("while down: complete arrived %v, %d results stored", ok, len(f.opens(testJobID)))
	}
	f.set(func(f *fakeIngest) { f.down = false })
	stop = start(newTestAgent(t, f, dir))
	defer stop()
	eventually(t, 10*time.Second, "the job to complete after the restart", func() bool { _, ok := f.completed(testJobID); return ok })
	if got := f.opens(testJobID); !slices.Equal(got, want) {
		t.Fatalf("ingest stored %v, want %v", got, want)
	}
	eventually(t, time.Second, "the spool to empty", func() bool { return len(spoolFiles(t, dir)) == 0 })
}

// blackholeJob is a job on one port whose SYNs are dropped, so it runs
// until it is stopped.
func blackholeJob(t *testing.T, extra map[string]any) string {
	port := blackhole(t, "127.0.0.1", 0)
	x := map[string]any{"timeout_ms": 10000, "retries": 2}
	for k, v := range extra {
		x[k] = v
	}
	return jobJSON(testJobID, [][2]string{{"127.0.0.1", "127.0.0.1"}}, []uint16{port}, x)
}

// Ingest cancels a job it sees in a heartbeat's active jobs; the scanner
// completes it as cancelled.
func TestAgentCancelFromIngest(t *testing.T) {
	f := newFakeIngest(t)
	f.queue = []string{blackholeJob(t, nil)}
	f.hbSeconds = 1
	stop := start(newTestAgent(t, f, t.TempDir()))
	defer stop()
	eventually(t, 5*time.Second, "a heartbeat naming the job", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, hb := range f.heartbeats {
			if slices.Contains(hb.ActiveJobs, testJobID) {
				f.cancel[testJobID] = true
				return true
			}
		}
		return false
	})
	eventually(t, 5*time.Second, "the job to complete", func() bool { _, ok := f.completed(testJobID); return ok })
	if c, _ := f.completed(testJobID); c.Status != "cancelled" || !strings.Contains(c.Error, "cancelled by ingest") {
		t.Fatalf("complete %+v", c)
	}
}

// Stopping the scanner (SIGTERM) stops the running job without completing
// it: the job is not over, so it stays leased for ingest to hand out again
// once it stalls (to this scanner when it is back, for a vantage job).
func TestAgentShutdownLeavesJobLeased(t *testing.T) {
	f := newFakeIngest(t)
	f.queue = []string{blackholeJob(t, nil)}
	a := newTestAgent(t, f, t.TempDir())
	stop := start(a)
	eventually(t, 5*time.Second, "progress", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.progress[testJobID]) > 0 })
	stop()
	if c, ok := f.completed(testJobID); ok {
		t.Fatalf("a stopped scanner completed its running job: %+v", c)
	}
	if active := a.activeJobs(); len(active) != 0 {
		t.Fatalf("Run returned with jobs still running: %v", active)
	}
}

func TestAgentJobGone(t *testing.T) {
	f := newFakeIngest(t)
	f.queue = []string{blackholeJob(t, nil)}
	dir := t.TempDir()
	a := newTestAgent(t, f, dir)
	stop := start(a)
	defer stop()
	eventually(t, 5*time.Second, "progress", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.gone[testJobID] = len(f.progress[testJobID]) > 0
		return f.gone[testJobID]
	})
	eventually(t, 5*time.Second, "the job to stop", func() bool { return len(a.activeJobs()) == 0 })
	time.Sleep(100 * time.Millisecond)
	if _, ok := f.completed(testJobID); ok || len(spoolFiles(t, dir)) != 0 {
		t.Fatalf("a gone job was completed, or left %v in the spool", spoolFiles(t, dir))
	}
}

func TestAgentMaxDuration(t *testing.T) {
	f := newFakeIngest(t)
	f.queue = []string{blackholeJob(t, map[string]any{"max_duration_seconds": 1})}
	stop := start(newTestAgent(t, f, t.TempDir()))
	defer stop()
	eventually(t, 5*time.Second, "the job to complete", func() bool { _, ok := f.completed(testJobID); return ok })
	if c, _ := f.completed(testJobID); c.Status != "failed" || !strings.Contains(c.Error, "max_duration_seconds") {
		t.Fatalf("complete %+v", c)
	}
}

func TestAgentFailsInvalidJob(t *testing.T) {
	f := newFakeIngest(t)
	f.queue = []string{jobJSON(testJobID, [][2]string{{"127.0.0.9", "127.0.0.1"}}, []uint16{22}, nil)}
	stop := start(newTestAgent(t, f, t.TempDir()))
	defer stop()
	eventually(t, 5*time.Second, "the job to complete", func() bool { _, ok := f.completed(testJobID); return ok })
	if c, _ := f.completed(testJobID); c.Status != "failed" || !strings.Contains(c.Error, "first 127.0.0.9 is after last 127.0.0.1") {
		t.Fatalf("complete %+v", c)
	}
}

// A long job does not keep a short one waiting: the scanner runs several at
// once on its one engine, and a completion carries the job's CPU seconds.
func TestAgentRunsJobsAtOnce(t *testing.T) {
	const longID = "0e4b3a2c-1d5f-4e6a-8b7c-9d0e1f2a3b4c"
	short, want := loopbackJob(t)
	f := newFakeIngest(t)
	f.queue = []string{strings.Replace(blackholeJob(t, nil), testJobID, longID, 1), short}
	a := newTestAgent(t, f, t.TempDir())
	stop := start(a)
	defer stop()
	eventually(t, 20*time.Second, "the short job to complete", func() bool { _, ok := f.completed(testJobID); return ok })
	c, _ := f.completed(testJobID)
	if got := f.opens(testJobID); !slices.Equal(got, want) || c.Status != "done" || c.CPUSeconds <= 0 {
		t.Fatalf("short job: stored %v, want %v; complete %+v", got, want, c)
	}
	if _, ok := f.completed(longID); ok || !slices.Contains(a.activeJobs(), longID) {
		t.Fatalf("the long job is not running beside the short one: active %v", a.activeJobs())
	}
}

// A revoked key (401 to everything) stops the agent asking: no more leases,
// the spooled batch tried once and kept, only the heartbeat at its
// interval; once ingest accepts the key again, the batch is delivered.
func TestAgentStopsAskingWhenRefused(t *testing.T) {
	f := newFakeIngest(t)
	f.hbSeconds = 1
	var revoked atomic.Bool
	revoked.Store(true)
	var mu sync.Mutex
	tries := map[string]int{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if strings.HasSuffix(path, "/results") {
			path = "results"
		}
		mu.Lock()
		tries[path]++
		mu.Unlock()
		if revoked.Load() {
			apiError(w, http.StatusUnauthorized, "invalid_key", nil)
			return
		}
		f.serve(w, r)
	}))
	defer ts.Close()
	c, err := newClient(ts.URL, "", f.key, true)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAgent(c, openTestSpool(t, t.TempDir()), Capacity{MaxConcurrency: 100, MaxRate: 100000, FDLimit: 4096}, time.Second, testLogger(t))
	a.leaseWait = time.Second
	stop := start(a)
	defer stop()
	time.Sleep(200 * time.Millisecond)
	a.spool.Put(jobA, 1, batchOf(1, 22))
	time.Sleep(3 * time.Second)
	mu.Lock()
	leases, results, beats := tries["/scanner/v1/jobs/lease"], tries["results"], tries["/scanner/v1/heartbeat"]
	mu.Unlock()
	if leases > 1 || results > 1 || beats < 2 || beats > 5 {
		t.Fatalf("in 3 s refused: %d leases, %d results tries, %d heartbeats; want at most 1, at most 1, and one a second", leases, results, beats)
	}
	if a.spool.Pending() != 1 {
		t.Fatalf("the refused batch is not kept: %d pending", a.spool.Pending())
	}
	revoked.Store(false)
	eventually(t, 5*time.Second, "the batch delivered once the key is accepted", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.batches[jobA]) == 1
	})
	eventually(t, 5*time.Second, "leasing to resume", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return tries["/scanner/v1/jobs/lease"] > leases
	})
}
