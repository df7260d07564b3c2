package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	jobA = "aaaaaaaa-2a7b-4c1e-9f1a-0b2c3d4e5f60"
	jobB = "bbbbbbbb-2a7b-4c1e-9f1a-0b2c3d4e5f60"
)

func batchOf(n int, ports ...uint16) resultsRequest {
	r := resultsRequest{Batch: n}
	for _, p := range ports {
		r.Results = append(r.Results, wireResult{Address: "127.0.0.1", Port: p, ObservedAt: time.Now().UTC(), RTTMicros: 5})
	}
	return r
}

func openTestSpool(t *testing.T, dir string) *Spool {
	t.Helper()
	sp, err := OpenSpool(dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	sp.backoffMin, sp.backoffMax = 5*time.Millisecond, 40*time.Millisecond
	return sp
}

// sendUntil runs the spool's sender until cond holds, then stops it.
func sendUntil(t *testing.T, sp *Spool, f *fakeIngest, what string, cond func() bool) {
	t.Helper()
	c, err := newClient(f.ts.URL, "", f.key, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sp.Send(ctx, c, nil) }()
	defer func() { cancel(); wg.Wait() }()
	eventually(t, 10*time.Second, what, cond)
}

func spoolFiles(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// Messages written before a restart are sent after it, oldest first, and
// the sequence goes on where it stopped, so new messages come after them.
func TestSpoolOrderAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	sp.Put(jobA, 1, batchOf(1, 22))
	sp.Put(jobA, 2, batchOf(2, 80))
	os.WriteFile(filepath.Join(dir, ".tmp-half-written"), []byte("{"), 0o600) // a crash mid-write

	sp = openTestSpool(t, dir) // restart
	if names := spoolFiles(t, dir); len(names) != 2 {
		t.Fatalf("after restart the spool holds %v; want the 2 messages and no temporary file", names)
	}
	sp.Put(jobA, 0, completeRequest{Status: "done", Batches: 2})
	f := newFakeIngest(t)
	sendUntil(t, sp, f, "complete to arrive", func() bool { _, ok := f.completed(jobA); return ok })
	if want := []string{"aaaaaaaa/results/1", "aaaaaaaa/results/2", "aaaaaaaa/complete"}; !slices.Equal(f.posts, want) {
		t.Fatalf("arrival order %v, want %v", f.posts, want)
	}
	eventually(t, time.Second, "spool to empty", func() bool { return len(spoolFiles(t, dir)) == 0 })
}

// Ingest failing N times, before and after storing, still ends with every
// batch stored exactly once and the complete accepted.
func TestSpoolSurvivesFailures(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	f := newFakeIngest(t)
	f.failBefore, f.failAfter = 3, 3
	var want []string
	for b := 1; b <= 6; b++ {
		p := uint16(1000 + b)
		sp.Put(jobA, b, batchOf(b, p))
		want = append(want, fmt.Sprintf("127.0.0.1 %d", p))
	}
	sp.Put(jobA, 0, completeRequest{Status: "done", Batches: 6})
	sendUntil(t, sp, f, "complete to arrive", func() bool { _, ok := f.completed(jobA); return ok })
	if got := f.opens(jobA); !slices.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
	if len(f.posts) < 6+1+3 {
		t.Fatalf("lost acknowledgements must cause re-sends; posts: %v", f.posts)
	}
}

// A 409 missing_batches sends the named batches again from the spool,
// then the complete.
func TestSpoolResendsMissingBatches(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	f := newFakeIngest(t)
	sp.Put(jobA, 1, batchOf(1, 22))
	sp.Put(jobA, 2, batchOf(2, 80))
	sp.StartJob(jobA) // running: acked batches are kept for a 409
	sendUntil(t, sp, f, "both batches", func() bool { return len(f.opens(jobA)) == 2 })
	f.set(func(f *fakeIngest) { delete(f.batches[jobA], 2) }) // ingest lost batch 2
	sp.Put(jobA, 0, completeRequest{Status: "done", Batches: 2})
	sp.EndJob(jobA)
	sendUntil(t, sp, f, "complete to arrive", func() bool { _, ok := f.completed(jobA); return ok })
	want := []string{"aaaaaaaa/results/1", "aaaaaaaa/results/2", "aaaaaaaa/complete", "aaaaaaaa/results/2", "aaaaaaaa/complete"}
	if !slices.Equal(f.posts, want) {
		t.Fatalf("posts %v, want %v", f.posts, want)
	}
	eventually(t, time.Second, "spool to empty", func() bool { return len(spoolFiles(t, dir)) == 0 })
}

// 410 to a results batch drops every message of the job, tells the agent,
// and refuses later ones; other jobs are unaffected. A message refused for good (400) is
// moved aside and does not block the rest.
func TestSpoolGoneAndRejected(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	var goneCalls []string
	sp.onGone = func(id string) { goneCalls = append(goneCalls, id) }
	f := newFakeIngest(t)
	f.gone[jobA] = true
	sp.Put(jobA, 1, batchOf(1, 22))
	sp.Put(jobA, 2, batchOf(2, 23))
	sp.Put(jobB, 1, batchOf(0, 24)) // its body says batch 0: ingest answers 400
	sp.Put(jobB, 1, batchOf(1, 25))
	sp.Put(jobB, 0, completeRequest{Status: "done", Batches: 1})
	sendUntil(t, sp, f, "job B to complete", func() bool { _, ok := f.completed(jobB); return ok })
	if !slices.Equal(goneCalls, []string{jobA}) || !sp.Gone(jobA) {
		t.Fatalf("onGone calls %v", goneCalls)
	}
	sp.Put(jobA, 3, batchOf(3, 26))
	if names := spoolFiles(t, dir); !slices.Equal(names, []string{"rejected"}) {
		t.Fatalf("spool holds %v; want only rejected/", names)
	}
	if rej := spoolFiles(t, filepath.Join(dir, "rejected")); len(rej) != 1 || !strings.Contains(rej[0], jobB) {
		t.Fatalf("rejected/ holds %v", rej)
	}
}

// Acked batches of a job that will never complete (the process running it
// died) are removed at start; those of a job whose complete waits are kept.
func TestSpoolSweep(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	f := newFakeIngest(t)
	f.down = true
	sp.StartJob(jobA)
	sp.StartJob(jobB)
	sp.Put(jobA, 1, batchOf(1, 22))
	sp.Put(jobB, 1, batchOf(1, 23))
	f.set(func(f *fakeIngest) { f.down = false })
	sendUntil(t, sp, f, "both acked", func() bool { return len(f.opens(jobA))+len(f.opens(jobB)) == 2 })
	f.set(func(f *fakeIngest) { f.down = true })
	sp.Put(jobB, 0, completeRequest{Status: "done", Batches: 1})
	openTestSpool(t, dir) // restart
	names := spoolFiles(t, dir)
	if len(names) != 2 || !strings.HasSuffix(names[0], jobB+"-b1.acked") || !strings.HasSuffix(names[1], jobB+"-complete.json") {
		t.Fatalf("after sweep: %v; want job B's acked batch and complete only", names)
	}
}

func TestParseEntry(t *testing.T) {
	good := map[string]entry{
		"00000000000000000007-" + jobA + "-b12.json":      {seq: 7, job: jobA, batch: 12},
		"00000000000000000008-" + jobA + "-b1.acked":      {seq: 8, job: jobA, batch: 1, acked: true},
		"00000000000000000009-" + jobA + "-complete.json": {seq: 9, job: jobA},
	}
	for name, want := range good {
		want.name = name
		if got, ok := parseEntry(name); !ok || got != want {
			t.Errorf("%s: %+v %v", name, got, ok)
		}
	}
	for _, name := range []string{
		"00000000000000000009-" + jobA + "-complete.acked", "00000000000000000009-" + jobA + "-b0.json",
		"0000000000000000009-" + jobA + "-b1.json", "00000000000000000009-" + jobA + "-x1.json",
		"00000000000000000009-../../../etc/passwd-b1.json", ".tmp-x", "rejected",
	} {
		if _, ok := parseEntry(name); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The answers ingest gives input it can never store (400, 422: a NUL, a batch number out of
// range, a result outside the job's lease) are not retried: the message is set aside after one
// try, and the log names the field ingest refused and says it is not retried.
func TestSpoolDoesNotRetryARefusedBatch(t *testing.T) {
	var posts atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"error":{"code":"outside_lease","message":"observed_at is outside this job's lease","field":"results[0].observed_at"}}`))
	}))
	defer ts.Close()
	dir := t.TempDir()
	var logs bytes.Buffer
	var mu sync.Mutex
	sp, err := OpenSpool(dir, slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil)))
	if err != nil {
		t.Fatal(err)
	}
	sp.backoffMin, sp.backoffMax = time.Millisecond, time.Millisecond
	c, err := newClient(ts.URL, "", "msk_test", true)
	if err != nil {
		t.Fatal(err)
	}
	sp.Put(jobA, 1, batchOf(1, 22))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sp.Send(ctx, c, nil) }()
	eventually(t, 5*time.Second, "the batch to be set aside", func() bool {
		rej, _ := os.ReadDir(filepath.Join(dir, "rejected"))
		return len(rej) == 1
	})
	time.Sleep(50 * time.Millisecond) // fifty backoffs' time: a retry would have come
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if n := posts.Load(); n != 1 {
		t.Fatalf("a refused batch was sent %d times", n)
	}
	if line := logs.String(); !strings.Contains(line, "not retried") || !strings.Contains(line, "results[0].observed_at") {
		t.Fatalf("the log does not say what was refused and that it is not retried:\n%s", line)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A job re-queued while this scanner could not reach ingest: ingest still
// takes the results it observed, but its progress and completion are 410.
// Giving up the lease (410 to progress) keeps the batches waiting, and the
// one the stopping scan spools after it; 410 to the complete drops only the
// complete. Every result arrives, in order, and the spool ends empty.
func TestSpoolSendsAFormerHoldersResults(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	var goneCalls []string
	sp.onGone = func(id string) { goneCalls = append(goneCalls, id) }
	f := newFakeIngest(t)
	f.former[jobA], f.former[jobB] = true, true
	sp.StartJob(jobA)
	sp.Put(jobA, 1, batchOf(1, 22))
	sp.Put(jobA, 2, batchOf(2, 80))
	sp.DropJob(jobA)                 // its progress was answered 410
	sp.Put(jobA, 3, batchOf(3, 443)) // the scan's last batch, spooled as it stops
	sp.Put(jobA, 0, completeRequest{Status: "cancelled", Batches: 3})
	sp.EndJob(jobA)
	sp.Put(jobB, 1, batchOf(1, 8080)) // a job whose completion ingest answers 410
	sp.Put(jobB, 0, completeRequest{Status: "done", Batches: 1})
	sendUntil(t, sp, f, "every result to arrive", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(goneCalls) == 1 && len(f.posts) == 4
	})
	if want := []string{"aaaaaaaa/results/1", "aaaaaaaa/results/2", "aaaaaaaa/results/3", "bbbbbbbb/results/1"}; !slices.Equal(f.posts, want) {
		t.Fatalf("arrival order %v, want %v", f.posts, want)
	}
	if got := f.opens(jobA); !slices.Equal(got, []string{"127.0.0.1 22", "127.0.0.1 443", "127.0.0.1 80"}) {
		t.Fatalf("stored for the job given up %v", got)
	}
	if _, ok := f.completed(jobA); ok {
		t.Fatal("the completion of a job given up was sent")
	}
	if !slices.Equal(goneCalls, []string{jobB}) || !sp.Gone(jobB) {
		t.Fatalf("onGone calls %v", goneCalls)
	}
	eventually(t, time.Second, "spool to empty", func() bool { return len(spoolFiles(t, dir)) == 0 })
	// Leased again (a vantage job comes back to its scanner): a new lease, whose
	// completion is sent.
	sp.StartJob(jobA)
	sp.Put(jobA, 0, completeRequest{Status: "done"})
	if n := len(spoolFiles(t, dir)); n != 1 {
		t.Fatalf("a new lease's completion was not spooled: %d files", n)
	}
}
