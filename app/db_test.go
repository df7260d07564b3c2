package app_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/app/apptest"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestMigrationsApplyOnAllThreeDatabases(t *testing.T) {
	dbs := apptest.EmptyDatabases(t)
	ctx := context.Background()
	owner := dbs.Owner(t)
	if err := app.Migrate(ctx, owner, nil); err != nil {
		t.Fatal(err)
	}
	for db, table := range map[string]string{app.DBConfig: "audit_log", app.DBResults: "observations", app.DBJobs: "events"} {
		var exists bool
		if err := dbs.Databases.Pool(db).QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
			t.Errorf("%s database has no %s table (%v)", db, table, err)
		}
	}
	var processes bool
	dbs.Config.QueryRow(ctx, `SELECT to_regclass('processes') IS NOT NULL`).Scan(&processes)
	if processes {
		t.Error("the unused processes table is still there")
	}
	st, err := app.MigrationStatus(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range st {
		seen[s.Database] = true
		if !s.Applied {
			t.Errorf("%s migration %s is pending", s.Database, s.Name)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("status covers %v, want all three databases", seen)
	}
	storage, err := app.ResultsStorage(ctx, dbs.Results)
	if err != nil || storage != "postgresql-brin" {
		t.Fatalf("results storage %q %v; this machine has no TimescaleDB, so want postgresql-brin", storage, err)
	}
	var brin bool
	dbs.Results.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'observations_time_brin' AND indexdef LIKE '%USING brin%')`).Scan(&brin)
	if !brin {
		t.Fatal("observations has no BRIN index on time")
	}
}

// Two processes (an ingest and a manager) starting at once against the same empty databases
// apply each migration exactly once.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	dbs := apptest.EmptyDatabases(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, role := range []string{app.RoleManager, app.RoleIngest} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := &app.Databases{Config: dbs.Pool(t, app.DBConfig), Results: dbs.Pool(t, app.DBResults), Jobs: dbs.Pool(t, app.DBJobs)}
			a, err := app.New(apptest.Config(t, dbs, role), app.Options{Registry: app.NewRegistry(), DB: own, Logger: apptest.Logger(t)})
			if err == nil {
				err = a.Start(context.Background())
				defer a.Stop(context.Background())
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, db := range app.DatabaseNames {
		var dupes int
		err := dbs.Databases.Pool(db).QueryRow(context.Background(),
			`SELECT count(*) FROM (SELECT version_id FROM goose_db_version WHERE version_id > 0 GROUP BY version_id HAVING count(*) > 1) d`).Scan(&dupes)
		if err != nil || dupes != 0 {
			t.Fatalf("%s: %d migrations recorded twice (%v)", db, dupes, err)
		}
	}
}

// eventApp is a process with one module that may subscribe to "thing.*".
func eventApp(t *testing.T, dbs *apptest.DBs, got chan<- app.Event, failFirst *atomic.Int32) *app.App {
	reg := app.NewRegistry()
	reg.Role(app.RoleManager, "watcher")
	reg.Register(app.Module{Name: "watcher", Provision: func(m *app.Mount) error {
		if got != nil {
			m.On("things", "thing.*", func(_ context.Context, e app.Event) error {
				if failFirst != nil && failFirst.Add(-1) >= 0 {
					return errors.New("not yet")
				}
				got <- e
				return nil
			})
		}
		return nil
	}})
	own := &app.Databases{Config: dbs.Pool(t, app.DBConfig), Results: dbs.Pool(t, app.DBResults), Jobs: dbs.Pool(t, app.DBJobs)}
	a, err := app.New(apptest.Config(t, dbs, app.RoleManager), app.Options{Registry: reg, DB: own, Logger: apptest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestEventEmittedInOneProcessReachesAnother(t *testing.T) {
	dbs := apptest.Databases(t)
	ctx := context.Background()
	got := make(chan app.Event, 10)
	receiver := eventApp(t, dbs, got, nil)
	if err := receiver.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer receiver.Stop(ctx)
	emitter := eventApp(t, dbs, nil, nil)
	if err := emitter.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer emitter.Stop(ctx)

	if err := emitter.Events.Emit(ctx, "thing.happened", "thing-1", map[string]int{"n": 7}); err != nil {
		t.Fatal(err)
	}
	if err := emitter.Events.Emit(ctx, "other.happened", "x", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		var p struct{ N int }
		if e.Type != "thing.happened" || e.Subject != "thing-1" || e.Decode(&p) != nil || p.N != 7 {
			t.Fatalf("received %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event never reached the other process")
	}
	select {
	case e := <-got:
		t.Fatalf("a second event arrived: %+v (other.happened does not match thing.*)", e)
	case <-time.After(300 * time.Millisecond):
	}
}

// An event emitted while its subscriber's process is down is delivered when it comes back,
// and a handler that fails is retried.
func TestEventsAreDeliveredAtLeastOnce(t *testing.T) {
	dbs := apptest.Databases(t)
	ctx := context.Background()
	got := make(chan app.Event, 10)
	first := eventApp(t, dbs, got, nil)
	if err := first.Start(ctx); err != nil { // announces the subscriber
		t.Fatal(err)
	}
	first.Stop(ctx)

	emitter := eventApp(t, dbs, nil, nil)
	if err := emitter.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer emitter.Stop(ctx)
	if err := emitter.Events.Emit(ctx, "thing.while-down", "", nil); err != nil {
		t.Fatal(err)
	}

	var fails atomic.Int32
	fails.Store(1)
	second := eventApp(t, dbs, got, &fails)
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer second.Stop(ctx)
	select {
	case e := <-got:
		if e.Type != "thing.while-down" {
			t.Fatalf("received %+v", e)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the event emitted while the subscriber was down was never delivered")
	}
}

// thingsApp serves POST /api/v1/things, which inserts a row and audits it only when asked to.
func thingsApp(t *testing.T) (*apptest.Server, *apptest.DBs) {
	dbs := apptest.Databases(t)
	// As the owner, as a migration would: the start grants mipo's runtime role its rows.
	if _, err := dbs.Owner(t).Config.Exec(context.Background(), `CREATE TABLE things (name text)`); err != nil {
		t.Fatal(err)
	}
	reg := app.NewRegistry()
	reg.Role(app.RoleManager, "things")
	reg.Register(app.Module{Name: "things", Provision: func(m *app.Mount) error {
		m.ProvideGuard(app.GuardUser, func(app.Route) echo.MiddlewareFunc { return func(n echo.HandlerFunc) echo.HandlerFunc { return n } })
		m.Route(app.Route{Method: http.MethodPost, Path: "/api/v1/things", Scope: "things:write", Handler: func(c echo.Context) error {
			if _, err := app.Tx(c).Exec(c.Request().Context(), `INSERT INTO things VALUES ($1)`, c.QueryParam("name")); err != nil {
				return err
			}
			switch c.QueryParam("then") {
			case "audit":
				app.ChangeFrom(c.Request().Context()).MarkAudited()
			case "fail":
				return app.Invalid("name", "bad_name", "that name is refused")
			}
			return c.JSON(http.StatusCreated, map[string]string{"name": c.QueryParam("name")})
		}})
		return nil
	}})
	return apptest.Start(t, apptest.Config(t, dbs), dbs, app.Options{Registry: reg}), dbs
}

func TestChangesCommitOnlyWithAnAuditRecord(t *testing.T) {
	srv, dbs := thingsApp(t)
	c := apptest.NewClient(t, srv.URL)
	count := func() (n int) {
		dbs.Config.QueryRow(context.Background(), `SELECT count(*) FROM things`).Scan(&n)
		return n
	}
	if r := c.Post("/api/v1/things?name=a&then=nothing", nil); r.Status != http.StatusInternalServerError || count() != 0 {
		t.Fatalf("an unaudited change answered %d and left %d rows", r.Status, count())
	}
	if r := c.Post("/api/v1/things?name=b&then=fail", nil); r.Status != http.StatusBadRequest || r.ErrorField() != "name" || count() != 0 {
		t.Fatalf("a failed change answered %d %s and left %d rows", r.Status, r.Body, count())
	}
	r := c.Post("/api/v1/things?name=c&then=audit", nil)
	if r.Status != http.StatusCreated || count() != 1 {
		t.Fatalf("an audited change answered %d %s and left %d rows", r.Status, r.Body, count())
	}
	var body map[string]string
	r.JSON(t, &body)
	if body["name"] != "c" {
		t.Fatalf("the held-back response was lost: %s", r.Body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	srv, _ := thingsApp(t)
	c := apptest.NewClient(t, srv.URL)
	if r := c.Get("/healthz"); r.Status != http.StatusOK {
		t.Fatalf("healthz %d", r.Status)
	}
	r := c.Get("/readyz")
	var h app.Health
	r.JSON(t, &h)
	if r.Status != http.StatusOK || h.Databases["config"] != "ok" || h.Databases["results"] != "ok" || h.Databases["jobs"] != "ok" || h.ResultsStorage != "postgresql-brin" ||
		(h.AppendOnly != "enforced" && !apptest.SharedServer()) {
		t.Fatalf("readyz %d %s", r.Status, r.Body)
	}
	c.Get("/healthz")
	if m := c.Get("/metrics"); m.Status != http.StatusOK || !contains(m.Body, `mipo_http_requests_total{method="GET",route="/healthz",status="200"}`) || !contains(m.Body, `mipo_db_pool_max{database="results"}`) {
		t.Fatalf("metrics lack request counts or pool stats:\n%s", m.Body)
	}
	if r := c.Get("/nowhere"); r.Status != http.StatusNotFound || r.ErrorCode() != "not_found" {
		t.Fatalf("unknown path: %d %s", r.Status, r.Body)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// A database that cannot be reached stops start-up with an error naming its variable.
func TestUnreachableDatabaseNamesItsVariable(t *testing.T) {
	dbs := apptest.Databases(t)
	nowhere := "postgres://mipo@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=2"
	_, err := app.OpenDatabases(context.Background(), dbs.DSN(app.DBConfig), nowhere, dbs.DSN(app.DBJobs))
	var ce *app.ConfigError
	if !errors.As(err, &ce) || ce.Variable != "MIPO_RESULTS_DSN" || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("want an error naming MIPO_RESULTS_DSN, got %v", err)
	}
}

// A snapshot sees one moment: a change committed between two of its reads is in neither.
func TestReadSnapshotSeesOneMoment(t *testing.T) {
	dbs := apptest.Databases(t).Owner(t) // the owner may create tables; mipo's runtime role may not
	ctx := context.Background()
	if _, err := dbs.Config.Exec(ctx, `CREATE TABLE moments (n int)`); err != nil {
		t.Fatal(err)
	}
	var first, second int
	err := app.ReadSnapshot(ctx, dbs.ConfigDB(), func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM moments`).Scan(&first); err != nil {
			return err
		}
		if _, err := dbs.Config.Exec(ctx, `INSERT INTO moments VALUES (1)`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM moments`).Scan(&second)
	})
	if err != nil || first != 0 || second != 0 {
		t.Fatalf("the snapshot saw %d then %d rows (%v); want 0 both times", first, second, err)
	}
	err = app.ReadSnapshot(ctx, dbs.ConfigDB(), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO moments VALUES (2)`)
		return err
	})
	if err == nil {
		t.Fatal("a snapshot must be read-only")
	}
}

// A database migrated before a lower-numbered migration existed (config 00007 came after
// 00030) gets it on the next start instead of refusing to start.
func TestAMigrationNumberedBelowTheLatestIsApplied(t *testing.T) {
	dbs := apptest.Databases(t).Owner(t) // migrations run as the owner
	ctx := context.Background()
	if _, err := dbs.Config.Exec(ctx, `CREATE TABLE processes (id text); DELETE FROM goose_db_version WHERE version_id = 7`); err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(ctx, dbs, nil); err != nil {
		t.Fatal(err)
	}
	var processes bool
	dbs.Config.QueryRow(ctx, `SELECT to_regclass('processes') IS NOT NULL`).Scan(&processes)
	if processes {
		t.Fatal("migration 00007 was not applied")
	}
}

// With one role for everything (no MIPO_*_MIGRATE_DSN, the runtime role owns the tables),
// mipo still runs, and says plainly in /readyz that the audit log is not append-only against it.
func TestReadinessSaysWhenTheAuditLogIsNotAppendOnly(t *testing.T) {
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_ROLE": "manager", "MIPO_TLS": "off",
		"MIPO_CONFIG_DSN": dbs.OwnerDSN(app.DBConfig), "MIPO_RESULTS_DSN": dbs.OwnerDSN(app.DBResults), "MIPO_JOBS_DSN": dbs.OwnerDSN(app.DBJobs)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	asOwner := &apptest.DBs{Databases: dbs.Owner(t), Names: dbs.Names}
	var logged lockedBuffer
	srv := apptest.Start(t, cfg, asOwner, app.Options{Registry: app.NewRegistry(), Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if !strings.Contains(logged.String(), "immutability is not enforced") {
		t.Fatalf("the log must say the audit log is not append-only against mipo's role:\n%s", logged.String())
	}
	var h app.Health
	r := apptest.NewClient(t, srv.URL).Get("/readyz")
	r.JSON(t, &h)
	if r.Status != http.StatusOK || !strings.HasPrefix(h.AppendOnly, "not enforced") || !strings.Contains(h.AppendOnly, "MIPO_CONFIG_MIGRATE_DSN") {
		t.Fatalf("readyz must say the audit log is not append-only against mipo's role: %d %s", r.Status, r.Body)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
