package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	migrations "mipo/sql"
)

// The three databases, named as their migration folders are.
const (
	DBConfig  = "config"
	DBResults = "results"
	DBJobs    = "jobs"
)

// DatabaseNames lists the databases in the order they are migrated and reported.
var DatabaseNames = []string{DBConfig, DBResults, DBJobs}

// Databases holds the three pools. Config holds users, audit, settings and the scan
// configuration; Results holds every port observation; Jobs holds transient orchestration
// state and the event queue.
type Databases struct {
	Config  *pgxpool.Pool
	Results *pgxpool.Pool
	Jobs    *pgxpool.Pool
}

// Pool returns a pool by database name.
func (d *Databases) Pool(name string) *pgxpool.Pool {
	switch name {
	case DBConfig:
		return d.Config
	case DBResults:
		return d.Results
	case DBJobs:
		return d.Jobs
	}
	return nil
}

// OpenDatabases connects the three pools, each from its own DSN. An unreachable database is an
// error naming the variable whose DSN failed.
func OpenDatabases(ctx context.Context, configDSN, resultsDSN, jobsDSN string) (*Databases, error) {
	d := &Databases{}
	for _, db := range []struct {
		variable, dsn string
		dst           **pgxpool.Pool
	}{
		{"MIPO_CONFIG_DSN", configDSN, &d.Config},
		{"MIPO_RESULTS_DSN", resultsDSN, &d.Results},
		{"MIPO_JOBS_DSN", jobsDSN, &d.Jobs},
	} {
		pool, err := openPool(ctx, db.dsn)
		if err != nil {
			d.Close()
			return nil, &ConfigError{db.variable, err.Error()}
		}
		*db.dst = pool
	}
	return d, nil
}

// maxConns is each pool's size. A request holds at most one connection per database at a
// time (handlers never query through the pool while holding their change's transaction), so
// this bounds concurrent requests per database, not correctness.
var maxConns = 20

func openPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("is not a valid PostgreSQL connection string")
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.ConnConfig.RuntimeParams["application_name"] = "mipo"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot connect: %v", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot connect to %s:%d/%s: %v", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// Close closes whichever pools are open.
func (d *Databases) Close() {
	for _, p := range []*pgxpool.Pool{d.Config, d.Results, d.Jobs} {
		if p != nil {
			p.Close()
		}
	}
}

// migrationLockID keeps mipo's advisory lock apart from anything else in a shared cluster.
const migrationLockID = 0x6d69706f // "mipo"

func provider(pool *pgxpool.Pool, name string, log *slog.Logger) (*goose.Provider, error) {
	// A one-second probe: a process that starts while another migrates waits a second at a
	// time, not goose's default five.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 600))
	if err != nil {
		return nil, err
	}
	// Out of order: a migration numbered below one already applied (numbers are handed out
	// ahead, per database, to branches that land in any order) is applied, not refused.
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log.With("database", name)))
	}
	return goose.NewProvider(goose.DialectPostgres, stdlib.OpenDBFromPool(pool), migrations.FS(name), opts...)
}

// Migrate applies every pending migration to the three databases, each under an advisory lock
// so processes starting at once apply each migration exactly once.
func Migrate(ctx context.Context, d *Databases, log *slog.Logger) error {
	for _, name := range DatabaseNames {
		p, err := provider(d.Pool(name), name, log)
		if err != nil {
			return fmt.Errorf("%s database: %w", name, err)
		}
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("migrating the %s database: %w", name, err)
		}
	}
	return nil
}

// MigrationState is one migration's state in one database.
type MigrationState struct {
	Database  string    `json:"database"`
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	Applied   bool      `json:"applied"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

// MigrationStatus lists every migration of the three databases and whether it is applied.
func MigrationStatus(ctx context.Context, d *Databases) ([]MigrationState, error) {
	var out []MigrationState
	for _, name := range DatabaseNames {
		p, err := provider(d.Pool(name), name, nil)
		if err != nil {
			return nil, err
		}
		st, err := p.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s database: %w", name, err)
		}
		for _, s := range st {
			out = append(out, MigrationState{Database: name, Version: s.Source.Version, Name: s.Source.Path,
				Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt})
		}
	}
	return out, nil
}

// ResultsStorage says how the results database stores observations: a TimescaleDB hypertable
// when the extension is installed, otherwise a plain table with a BRIN index on time.
func ResultsStorage(ctx context.Context, results *pgxpool.Pool) (string, error) {
	var hyper bool
	err := results.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')`).Scan(&hyper)
	if err != nil {
		return "", err
	}
	if hyper {
		return "timescaledb-hypertable", nil
	}
	return "postgresql-brin", nil
}

// MigrateTo applies the migrations of one database (config, results or jobs) to the pool,
// up to and including version (0: every one). The pool's search_path picks the schema, so a
// restore can build a fresh copy of the schema beside the live one before switching to it.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, name string, version int64) error {
	p, err := provider(pool, name, nil)
	if err != nil {
		return fmt.Errorf("%s database: %w", name, err)
	}
	if version == 0 {
		_, err = p.Up(ctx)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return fmt.Errorf("migrating the %s database: %w", name, err)
	}
	return nil
}

// MigrationVersion returns the newest migration applied to one database (0 before the first).
func MigrationVersion(ctx context.Context, pool *pgxpool.Pool, name string) (int64, error) {
	p, err := provider(pool, name, nil)
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// LatestMigration returns the newest migration this binary carries for one database.
func LatestMigration(name string) (int64, error) {
	entries, err := fs.ReadDir(migrations.FS(name), ".")
	if err != nil {
		return 0, err
	}
	var newest int64
	for _, e := range entries {
		if v, err := goose.NumericComponent(e.Name()); err == nil && v > newest {
			newest = v
		}
	}
	return newest, nil
}
