package alarms

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
)

// benchService is the lifecycle service on fresh databases, with no process around it.
func benchService(b *testing.B) *Service {
	dbs := apptest.Databases(b)
	return NewService(dbs.Databases, app.SystemClock{}, apptest.Logger(b))
}

// BenchmarkApplyDedupe is the dedupe path at the bus's batch size: 50 events of a flapping
// fleet (100 scanners reporting offline over and over) through the rules into alarms per
// transaction. ns/op is per event; events/s is the figure the issue asks for.
func BenchmarkApplyDedupe(b *testing.B) {
	s := benchService(b)
	ctx := context.Background()
	const batch = 50
	events := make([]app.Event, batch)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += batch {
		for j := range events {
			events[j] = app.Event{Type: "scanner.offline", Subject: fmt.Sprintf("s%d", (i+j)%100), Payload: []byte(`{"name":"edge"}`)}
		}
		if err := s.Apply(ctx, events...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkApplyOneByOne is the same traffic one event per transaction, as the bus hands a
// handler its events today.
func BenchmarkApplyOneByOne(b *testing.B) {
	s := benchService(b)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := s.Apply(ctx, app.Event{Type: "scanner.offline", Subject: fmt.Sprintf("s%d", i%100), Payload: []byte(`{}`)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
