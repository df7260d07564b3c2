package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// simClock is simulated time: each wait the spool asks for passes at once
// and moves the clock on by its length, then calls onAdvance.
type simClock struct {
	mu        sync.Mutex
	now       time.Duration
	waits     []time.Duration
	onAdvance func(now time.Duration)
}

func (c *simClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now += d
	c.waits = append(c.waits, d)
	now, f := c.now, c.onAdvance
	c.mu.Unlock()
	if f != nil {
		f(now)
	}
	ch := make(chan time.Time, 1)
	ch <- time.Unix(0, 0).Add(now)
	return ch
}

func (c *simClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// Successive waits grow from the minimum, vary, and never pass the cap.
func TestBackoffIsCappedJitteredAndGrows(t *testing.T) {
	b := backoff{min: time.Second, max: 60 * time.Second, rand: rand.Float64}
	var got []time.Duration
	for range 40 {
		got = append(got, b.next())
	}
	base := time.Second
	for i, d := range got {
		lo := time.Duration(float64(base) * 0.75)
		hi := min(time.Duration(float64(base)*1.25), 60*time.Second)
		if d < lo || d > hi {
			t.Fatalf("wait %d is %v; want within [%v, %v] (base %v ±25 %%, capped at 60 s): %v", i, d, lo, hi, base, got)
		}
		base = min(2*base, 60*time.Second)
	}
	if !(got[0] < got[3] && got[3] < got[6]) { // 0.75–1.25 s, 6–10 s, 45–60 s
		t.Fatalf("waits do not grow: %v", got[:7])
	}
	capped := got[10:]
	if slices.Min(capped) == slices.Max(capped) {
		t.Fatalf("waits at the cap do not vary (no jitter): %v", capped)
	}
	if slices.Max(got) > 60*time.Second {
		t.Fatalf("a wait passes the cap: %v", got)
	}
	// The extremes of the jitter: never under 75 % of the base nor over the cap.
	lo := backoff{min: time.Second, max: 60 * time.Second, rand: func() float64 { return 0 }}
	hi := backoff{min: time.Second, max: 60 * time.Second, rand: func() float64 { return 0.999999 }}
	for i := range 10 {
		l, h := lo.next(), hi.next()
		if i == 9 && (l != 45*time.Second || h != 60*time.Second) {
			t.Fatalf("at the cap: lowest %v (want 45s), highest %v (want 60s)", l, h)
		}
	}
	b.reset()
	if d := b.next(); d > 1250*time.Millisecond {
		t.Fatalf("after a success the wait starts again at 1 s ±25 %%, got %v", d)
	}
}

func TestClassify(t *testing.T) {
	api := func(status int, code string) error { return &APIError{Status: status, Code: code} }
	cases := []struct {
		err      error
		complete bool
		want     verdict
	}{
		{nil, false, delivered},
		{errors.New("connection refused"), false, retry},
		{io.ErrUnexpectedEOF, true, retry},
		{api(429, "too_many_requests"), false, retry},
		{api(500, "internal"), false, retry},
		{api(502, ""), false, retry},
		{api(503, "unavailable"), true, retry},
		{api(504, ""), false, retry},
		{api(401, "invalid_key"), false, refused},
		{api(403, "scanner_disabled"), true, refused},
		{api(403, "binding_mismatch"), false, refused},
		{api(410, "job_gone"), false, jobGone},
		{api(409, "missing_batches"), true, resendMissing},
		{api(409, "missing_batches"), false, setAside},
		{api(409, "other"), true, setAside},
		{api(400, "bad_request"), false, setAside},
		{api(404, "not_found"), false, setAside},
		{api(408, ""), false, setAside},
		{api(413, "too_large"), false, setAside},
		{api(415, "unsupported_media_type"), false, setAside},
		{api(422, "outside_lease"), false, setAside},
		{fmt.Errorf("wrapped: %w", api(429, "")), false, retry},
	}
	for _, c := range cases {
		if got := classify(c.err, c.complete); got != c.want {
			t.Errorf("classify(%v, complete=%v) = %d; want %d", c.err, c.complete, got, c.want)
		}
	}
	// No 4xx but 429 is ever retried.
	for status := 400; status < 500; status++ {
		if v := classify(api(status, ""), true); v == retry && status != 429 {
			t.Errorf("%d is retried", status)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, " 30 ": 30 * time.Second, "-3": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("Retry-After %q: %v; want %v", in, got, want)
		}
	}
}

// dayIngest is ingest for the 24-hour test: down (503 with Retry-After,
// then connections cut without an answer) until up is set, then it stores
// every results batch and records the order they came in.
type dayIngest struct {
	mode  atomic.Int32 // 0: 503, 1: connection cut, 2: up
	mu    sync.Mutex
	got   []int
	tries atomic.Int64
}

func (d *dayIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.tries.Add(1)
	switch d.mode.Load() {
	case 0:
		w.Header().Set("Retry-After", "30")
		apiError(w, http.StatusServiceUnavailable, "unavailable", nil)
	case 1:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	default:
		var in resultsRequest
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			apiError(w, http.StatusBadRequest, "bad_json", nil)
			return
		}
		d.mu.Lock()
		d.got = append(d.got, in.Batch)
		d.mu.Unlock()
		reply(w, map[string]any{"accepted": len(in.Results)})
	}
}

func dirBytes(t *testing.T, dir string) (files int, bytes int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			files++
			bytes += info.Size()
		}
	}
	return files, bytes
}

// Ingest is down for 24 simulated hours (12 h answering 503 with
// Retry-After, 12 h cutting connections) while the scanner spools a batch
// every 30 s; then it comes back. Every batch arrives exactly once, in the
// order it was written, and the spool ends empty. The spool has no size
// cap: it holds every message on disk, with nothing beside them.
func TestSpoolHoldsADayOfDowntime(t *testing.T) {
	if testing.Short() {
		t.Skip("writes thousands of files")
	}
	const every, outage = 30 * time.Second, 24 * time.Hour
	ing := &dayIngest{}
	ts := httptest.NewServer(ing)
	defer ts.Close()
	dir := t.TempDir()
	sp, clk := simSpool(t, dir)

	var putErr error
	var wrote int64 // bytes of every message written
	batches, next := 0, time.Duration(0)
	peakFiles, peakBytes := 0, int64(0)
	put := func() {
		batches++
		body := batchOf(batches, uint16(1+batches%65535))
		data, _ := json.Marshal(body)
		wrote += int64(len(data))
		if err := sp.Put(jobA, batches, body); err != nil && putErr == nil {
			putErr = err
		}
	}
	put() // the first batch meets ingest down and starts the backoff
	clk.onAdvance = func(now time.Duration) {
		for next+every <= now && next+every <= outage {
			next += every
			put()
		}
		if now >= 12*time.Hour {
			ing.mode.CompareAndSwap(0, 1)
		}
		if next%time.Hour == 0 {
			if f, b := dirBytes(t, dir); b > peakBytes {
				peakFiles, peakBytes = f, b
			}
		}
		if now >= outage {
			ing.mode.Store(2)
		}
	}

	c, err := newClient(ts.URL, "", "msk_test", true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sp.Send(ctx, c, nil) }()
	eventually(t, 3*time.Minute, "the spool to drain after the outage", func() bool {
		ing.mu.Lock()
		defer ing.mu.Unlock()
		return ing.mode.Load() == 2 && len(ing.got) >= batches
	})
	cancel()
	<-done
	if putErr != nil {
		t.Fatal(putErr)
	}

	want := 1 + int(outage/every)
	if batches != want {
		t.Fatalf("%d batches spooled during the outage; want %d", batches, want)
	}
	ing.mu.Lock()
	got := slices.Clone(ing.got)
	ing.mu.Unlock()
	for i, b := range got {
		if b != i+1 {
			t.Fatalf("delivery %d was batch %d: not each batch once in order (%d deliveries for %d batches)", i, b, len(got), batches)
		}
	}
	if len(got) != batches {
		t.Fatalf("%d deliveries for %d batches", len(got), batches)
	}
	if names := spoolFiles(t, dir); len(names) != 0 {
		t.Fatalf("the spool is not empty after the drain: %d files, first %s", len(names), names[0])
	}
	if sp.Pending() != 0 || sp.Rejected() != 0 {
		t.Fatalf("pending %d, rejected %d; want 0, 0", sp.Pending(), sp.Rejected())
	}
	// Disk: at the outage's peak the spool held its messages and nothing else (no temporary
	// files, no copies).
	if peakFiles != batches || peakBytes != wrote {
		t.Fatalf("peak spool %d files, %d bytes; want %d files of %d bytes", peakFiles, peakBytes, batches, wrote)
	}
	waits := clk.Waits()
	var simulated time.Duration
	for _, w := range waits {
		simulated += w
		if w > 60*time.Second {
			t.Fatalf("a wait of %v passes the 60 s cap", w)
		}
	}
	if simulated < outage {
		t.Fatalf("only %v simulated", simulated)
	}
	t.Logf("outage %v: %d batches spooled, peak %d files / %d bytes (%d bytes a batch), %d tries while down, %d waits, all delivered in order once",
		outage, batches, peakFiles, peakBytes, peakBytes/int64(peakFiles), ing.tries.Load()-int64(len(got)), len(waits))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// statusIngest answers each results batch with the status the test sets
// for its number (200 when none), counting the tries per batch.
type statusIngest struct {
	mu         sync.Mutex
	answer     map[int]func(w http.ResponseWriter) bool // true: answered; false: fall through to 200
	tries      map[int]int
	got        []int
	heartbeats int
}

func newStatusIngest() *statusIngest {
	return &statusIngest{answer: map[int]func(http.ResponseWriter) bool{}, tries: map[int]int{}}
}

func (s *statusIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/heartbeat") {
		s.heartbeats++
		if f := s.answer[0]; f != nil && f(w) {
			return
		}
		reply(w, map[string]any{"heartbeat_seconds": 60})
		return
	}
	var in resultsRequest
	json.NewDecoder(r.Body).Decode(&in)
	s.tries[in.Batch]++
	if f := s.answer[in.Batch]; f != nil && f(w) {
		return
	}
	s.got = append(s.got, in.Batch)
	reply(w, map[string]any{"accepted": len(in.Results)})
}

func (s *statusIngest) state() (tries map[int]int, got []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.tries), slices.Clone(s.got)
}

func startSender(t *testing.T, sp *Spool, url string) *Client {
	t.Helper()
	c, err := newClient(url, "", "msk_test", true)
	if err != nil {
		t.Fatal(err)
	}
	c.log = discardLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sp.Send(ctx, c, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// 429 with Retry-After: the same batch again after exactly that long, then on.
func TestSpoolRetries429AfterRetryAfter(t *testing.T) {
	ing := newStatusIngest()
	first := true
	ing.answer[1] = func(w http.ResponseWriter) bool {
		if !first {
			return false
		}
		first = false
		w.Header().Set("Retry-After", "7")
		apiError(w, http.StatusTooManyRequests, "too_many_requests", nil)
		return true
	}
	ts := httptest.NewServer(ing)
	defer ts.Close()
	sp, clk := simSpool(t, t.TempDir())
	sp.Put(jobA, 1, batchOf(1, 22))
	sp.Put(jobA, 2, batchOf(2, 80))
	startSender(t, sp, ts.URL)
	eventually(t, 5*time.Second, "both batches delivered", func() bool { _, got := ing.state(); return len(got) == 2 })
	tries, got := ing.state()
	if !slices.Equal(got, []int{1, 2}) || tries[1] != 2 || tries[2] != 1 {
		t.Fatalf("delivered %v with tries %v; want [1 2], batch 1 tried twice", got, tries)
	}
	if w := clk.Waits(); !slices.Equal(w, []time.Duration{7 * time.Second}) {
		t.Fatalf("waits %v; want one of 7s, the Retry-After", w)
	}
}

// 400 and 422 are never retried: the batch goes to rejected/, counted, and
// the batches after it are delivered.
func TestSpoolSetsAside400And422(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			ing := newStatusIngest()
			ing.answer[2] = func(w http.ResponseWriter) bool { apiError(w, status, "refused", nil); return true }
			ts := httptest.NewServer(ing)
			defer ts.Close()
			dir := t.TempDir()
			sp, clk := simSpool(t, dir)
			for b := 1; b <= 3; b++ {
				sp.Put(jobA, b, batchOf(b, 22))
			}
			startSender(t, sp, ts.URL)
			eventually(t, 5*time.Second, "batches 1 and 3 delivered", func() bool { _, got := ing.state(); return len(got) == 2 })
			time.Sleep(50 * time.Millisecond) // a retry would come now
			tries, got := ing.state()
			if !slices.Equal(got, []int{1, 3}) || tries[2] != 1 {
				t.Fatalf("delivered %v, batch 2 tried %d times; want [1 3] and once", got, tries[2])
			}
			rej, _ := os.ReadDir(filepath.Join(dir, "rejected"))
			if len(rej) != 1 || !strings.HasSuffix(rej[0].Name(), "-b2.json") || sp.Rejected() != 1 {
				t.Fatalf("rejected/ holds %v, counted %d; want batch 2, 1", rej, sp.Rejected())
			}
			if w := clk.Waits(); len(w) != 0 {
				t.Fatalf("the spool backed off %v for a %d", w, status)
			}
		})
	}
}

// 401 and 403 stop all sending: one try, then nothing, the messages kept;
// once a call (the heartbeat) succeeds again, the spool sends them.
func TestSpoolStopsSendingWhenRefused(t *testing.T) {
	for _, c := range []struct {
		status int
		code   string
	}{{http.StatusUnauthorized, "invalid_key"}, {http.StatusForbidden, "scanner_disabled"}} {
		t.Run(c.code, func(t *testing.T) {
			ing := newStatusIngest()
			var fixed atomic.Bool
			refuse := func(w http.ResponseWriter) bool {
				if fixed.Load() {
					return false
				}
				apiError(w, c.status, c.code, nil)
				return true
			}
			ing.answer[0], ing.answer[1] = refuse, refuse
			ts := httptest.NewServer(ing)
			defer ts.Close()
			sp, clk := simSpool(t, t.TempDir())
			sp.Put(jobA, 1, batchOf(1, 22))
			sp.Put(jobA, 2, batchOf(2, 80))
			cl := startSender(t, sp, ts.URL)
			eventually(t, 5*time.Second, "the first try", func() bool { tries, _ := ing.state(); return tries[1] == 1 })
			time.Sleep(200 * time.Millisecond)
			tries, got := ing.state()
			if tries[1] != 1 || tries[2] != 0 || len(got) != 0 || sp.Pending() != 2 {
				t.Fatalf("after a %d: tries %v, delivered %v, pending %d; want one try, nothing delivered, 2 pending",
					c.status, tries, got, sp.Pending())
			}
			if r, _ := cl.refused(); r == nil || r.Status != c.status {
				t.Fatalf("the client does not hold the refusal: %v", r)
			}
			if w := clk.Waits(); len(w) != 0 {
				t.Fatalf("the spool kept retrying with backoff %v instead of stopping", w)
			}
			// The heartbeat, still refused, changes nothing.
			if _, err := cl.Heartbeat(context.Background(), heartbeatRequest{}); err == nil {
				t.Fatal("heartbeat accepted while refused")
			}
			time.Sleep(50 * time.Millisecond)
			if tries, _ := ing.state(); tries[1] != 1 {
				t.Fatalf("sending resumed on a refused heartbeat: %v", tries)
			}
			fixed.Store(true)
			if _, err := cl.Heartbeat(context.Background(), heartbeatRequest{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "the spool to send again", func() bool { _, got := ing.state(); return len(got) == 2 })
			if _, got := ing.state(); !slices.Equal(got, []int{1, 2}) {
				t.Fatalf("delivered %v; want [1 2]", got)
			}
		})
	}
}

// simSpool opens a spool in dir whose waits run on a simulated clock.
func simSpool(t *testing.T, dir string) (*Spool, *simClock) {
	t.Helper()
	sp, err := OpenSpool(dir, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	clk := &simClock{}
	sp.clock = clk
	return sp, clk
}
