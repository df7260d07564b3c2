package app_test

import (
	"context"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
)

func leaderApp(t *testing.T, dbs *apptest.DBs, leading chan<- string, name string) (*app.App, *app.Leadership) {
	var l *app.Leadership
	reg := app.NewRegistry()
	reg.Role(app.RoleDispatcher, "worker")
	reg.Register(app.Module{Name: "worker", Provision: func(m *app.Mount) error {
		l = m.Lead("test-work", func(ctx context.Context) {
			leading <- name
			<-ctx.Done()
		})
		return nil
	}})
	own := &app.Databases{Config: dbs.Pool(t, app.DBConfig), Results: dbs.Pool(t, app.DBResults), Jobs: dbs.Pool(t, app.DBJobs)}
	a, err := app.New(apptest.Config(t, dbs, app.RoleDispatcher), app.Options{Registry: reg, DB: own, Logger: apptest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, l
}

func TestOneLeaderAndAStandbyThatTakesOver(t *testing.T) {
	dbs := apptest.Databases(t)
	leading := make(chan string, 4)
	first, l1 := leaderApp(t, dbs, leading, "first")
	if got := <-leading; got != "first" {
		t.Fatalf("%s leads", got)
	}
	second, l2 := leaderApp(t, dbs, leading, "second")
	defer second.Stop(context.Background())
	select {
	case got := <-leading:
		t.Fatalf("%s leads beside the first", got)
	case <-time.After(2500 * time.Millisecond):
	}
	if !l1.Leading() || l2.Leading() {
		t.Fatal("leadership flags disagree")
	}
	start := time.Now()
	first.Stop(context.Background())
	select {
	case got := <-leading:
		if got != "second" {
			t.Fatalf("%s took over", got)
		}
		t.Logf("the standby took over %s after the leader stopped", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the standby did not take over")
	}
}
