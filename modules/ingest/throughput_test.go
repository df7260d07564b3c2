package ingest

import (
	"context"
	"testing"

	"mipo/app/apptest"
)

func TestEachNodeRecordsItsThroughput(t *testing.T) {
	db := apptest.Databases(t).Jobs
	ctx := context.Background()
	a, b := newMeter("ingest-a:1"), newMeter("ingest-b:2")
	a.requests.Add(10)
	a.results.Add(50000)
	b.requests.Add(3)
	for _, m := range []*meter{a, b} {
		if err := m.flush(ctx, db, false); err != nil {
			t.Fatal(err)
		}
	}
	a.results.Add(1000)
	if err := a.flush(ctx, db, true); err != nil {
		t.Fatal(err)
	}
	nodes, err := Nodes(ctx, db)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("nodes %+v %v", nodes, err)
	}
	got := map[string]Node{}
	for _, n := range nodes {
		got[n.Node] = n
	}
	na, nb := got["ingest-a:1"], got["ingest-b:2"]
	if na.ResultsTotal != 51000 || na.RequestsTotal != 10 || na.ResultsPerS != 0 || na.PeakResultsPerS <= 0 {
		t.Fatalf("node a after its last flush: %+v", na)
	}
	if nb.RequestsTotal != 3 || nb.RequestsPerS <= 0 || nb.ResultsTotal != 0 {
		t.Fatalf("node b: %+v", nb)
	}
}
