package discovery

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"

	"mipo/app"
	"mipo/modules/config"
)

// runnerOf builds a runner over the test server's parts, to drive scheduled runs without
// waiting for the process's minute-long job interval.
func (f *fixture) runner() *runner {
	a := f.srv.App
	m := &app.Mount{Module: "discovery", Config: a.Config, Log: a.Log, Clock: a.Clock, ConfigDB: a.DB.ConfigDB(), Events: a.Events, Secrets: a.Secrets}
	return &runner{m: m, managed: config.NewManaged(a.Clock), rnd: rand.New(rand.NewPCG(1, 2))}
}

func TestASourceRunsOnItsScheduleAndMovesItsNextRunOn(t *testing.T) {
	f := newFixture(t)
	src := f.source(map[string]any{"name": "cmdb", "kind": "cmdb", "settings": map[string]any{"format": "csv"},
		"timing": map[string]any{"preset": "hourly", "timezone": "UTC"}})
	f.run(src.ID, map[string]any{"dry_run": true, "upload": csvOf("127.0.1.0/24,a")})
	if src.NextRunAt == nil {
		t.Fatal("a scheduled source has no next run")
	}
	// A dry run keeps nothing; upload the export as a source without a URL would have it.
	f.srv.DBs.Config.Exec(context.Background(), `UPDATE discovery_sources SET upload = $2, next_run_at = now() - interval '1 minute' WHERE id = $1`,
		src.ID, csvOf("127.0.1.0/24,a"))
	if err := f.runner().runDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.members(src.GroupID); !slices.Equal(got, []string{"127.0.1.0/24"}) {
		t.Fatalf("the scheduled run did not apply: %v", got)
	}
	var after Source
	f.must(f.owner.Get("/api/v1/discovery/sources/"+src.ID), http.StatusOK, &after)
	if after.NextRunAt == nil || !after.NextRunAt.After(*after.LastRunAt) || after.LastStatus != "ok" {
		t.Fatalf("after the scheduled run: next %v last %v status %s", after.NextRunAt, after.LastRunAt, after.LastStatus)
	}
}

func TestASourceThatRequiresApprovalChangesNothingUntilApproved(t *testing.T) {
	f := newFixture(t)
	src := f.source(map[string]any{"name": "cmdb", "kind": "cmdb", "require_approval": true, "settings": map[string]any{"format": "csv"}})
	r := f.run(src.ID, map[string]any{"upload": csvOf("127.0.1.0/24,a")})
	if r.Status != "pending_approval" || len(f.members(src.GroupID)) != 0 {
		t.Fatalf("before approval: %s %v", r.Status, f.members(src.GroupID))
	}
	var approved Run
	f.must(f.owner.Post("/api/v1/discovery/runs/"+r.ID+"/approve", nil), http.StatusOK, &approved)
	if approved.Status != "applied" || !slices.Equal(f.members(src.GroupID), []string{"127.0.1.0/24"}) {
		t.Fatalf("after approval: %s %v", approved.Status, f.members(src.GroupID))
	}
	if r := f.owner.Post("/api/v1/discovery/runs/"+r.ID+"/approve", nil); r.Status != http.StatusConflict {
		t.Fatalf("approving twice: %d", r.Status)
	}
}
