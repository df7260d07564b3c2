package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/app/apptest"
)

// An embedded cluster made before the owner role existed (mipo's runtime role owning every
// database and table) is handed to the owner on the next start, and mipo's role keeps its
// rows but loses the audit log's ownership.
func TestEmbeddedClusterOfAnOlderReleaseIsHandedToTheOwner(t *testing.T) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mipo-owner-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o711) // as root, PostgreSQL runs as the postgres user, who must pass through
	pg, err := app.NewEmbeddedPG(filepath.Join(dir, "pg"), os.Getenv("MIPO_PG_BIN"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	pg.Fast = true
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	// The older layout: the runtime role owns the databases and migrates them itself.
	su, err := pgx.Connect(ctx, pg.SuperuserDSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range app.DatabaseNames {
		if _, err := su.Exec(ctx, "ALTER DATABASE "+app.EmbeddedDatabase(name)+" OWNER TO mipo"); err != nil {
			t.Fatal(err)
		}
	}
	su.Close(ctx)
	old, err := app.OpenDatabases(ctx, pg.AppDSN(app.DBConfig), pg.AppDSN(app.DBResults), pg.AppDSN(app.DBJobs))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	if gap, err := app.AppendOnlyGap(ctx, old); err != nil || gap == "" {
		t.Fatalf("the older layout must be reported as not append-only: %q %v", gap, err)
	}
	old.Close()

	// The next start.
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dbs, err := app.OpenDatabases(ctx, pg.AppDSN(app.DBConfig), pg.AppDSN(app.DBResults), pg.AppDSN(app.DBJobs))
	if err != nil {
		t.Fatal(err)
	}
	defer dbs.Close()
	gap, err := app.MigrateAsOwner(ctx, apptest.Config(t, nil), pg, dbs, nil)
	if err != nil || gap != "" {
		t.Fatalf("after the hand-over the audit log must be out of mipo's reach: %q %v", gap, err)
	}
	var owner string
	dbs.Config.QueryRow(ctx, `SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'audit_log'`).Scan(&owner)
	if owner != "mipo_owner" {
		t.Fatalf("audit_log is owned by %q", owner)
	}
	// mipo still works on its ordinary tables.
	if _, err := dbs.Config.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('probe', '1', now()) ON CONFLICT DO NOTHING`); err != nil {
		t.Fatalf("the runtime role lost its rows: %v", err)
	}
}
