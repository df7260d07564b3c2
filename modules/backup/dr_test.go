package backup

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
)

// Disaster recovery, as an operator does it with the real binary: the old installation's
// backups folder and its exported key are all the new machine gets. `mipo restore` on a fresh
// data directory (its own embedded PostgreSQL) brings every row back, the audit chain verifies,
// and .mipo.env gets the old installation's keys.
func TestMipoRestoreOnAFreshDataDirectoryBringsAWholeInstallBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs an embedded cluster")
	}
	ctx := context.Background()
	mipo := filepath.Join(apptest.Binaries(t), "mipo")
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(mipo, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mipo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// The old machine: its databases, some history, two backups and the exported key.
	dbs := apptest.Databases(t)
	seed(t, dbs.Databases, 12, 2000, time.Now().Add(-time.Hour))
	oldDir := t.TempDir()
	oldEnv := []string{"MIPO_DATA_DIR=" + oldDir, "MIPO_CONFIG_DSN=" + dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN=" + dbs.DSN(app.DBResults),
		"MIPO_JOBS_DSN=" + dbs.DSN(app.DBJobs), "MIPO_LOG_LEVEL=warn", "MIPO_AUDIT_KEY=" + base64.RawURLEncoding.EncodeToString(testAuditKey),
		"MIPO_CONFIG_MIGRATE_DSN=" + dbs.OwnerDSN(app.DBConfig), "MIPO_RESULTS_MIGRATE_DSN=" + dbs.OwnerDSN(app.DBResults), "MIPO_JOBS_MIGRATE_DSN=" + dbs.OwnerDSN(app.DBJobs)}
	want := dumpRows(t, dbs.Databases) // before the backups, which note their run in backup_schedules
	run(oldEnv, "backup", "create", "config")
	run(oldEnv, "backup", "create", "results")
	keyFile := filepath.Join(t.TempDir(), "backup.key")
	if err := os.WriteFile(keyFile, []byte(run(oldEnv, "backup", "export-key")), 0o600); err != nil {
		t.Fatal(err)
	}
	oldKeys, _ := os.ReadFile(filepath.Join(oldDir, app.EnvFileName))

	// The new machine: a fresh data directory, the copied backups folder, the key file.
	newDir := t.TempDir()
	os.Chmod(filepath.Dir(newDir), 0o755) // the cluster runs as the postgres user when tests run as root
	os.Chmod(newDir, 0o755)
	copied := filepath.Join(t.TempDir(), "backups")
	if out, err := exec.Command("cp", "-a", filepath.Join(oldDir, "backups"), copied).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	newEnv := []string{"MIPO_DATA_DIR=" + newDir, "MIPO_LOG_LEVEL=warn"}
	run(newEnv, "init")
	out := run(newEnv, "restore", "--from", copied, "--key-file", keyFile, "--yes")
	if !strings.Contains(out, "restored") {
		t.Fatalf("restore said: %s", out)
	}
	newKeys, _ := os.ReadFile(filepath.Join(newDir, app.EnvFileName))
	for _, name := range []string{"MIPO_SECRET_KEY", "MIPO_BACKUP_KEY"} {
		if envValue(string(newKeys), name) != envValue(string(oldKeys), name) || envValue(string(newKeys), name) == "" {
			t.Errorf("%s of the new .mipo.env is not the old installation's", name)
		}
	}
	// Start the new machine's cluster and compare every row.
	pg, err := app.NewEmbeddedPG(filepath.Join(newDir, "postgres"), "", apptest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	restored, err := app.OpenDatabases(ctx, pg.AppDSN(app.DBConfig), pg.AppDSN(app.DBResults), pg.AppDSN(app.DBJobs))
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	sameRows(t, want, dumpRows(t, restored))
	if v := verifyAudit(t, restored); !v.OK || v.Checked != 12 {
		t.Fatalf("audit chain on the new machine: %+v", v)
	}
	if envValue(string(newKeys), "MIPO_AUDIT_KEY") != base64.RawURLEncoding.EncodeToString(testAuditKey) {
		t.Error("the new .mipo.env lacks the old installation's MIPO_AUDIT_KEY")
	}
}

func envValue(file, name string) string {
	for _, line := range strings.Split(file, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == name {
			return v
		}
	}
	return ""
}
