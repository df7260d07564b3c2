package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeIngest is a test double for the server side of the scanner protocol
// (the real ingest is tested end to end elsewhere). It keeps a
// de-duplicated view of the results, as ingest does, and can be told to
// fail in the ways the spool must survive.
type fakeIngest struct {
	t  testing.TB
	ts *httptest.Server

	mu         sync.Mutex
	token, key string
	queue      []string                        // job JSON waiting to be leased
	batches    map[string]map[int][]wireResult // job -> batch -> results: the de-duplicated view
	posts      []string                        // "job/results/N" or "job/complete", in arrival order
	completes  map[string]completeRequest
	progress   map[string][]progressRequest
	heartbeats []heartbeatRequest
	cancel     map[string]bool // answer cancel: true to progress
	gone       map[string]bool // answer 410 job_gone
	former     map[string]bool // the job was re-queued away: results accepted, progress and complete 410
	hbSeconds  int

	// Failure injection for results and complete calls.
	failBefore int  // answer 503 without storing, this many times
	failAfter  int  // store, then answer 503 (a lost acknowledgement), this many times
	down       bool // answer 503 to every results and complete call
	acceptOnly int  // when > 0: accept this many more results calls, then go down
}

func newFakeIngest(t testing.TB) *fakeIngest {
	f := &fakeIngest{t: t, token: "mpt_test", key: "msk_test", hbSeconds: 60,
		batches: map[string]map[int][]wireResult{}, completes: map[string]completeRequest{},
		progress: map[string][]progressRequest{}, cancel: map[string]bool{}, gone: map[string]bool{}, former: map[string]bool{}}
	f.ts = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.ts.Close)
	return f
}

func apiError(w http.ResponseWriter, status int, code string, detail any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": code, "field": "", "detail": detail}})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeIngest) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost {
		apiError(w, 405, "method", nil)
		return
	}
	if r.URL.Path == "/scanner/v1/register" {
		var req registerRequest
		json.Unmarshal(body, &req)
		f.mu.Lock()
		defer f.mu.Unlock()
		if req.Token != f.token || req.Capacity.MaxConcurrency <= 0 || req.Capacity.FDLimit <= 0 {
			apiError(w, 401, "invalid_token", nil)
			return
		}
		f.token = "" // used once
		reply(w, registerResponse{ScannerID: "9d3c1f5e-2a7b-4c1e-9f1a-0b2c3d4e5f60", Name: req.Hostname, APIKey: f.key, HeartbeatSeconds: 60})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		apiError(w, 401, "unauthorized", nil)
		return
	}
	switch {
	case r.URL.Path == "/scanner/v1/heartbeat":
		var req heartbeatRequest
		if err := json.Unmarshal(body, &req); err != nil || req.ActiveJobs == nil {
			apiError(w, 400, "bad_heartbeat", nil)
			return
		}
		f.mu.Lock()
		f.heartbeats = append(f.heartbeats, req)
		hb := f.hbSeconds
		f.mu.Unlock()
		reply(w, heartbeatResponse{ServerTime: time.Now().UTC().Format(time.RFC3339Nano), HeartbeatSeconds: hb})
	case r.URL.Path == "/scanner/v1/jobs/lease":
		var req leaseRequest
		json.Unmarshal(body, &req)
		deadline := time.Now().Add(time.Duration(req.WaitSeconds) * time.Second)
		for {
			f.mu.Lock()
			if len(f.queue) > 0 {
				job := f.queue[0]
				f.queue = f.queue[1:]
				f.mu.Unlock()
				w.Write([]byte(`{"job": ` + job + `}`))
				return
			}
			f.mu.Unlock()
			if time.Now().After(deadline) || r.Context().Err() != nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	case strings.HasPrefix(r.URL.Path, "/scanner/v1/jobs/"):
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/scanner/v1/jobs/"), "/")
		if len(parts) != 2 {
			apiError(w, 404, "not_found", nil)
			return
		}
		f.job(w, parts[0], parts[1], body)
	default:
		apiError(w, 404, "not_found", nil)
	}
}

func (f *fakeIngest) job(w http.ResponseWriter, id, call string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone[id] || f.former[id] && call != "results" {
		apiError(w, 410, "job_gone", nil)
		return
	}
	if call == "progress" {
		var p progressRequest
		json.Unmarshal(body, &p)
		f.progress[id] = append(f.progress[id], p)
		reply(w, progressResponse{Cancel: f.cancel[id]})
		return
	}
	if call != "results" && call != "complete" {
		apiError(w, 404, "not_found", nil)
		return
	}
	if f.acceptOnly > 0 && call == "results" {
		if f.acceptOnly--; f.acceptOnly == 0 {
			defer func() { f.down = true }()
		}
	}
	if f.down {
		apiError(w, 503, "unavailable", nil)
		return
	}
	if f.failBefore > 0 {
		f.failBefore--
		apiError(w, 503, "unavailable", nil)
		return
	}
	lostAck := false
	if f.failAfter > 0 {
		f.failAfter--
		lostAck = true
	}
	var out any
	if call == "results" {
		var req resultsRequest
		if err := json.Unmarshal(body, &req); err != nil || req.Batch < 1 {
			apiError(w, 400, "bad_batch", nil)
			return
		}
		f.posts = append(f.posts, fmt.Sprintf("%s/results/%d", id[:8], req.Batch))
		if f.batches[id] == nil {
			f.batches[id] = map[int][]wireResult{}
		}
		_, dup := f.batches[id][req.Batch]
		if !dup {
			f.batches[id][req.Batch] = req.Results
		}
		out = map[string]any{"accepted": len(req.Results), "duplicate": dup}
	} else {
		var req completeRequest
		json.Unmarshal(body, &req)
		f.posts = append(f.posts, id[:8]+"/complete")
		var missing []int
		for b := 1; b <= req.Batches; b++ {
			if _, ok := f.batches[id][b]; !ok {
				missing = append(missing, b)
			}
		}
		if missing != nil {
			apiError(w, 409, "missing_batches", map[string]any{"missing": missing})
			return
		}
		f.completes[id] = req
		out = map[string]any{}
	}
	if lostAck {
		apiError(w, 503, "unavailable", nil)
		return
	}
	reply(w, out)
}

// opens is the de-duplicated view of a job's open ports, as "addr port",
// sorted; it fails the test if one port arrived in two batches.
func (f *fakeIngest) opens(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, rs := range f.batches[id] {
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%s %d", r.Address, r.Port))
		}
	}
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		f.t.Errorf("job %s: a result arrived in two batches: %v", id, out)
	}
	return out
}

func (f *fakeIngest) completed(id string) (completeRequest, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.completes[id]
	return c, ok
}

func (f *fakeIngest) set(fn func(*fakeIngest)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// eventually polls cond every 10 ms until it holds or the time is up.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", within, what)
		}
	}
}
