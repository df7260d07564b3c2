package backup

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/alarms"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/settings"
)

// testConfig is apptest.Config with extra settings (apptest's takes none), on a shared data
// directory so processes of one installation share one .mipo.env.
func testConfig(t testing.TB, dbs *apptest.DBs, dataDir string, roles string, extra map[string]string) *app.Config {
	t.Helper()
	flags := map[string]string{
		"MIPO_DATA_DIR": dataDir, "MIPO_ROLE": roles, "MIPO_TLS": "off", "MIPO_LISTEN": "127.0.0.1:0", "MIPO_SHUTDOWN_TIMEOUT": "2s",
		"MIPO_CONFIG_DSN": dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN": dbs.DSN(app.DBResults), "MIPO_JOBS_DSN": dbs.DSN(app.DBJobs),
		"MIPO_INSTALL_NAME": "lab-east",
	}
	for _, db := range app.DatabaseNames {
		flags["MIPO_"+strings.ToUpper(db)+"_MIGRATE_DSN"] = dbs.OwnerDSN(db)
	}
	for k, v := range extra {
		flags[k] = v
	}
	cfg, err := app.LoadConfig(flags, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The manager of a split topology reaches the backup role only through its internal API;
// the whole cycle (backup, list, verify, a refused and an accepted restore) goes through it.
func TestTheManagerDrivesASeparateBackupRoleThroughItsInternalAPI(t *testing.T) {
	dbs := apptest.Databases(t)
	dataDir := t.TempDir()
	addr := apptest.FreeAddr(t)
	apptest.Start(t, testConfig(t, dbs, dataDir, "backup", map[string]string{"MIPO_BACKUP_LISTEN": addr}), dbs, app.Options{})
	mgr := apptest.Start(t, testConfig(t, dbs, dataDir, "manager", map[string]string{"MIPO_BACKUP_URL": "http://" + addr}), dbs, app.Options{})
	owner := rbactest.Owner(t, mgr)

	// S3 settings: the secret key is stored sealed, never listed, and reading it is audited.
	if r := owner.Do(http.MethodPut, "/api/v1/backups/settings", SettingsUpdate{Replication: &ReplicationUpdate{
		Replication: Replication{Endpoint: "s3.example.org", Bucket: "b", RetentionDays: 400}, SecretKey: "hunter2"}}); r.Status != http.StatusBadRequest || r.ErrorField() != "replication.retention_days" {
		t.Fatalf("a retention of 400 days: %d %s", r.Status, r.Body)
	}
	if r := owner.Do(http.MethodPut, "/api/v1/backups/settings", SettingsUpdate{Replication: &ReplicationUpdate{
		Replication: Replication{Endpoint: "s3.example.org", Bucket: "b", RetentionDays: 40}, SecretKey: "hunter2"}}); r.Status != http.StatusOK || strings.Contains(string(r.Body), "hunter2") {
		t.Fatalf("S3 settings: %d %s", r.Status, r.Body)
	}
	var sealed string
	dbs.Config.QueryRow(context.Background(), `SELECT secret_sealed FROM backup_replication`).Scan(&sealed)
	if sealed == "" || strings.Contains(sealed, "hunter2") {
		t.Fatalf("the S3 secret is stored as %q", sealed)
	}
	var secret S3Secret
	owner.Get("/api/v1/backups/settings/s3-secret").JSON(t, &secret)
	var reads int
	dbs.Config.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'backup.s3_secret.read'`).Scan(&reads)
	if secret.SecretKey != "hunter2" || reads != 1 {
		t.Fatalf("secret read %q, %d audit records", secret.SecretKey, reads)
	}

	r := owner.Post("/api/v1/backups", CreateRequest{Kind: KindConfig})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var made Manifest
	r.JSON(t, &made)
	var list BackupList
	owner.Get("/api/v1/backups").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != made.ID || list.Items[0].Size() == 0 || list.Install != "lab-east" {
		t.Fatalf("list: %+v", list)
	}
	if r := owner.Post("/api/v1/backups/"+made.ID+"/verify", nil); r.Status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	if r := owner.Post("/api/v1/backups/restore", RestoreRequest{IDs: []string{made.ID}, Confirm: "lab-west"}); r.Status != http.StatusBadRequest || r.ErrorField() != "confirm" {
		t.Fatalf("a wrong confirmation: %d %s", r.Status, r.Body)
	}
	// A user made after the backup disappears with the restore; the owner (in the backup) stays.
	rbactest.UserWithScopes(t, mgr, owner, "scans:view")
	if r := owner.Post("/api/v1/backups/restore", RestoreRequest{IDs: []string{made.ID}, Confirm: "lab-east"}); r.Status != http.StatusAccepted {
		t.Fatalf("restore: %d %s", r.Status, r.Body)
	}
	var act Activity
	apptest.WaitFor(t, 60*time.Second, "the restore to finish", func() bool {
		owner.Get("/api/v1/backups/activity").JSON(t, &act)
		return !act.Running && act.Op == "restore"
	})
	if act.Error != "" || act.Step != "done" || act.Total == 0 || act.Done != act.Total {
		t.Fatalf("restore activity: %+v", act)
	}
	var users int
	dbs.Config.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&users)
	if users != 1 {
		t.Fatalf("%d users after restoring a backup that held 1", users)
	}
	// A damaged backup is refused by verify and by restore, with the part named.
	part := filepath.Join(dataDir, "backups", made.ID, made.Databases[0].Tables[0].Part)
	b, _ := os.ReadFile(part)
	b[len(b)/2] ^= 1
	os.WriteFile(part, b, 0o600)
	if r := owner.Post("/api/v1/backups/"+made.ID+"/verify", nil); r.Status != http.StatusConflict || r.ErrorCode() != "backup_damaged" {
		t.Fatalf("verify of a damaged backup: %d %s", r.Status, r.Body)
	}
	if r := owner.Post("/api/v1/backups/restore", RestoreRequest{IDs: []string{made.ID}, Confirm: "lab-east"}); r.Status != http.StatusConflict {
		t.Fatalf("restore of a damaged backup: %d %s", r.Status, r.Body)
	}
}

func eventTypes(t testing.TB, jobs interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []string {
	rows, err := jobs.Query(context.Background(), `SELECT type FROM events WHERE type LIKE 'backup.%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	types, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return types
}

// A schedule whose time passed while no backup process ran emits backup.missed and then runs;
// a backup whose upload fails emits backup.replication.failed; the alarms module raises both.
func TestAMissedScheduleAndAFailedReplicationEmitTheirEvents(t *testing.T) {
	ctx := context.Background()
	dbs := apptest.Databases(t)
	cfg := testConfig(t, dbs, t.TempDir(), "all", nil)
	srv := apptest.Start(t, cfg, dbs, app.Options{})
	runner, err := NewRunner(cfg, dbs.Databases, srv.App.Events, srv.App.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	box := srv.App.Secrets
	err = pgx.BeginFunc(ctx, dbs.Config, func(tx pgx.Tx) error {
		return applySettings(ctx, tx, box, SettingsUpdate{Replication: &ReplicationUpdate{
			Replication: Replication{Enabled: true, Endpoint: "127.0.0.1:1", Bucket: "nowhere", Insecure: true, RetentionDays: 30},
			SecretKey:   "s3cret"}}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dbs.Config.Exec(ctx, `UPDATE backup_schedules SET next_run_at = now() - interval '3 hours' WHERE kind = 'config'`); err != nil {
		t.Fatal(err)
	}
	if err := runner.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got := eventTypes(t, dbs.Jobs)
	for _, want := range []string{EventMissed, EventReplicationFailed, EventSucceeded} {
		if !slices.Contains(got, want) {
			t.Errorf("events %v lack %s", got, want)
		}
	}
	// The alarm rules turn them into alarms: "Backup missed or failed" and "Backup replication failed".
	apptest.WaitFor(t, 30*time.Second, "the backup alarms", func() bool {
		var n int
		dbs.Config.QueryRow(ctx, `SELECT count(DISTINCT rule_id) FROM alarms WHERE rule_id IN ('backup.failed', 'backup.replication.failed') AND subject = 'config'`).Scan(&n)
		return n == 2
	})
	if ms, _ := runner.Service.List(); len(ms) != 1 || ms[0].Kind != KindConfig {
		t.Fatalf("the missed schedule did not run once: %v", ms)
	}
	// The schedule moved on: a second tick runs nothing and emits nothing.
	before := len(got)
	runner.Tick(ctx)
	if n := len(eventTypes(t, dbs.Jobs)); n != before {
		t.Fatalf("a second tick emitted %d more events", n-before)
	}
}
