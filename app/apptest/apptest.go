// Package apptest gives tests real databases: one throwaway PostgreSQL cluster per test binary
// (started with the same code as mipo's embedded default) and, for each test, fresh databases
// cloned from migrated templates in milliseconds. With MIPO_TEST_DATABASE_URL set (a superuser
// URL), it uses that server instead of starting a cluster. Nothing here mocks a database.
package apptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mipo/app"
)

var (
	cluster *app.EmbeddedPG
	admin   string // superuser DSN of the server's maintenance database
	owner   string // role that owns test databases and migrates them ("" on a shared server)
	appRole string // role the tests' pools use, as a running mipo's do
	mu      sync.Mutex
	counter atomic.Int64
	prefix  = fmt.Sprintf("t%d_", os.Getpid())
)

// Main runs a test binary's tests against one throwaway cluster. Call it from TestMain.
func Main(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apptest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	if url := os.Getenv("MIPO_TEST_DATABASE_URL"); url != "" {
		admin, owner = url, ""
	} else {
		dir, err := os.MkdirTemp("", "mipo-test-pg-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		// Ours to open: as root, PostgreSQL runs as another user who must pass through it.
		if err := os.Chmod(dir, 0o711); err != nil {
			return 0, err
		}
		pg, err := app.NewEmbeddedPG(filepath.Join(dir, "pg"), os.Getenv("MIPO_PG_BIN"), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return 0, err
		}
		pg.Fast = true
		if err := pg.Start(ctx); err != nil {
			return 0, err
		}
		defer pg.Stop()
		cluster, admin, owner, appRole = pg, pg.SuperuserDSN("postgres"), "mipo_owner", "mipo"
	}
	if err := makeTemplates(ctx); err != nil {
		return 0, err
	}
	defer dropAll(ctx)
	return m.Run(), nil
}

func templateName(db string) string { return prefix + "tmpl_" + db }

// makeTemplates migrates one template per database; tests clone them.
func makeTemplates(ctx context.Context) error {
	var dsns []string
	for _, db := range app.DatabaseNames {
		if err := createDatabase(ctx, templateName(db), ""); err != nil {
			return err
		}
		dsns = append(dsns, ownerDSNFor(templateName(db)))
	}
	dbs, err := app.OpenDatabases(ctx, dsns[0], dsns[1], dsns[2])
	if err != nil {
		return err
	}
	defer dbs.Close()
	if err := app.Migrate(ctx, dbs, nil); err != nil {
		return err
	}
	if appRole == "" {
		return nil
	}
	for _, db := range app.DatabaseNames {
		if err := app.GrantRuntime(ctx, dbs.Pool(db), appRole); err != nil {
			return err
		}
	}
	return nil
}

func createDatabase(ctx context.Context, name, template string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting to the test server: %w", err)
	}
	defer conn.Close(ctx)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if owner != "" {
		stmt += " OWNER " + owner
	}
	_, err = conn.Exec(ctx, stmt)
	return err
}

// dsnFor is the DSN a test uses for one of its databases: as mipo's runtime role when the
// helper runs its own cluster, so tests see the privileges mipo really has.
func dsnFor(database string) string {
	if cluster != nil {
		return cluster.DSN(appRole, database)
	}
	return ownerDSNFor(database)
}

// ownerDSNFor is the DSN of the role that owns (and migrates) a test database.
func ownerDSNFor(database string) string {
	if cluster != nil {
		return cluster.DSN(owner, database)
	}
	u, err := url.Parse(admin)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + database
	return u.String()
}

// SuperuserDSN returns a superuser DSN for a test database (to do what mipo's own role may
// not, such as tampering with the audit log).
func SuperuserDSN(database string) string {
	if cluster != nil {
		return cluster.SuperuserDSN(database)
	}
	return dsnFor(database)
}

func dropAll(ctx context.Context) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1`, prefix+"%")
	if err != nil {
		return
	}
	names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, n := range names {
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
	}
}

// DBs is one test's three fresh databases.
type DBs struct {
	*app.Databases
	Names map[string]string // "config" → the database's name
}

// DSN returns the DSN of one of the test's databases.
func (d *DBs) DSN(name string) string { return dsnFor(d.Names[name]) }

// OwnerDSN returns the DSN of the role that owns one of the test's databases: the one that
// migrates it (MIPO_*_MIGRATE_DSN).
func (d *DBs) OwnerDSN(name string) string { return ownerDSNFor(d.Names[name]) }

// Databases returns fresh, migrated config, results and jobs databases for one test; they are
// dropped when the test ends.
func Databases(t testing.TB) *DBs {
	t.Helper()
	return newDatabases(t, true)
}

// EmptyDatabases returns three fresh databases with no migrations applied, for tests of
// migration itself.
func EmptyDatabases(t testing.TB) *DBs {
	t.Helper()
	return newDatabases(t, false)
}

func newDatabases(t testing.TB, migrated bool) *DBs {
	t.Helper()
	if admin == "" {
		t.Fatal("apptest: call apptest.Main from TestMain")
	}
	ctx := context.Background()
	n := counter.Add(1)
	d := &DBs{Databases: &app.Databases{}, Names: map[string]string{}}
	mu.Lock()
	for _, db := range app.DatabaseNames {
		name := fmt.Sprintf("%s%d_%s", prefix, n, db)
		template := ""
		if migrated {
			template = templateName(db)
		}
		if err := createDatabase(ctx, name, template); err != nil {
			mu.Unlock()
			t.Fatalf("apptest: %v", err)
		}
		d.Names[db] = name
	}
	mu.Unlock()
	dbs, err := app.OpenDatabases(ctx, d.DSN(app.DBConfig), d.DSN(app.DBResults), d.DSN(app.DBJobs))
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	d.Databases = dbs
	t.Cleanup(func() {
		dbs.Close()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		for _, name := range d.Names {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		}
	})
	return d
}

// Pool opens an extra pool on one of the test's databases (a second process's view).
func (d *DBs) Pool(t testing.TB, name string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), d.DSN(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Config returns a configuration for a test: a fresh data directory, the given roles
// (all when none), plain HTTP, and the test's databases.
func Config(t testing.TB, dbs *DBs, roles ...string) *app.Config {
	t.Helper()
	if len(roles) == 0 {
		roles = []string{app.RoleAll}
	}
	flags := map[string]string{
		"MIPO_DATA_DIR": t.TempDir(), "MIPO_ROLE": strings.Join(roles, ","), "MIPO_TLS": "off", "MIPO_LISTEN": "127.0.0.1:0",
		"MIPO_SHUTDOWN_TIMEOUT": "2s",
	}
	if dbs != nil {
		flags["MIPO_CONFIG_DSN"], flags["MIPO_RESULTS_DSN"], flags["MIPO_JOBS_DSN"] = dbs.DSN(app.DBConfig), dbs.DSN(app.DBResults), dbs.DSN(app.DBJobs)
		for _, db := range app.DatabaseNames {
			flags["MIPO_"+strings.ToUpper(db)+"_MIGRATE_DSN"] = dbs.OwnerDSN(db)
		}
	}
	cfg, err := app.LoadConfig(flags, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Logger returns a logger that writes through t.Log, so a failing test shows what the app said.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// WaitFor polls cond until it is true or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// EndConnectionsReading makes one of the test's databases end every connection that reads (or
// writes) table, as a shutdown does (SQLSTATE 57P01, "terminating connection due to
// administrator command"), until the test ends: the database goes away under a request at
// exactly the query the test means, while what came before it (sign-in, sessions) worked.
// It holds an exclusive lock on the table and terminates whoever waits for it.
func (d *DBs) EndConnectionsReading(t testing.TB, db, table string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	locker, err := pgx.Connect(ctx, SuperuserDSN(d.Names[db]))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := locker.Begin(ctx)
	if err == nil {
		_, err = tx.Exec(ctx, `LOCK TABLE `+pgx.Identifier{table}.Sanitize()+` IN ACCESS EXCLUSIVE MODE`)
	}
	if err != nil {
		t.Fatal(err)
	}
	killer, err := pgx.Connect(ctx, SuperuserDSN(d.Names[db]))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			killer.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE relation = $1::regclass AND NOT granted`, table)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		killer.Close(context.Background())
		locker.Close(context.Background())
	})
}

// SharedServer reports whether the tests use MIPO_TEST_DATABASE_URL's server, where every
// database role is that one superuser.
func SharedServer() bool { return cluster == nil }

// Owner opens pools on the test's databases as their owner (the migration role), closed when
// the test ends.
func (d *DBs) Owner(t testing.TB) *app.Databases {
	t.Helper()
	dbs, err := app.OpenDatabases(context.Background(), d.OwnerDSN(app.DBConfig), d.OwnerDSN(app.DBResults), d.OwnerDSN(app.DBJobs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dbs.Close)
	return dbs
}

// SeparateJobsCluster moves the jobs database of d onto a PostgreSQL cluster of its own, for
// tests that stop that cluster under a running mipo: the cluster is started, its jobs database
// migrated as its owner and granted to the runtime role as a real start does, and the returned
// databases use it beside d's config and results. Both are closed and stopped when the test ends.
func (d *DBs) SeparateJobsCluster(t testing.TB) (*app.EmbeddedPG, *DBs) {
	t.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mipo-jobs-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // as root the cluster runs as the postgres user, which must enter it
	pg, err := app.NewEmbeddedPG(filepath.Join(dir, "jobs-pg"), "", Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	pg.Fast = true
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	split, err := app.OpenDatabases(ctx, d.DSN(app.DBConfig), d.DSN(app.DBResults), pg.AppDSN(app.DBJobs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(split.Close) // cleanups run last first: a server started after this stops before it closes
	owner, err := app.OpenDatabases(ctx, d.OwnerDSN(app.DBConfig), d.OwnerDSN(app.DBResults), pg.OwnerDSN(app.DBJobs))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if err := app.Migrate(ctx, owner, nil); err != nil {
		t.Fatal(err)
	}
	var runtime string
	if err := split.Jobs.QueryRow(ctx, `SELECT current_user`).Scan(&runtime); err != nil {
		t.Fatal(err)
	}
	if err := app.GrantRuntime(ctx, owner.Jobs, runtime); err != nil {
		t.Fatal(err)
	}
	return pg, &DBs{Databases: split, Names: d.Names}
}
