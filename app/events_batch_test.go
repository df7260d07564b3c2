package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
)

// batchApp is a started process with one module whose batch handler takes "thing.*".
func batchApp(t *testing.T, dbs *apptest.DBs, fn app.BatchHandler) *app.App {
	t.Helper()
	reg := app.NewRegistry()
	reg.Role(app.RoleManager, "batcher")
	reg.Register(app.Module{Name: "batcher", Provision: func(m *app.Mount) error {
		if fn != nil {
			m.OnBatch("things", "thing.*", fn)
		}
		return nil
	}})
	own := &app.Databases{Config: dbs.Pool(t, app.DBConfig), Results: dbs.Pool(t, app.DBResults), Jobs: dbs.Pool(t, app.DBJobs)}
	a, err := app.New(apptest.Config(t, dbs, app.RoleManager), app.Options{Registry: reg, DB: own, Logger: apptest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	return a
}

// seen counts how often each event reached a handler.
type seen struct {
	mu      sync.Mutex
	times   map[string]int
	batches []int
}

func (s *seen) add(es []app.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.times == nil {
		s.times = map[string]int{}
	}
	for _, e := range es {
		s.times[e.Subject]++
	}
	s.batches = append(s.batches, len(es))
}

func (s *seen) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.times) }

func things(n int, prefix string) []app.Event {
	es := make([]app.Event, n)
	for i := range es {
		es[i] = app.Event{Type: "thing.happened", Subject: fmt.Sprintf("%s%d", prefix, i)}
	}
	return es
}

func pendingDeliveries(t *testing.T, dbs *apptest.DBs) (n int) {
	t.Helper()
	if err := dbs.Databases.Pool(app.DBJobs).QueryRow(context.Background(),
		`SELECT count(*) FROM event_deliveries WHERE subscriber = 'batcher.things'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A batch handler gets the claimed events in one call; when it fails, every event of that
// batch still arrives, and nothing is left undelivered.
func TestBatchHandlerGetsEveryEventAcrossAFailure(t *testing.T) {
	dbs := apptest.Databases(t)
	var got seen
	var failed atomic.Bool
	batchApp(t, dbs, func(_ context.Context, es []app.Event) error {
		if len(es) > 1 && failed.CompareAndSwap(false, true) {
			return errors.New("not yet")
		}
		got.add(es)
		return nil
	})
	emitter := batchApp(t, dbs, nil)
	if err := emitter.Events.EmitAll(context.Background(), things(40, "t")...); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 15*time.Second, "all 40 events handled", func() bool { return got.count() == 40 && pendingDeliveries(t, dbs) == 0 })
	if !failed.Load() {
		t.Fatalf("no call had more than one event (batches %v): the events were not handed over together", got.batches)
	}
}

// An event its handler always refuses stays behind to be retried, alone; the events claimed
// with it are handled.
func TestAPoisonEventHoldsBackOnlyItself(t *testing.T) {
	dbs := apptest.Databases(t)
	var got seen
	batchApp(t, dbs, func(_ context.Context, es []app.Event) error {
		for _, e := range es {
			if e.Subject == "t3" {
				return errors.New("cannot handle t3")
			}
		}
		got.add(es)
		return nil
	})
	emitter := batchApp(t, dbs, nil)
	if err := emitter.Events.EmitAll(context.Background(), things(10, "t")...); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 15*time.Second, "the nine good events handled", func() bool { return got.count() == 9 })
	var subject, lastError string
	var attempts int
	err := dbs.Databases.Pool(app.DBJobs).QueryRow(context.Background(), `
		SELECT e.subject, d.attempts, d.last_error FROM event_deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.subscriber = 'batcher.things'`).Scan(&subject, &attempts, &lastError)
	if err != nil || subject != "t3" || attempts < 1 || lastError != "cannot handle t3" {
		t.Fatalf("left behind %q after %d attempts (%q, %v); want only t3, failed", subject, attempts, lastError, err)
	}
}

// Two processes running the same batch subscriber never both handle one delivery.
func TestTwoProcessesNeverHandleTheSameBatch(t *testing.T) {
	dbs := apptest.Databases(t)
	var got seen
	handler := func(_ context.Context, es []app.Event) error {
		time.Sleep(5 * time.Millisecond) // hold the claim a while, as real work does
		got.add(es)
		return nil
	}
	batchApp(t, dbs, handler)
	batchApp(t, dbs, handler)
	emitter := batchApp(t, dbs, nil)
	const n = 600
	for i := 0; i < n; i += 100 {
		if err := emitter.Events.EmitAll(context.Background(), things(100, fmt.Sprintf("b%d-", i))...); err != nil {
			t.Fatal(err)
		}
	}
	apptest.WaitFor(t, 30*time.Second, "all events handled", func() bool { return got.count() == n && pendingDeliveries(t, dbs) == 0 })
	got.mu.Lock()
	defer got.mu.Unlock()
	for subject, times := range got.times {
		if times != 1 {
			t.Errorf("%s handled %d times", subject, times)
		}
	}
}
