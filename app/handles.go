package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is one of the three databases as a module holds it. Its kind (ConfigDB, ResultsDB, JobsDB)
// is part of its type, so a function that takes a ResultsDB cannot be handed the config
// database by mistake. A module is given the handles of the databases it declares
// (Module.Databases); the others answer every query with an error naming the omission.
// A handle is made before Start opens the pools and reads its pool when used.
type DB[K dbKind] struct {
	pool   **pgxpool.Pool
	module string // set on an undeclared handle: who used it
}

type dbKind interface{ name() string }

// The kinds of DB.
type (
	configKind  struct{}
	resultsKind struct{}
	jobsKind    struct{}
)

func (configKind) name() string  { return DBConfig }
func (resultsKind) name() string { return DBResults }
func (jobsKind) name() string    { return DBJobs }

// The three handles.
type (
	ConfigDB  = DB[configKind]
	ResultsDB = DB[resultsKind]
	JobsDB    = DB[jobsKind]
)

// ConfigDB, ResultsDB and JobsDB hand out the process's databases as typed handles (for the
// CLI and tests; modules get theirs on their Mount).
func (d *Databases) ConfigDB() ConfigDB   { return ConfigDB{pool: &d.Config} }
func (d *Databases) ResultsDB() ResultsDB { return ResultsDB{pool: &d.Results} }
func (d *Databases) JobsDB() JobsDB       { return JobsDB{pool: &d.Jobs} }

func (h DB[K]) err() error {
	var k K
	if h.pool == nil {
		return fmt.Errorf("module %s uses the %s database without declaring it (Module.Databases)", h.module, k.name())
	}
	if *h.pool == nil {
		return fmt.Errorf("the %s database is not open yet", k.name())
	}
	return nil
}

// Key identifies the database a handle reaches: the handles two modules of one process hold
// for the same database have the same key (a map key for state they share).
func (h DB[K]) Key() any { return h.pool }

// Declared reports whether the module holding the handle declared its database.
func (h DB[K]) Declared() bool { return h.pool != nil }

// Pool is the underlying pool (nil before Start, or when the module did not declare it).
func (h DB[K]) Pool() *pgxpool.Pool {
	if h.pool == nil {
		return nil
	}
	return *h.pool
}

// Exec, Query and QueryRow make a DB an app.Querier.
func (h DB[K]) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := h.err(); err != nil {
		return pgconn.CommandTag{}, err
	}
	return h.Pool().Exec(ctx, sql, args...)
}

func (h DB[K]) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := h.err(); err != nil {
		return nil, err
	}
	return h.Pool().Query(ctx, sql, args...)
}

func (h DB[K]) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := h.err(); err != nil {
		return errRow{err}
	}
	return h.Pool().QueryRow(ctx, sql, args...)
}

// Begin opens a transaction.
func (h DB[K]) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := h.err(); err != nil {
		return nil, err
	}
	return h.Pool().Begin(ctx)
}

// BeginTx opens a transaction with options.
func (h DB[K]) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	if err := h.err(); err != nil {
		return nil, err
	}
	return h.Pool().BeginTx(ctx, opts)
}

// CopyFrom bulk-loads rows.
func (h DB[K]) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := h.err(); err != nil {
		return 0, err
	}
	return h.Pool().CopyFrom(ctx, table, columns, src)
}

// SendBatch sends queries in one round trip.
func (h DB[K]) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return h.Pool().SendBatch(ctx, b)
}

// Acquire takes one connection from the pool.
func (h DB[K]) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if err := h.err(); err != nil {
		return nil, err
	}
	return h.Pool().Acquire(ctx)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

var _ Querier = ConfigDB{}
