package health

import (
	"context"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/audit"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/scans" // the dispatcher, which leads
	_ "mipo/modules/settings"
)

func node(o Overview, id string) Node {
	for _, n := range o.Nodes {
		if n.ID == id {
			return n
		}
	}
	return Node{}
}

// The backup node follows the backup events (health never reads the backup module's tables):
// a failed backup turns it red, the next success green. The dispatcher node names the process
// that leads and since when.
func TestBackupAdherenceAndDispatcherLeader(t *testing.T) {
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off", "MIPO_ROLE": "manager,dispatcher",
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := apptest.Start(t, cfg, dbs, app.Options{})
	owner := rbactest.Owner(t, srv)
	ctx := context.Background()
	get := func(id string) Node {
		var o Overview
		owner.Get("/api/v1/health/overview").JSON(t, &o)
		return node(o, id)
	}
	apptest.WaitFor(t, 40*time.Second, "the dispatcher node naming its leader", func() bool {
		n := get(app.RoleDispatcher)
		return n.Status == StatusOK && n.Check["process"] != nil && n.Check["since"] != nil
	})
	if err := srv.App.Events.Emit(ctx, eventBackupFailed, "config", map[string]any{"kind": "config", "error": "disk full"}); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 40*time.Second, "the backup node red after a failed backup", func() bool { return get(app.RoleBackup).Status == StatusDown })
	if err := srv.App.Events.Emit(ctx, eventBackupSucceeded, "config", map[string]any{"kind": "config"}); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 40*time.Second, "the backup node no longer red after the next success", func() bool {
		n := get(app.RoleBackup)
		return n.Status != StatusDown && n.Check["kinds"] != nil
	})
}
