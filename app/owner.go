package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// mipo's databases have two roles. The owner (the migration role) owns every table and runs
// the migrations; the runtime role, which the pools of a running mipo use, owns nothing and is
// granted the rows it works on. An append-only table (the audit log, the configuration
// history, the audit checkpoints) grants the runtime role INSERT and SELECT only: no UPDATE,
// DELETE, TRUNCATE or TRIGGER, no grant option. So a process — or whoever steals its
// connection — cannot switch the table's triggers off, grant itself more, or drop it; only the
// owner could, and mipo does not hold the owner's password while it serves.
var (
	settingCfgMigrateDSN  = StringSetting("MIPO_CONFIG_MIGRATE_DSN", "", "PostgreSQL URL of the config database as the role that owns its tables, for migrations only; MIPO_CONFIG_DSN's role is then granted rows, not ownership. Unset: MIPO_CONFIG_DSN migrates and the audit log's immutability is not enforced against mipo's own role.")
	settingResMigrateDSN  = StringSetting("MIPO_RESULTS_MIGRATE_DSN", "", "PostgreSQL URL of the results database as its owner, for migrations only (see MIPO_CONFIG_MIGRATE_DSN).")
	settingJobsMigrateDSN = StringSetting("MIPO_JOBS_MIGRATE_DSN", "", "PostgreSQL URL of the jobs database as its owner, for migrations only (see MIPO_CONFIG_MIGRATE_DSN); it holds the audit checkpoints.")
)

// embeddedOwnerRole owns the embedded cluster's databases; embeddedAppRole only uses them.
const embeddedOwnerRole = "mipo_owner"

// OwnerDSN returns the DSN of the role that owns one of mipo's databases in the embedded
// cluster: migrations run as it.
func (pg *EmbeddedPG) OwnerDSN(name string) string {
	return pg.DSN(embeddedOwnerRole, EmbeddedDatabase(name))
}

// migrateDSNs returns the owner DSN of each database that has one: the embedded cluster's
// owner, or the MIPO_*_MIGRATE_DSN settings.
func migrateDSNs(cfg *Config, pg *EmbeddedPG) map[string]string {
	out := map[string]string{}
	for name, s := range map[string]StringVar{DBConfig: settingCfgMigrateDSN, DBResults: settingResMigrateDSN, DBJobs: settingJobsMigrateDSN} {
		if pg != nil {
			out[name] = pg.OwnerDSN(name)
		} else if dsn := s.Get(cfg); dsn != "" {
			out[name] = dsn
		}
	}
	return out
}

// MigrateAsOwner applies the migrations of each database as its owner when an owner DSN is
// configured (as the runtime role otherwise), grants the runtime role its rows, and says
// whether the append-only tables are safe from the runtime role ("" when they are, else why
// not). The owner's connections are closed before it returns.
func MigrateAsOwner(ctx context.Context, cfg *Config, pg *EmbeddedPG, runtime *Databases, log *slog.Logger) (string, error) {
	dsns := migrateDSNs(cfg, pg)
	owner := &Databases{}
	defer func() {
		for name, dsn := range dsns {
			if p := owner.Pool(name); p != nil && dsn != "" {
				p.Close()
			}
		}
	}()
	for _, name := range DatabaseNames {
		pool := runtime.Pool(name)
		if dsn := dsns[name]; dsn != "" {
			p, err := openPool(ctx, dsn)
			if err != nil {
				return "", &ConfigError{"MIPO_" + strings.ToUpper(name) + "_MIGRATE_DSN", err.Error()}
			}
			pool = p
		}
		*owner.slot(name) = pool
	}
	if err := Migrate(ctx, owner, log); err != nil {
		return "", err
	}
	for _, name := range DatabaseNames {
		if dsns[name] == "" {
			continue
		}
		var role string
		if err := runtime.Pool(name).QueryRow(ctx, `SELECT current_user`).Scan(&role); err != nil {
			return "", err
		}
		if err := GrantRuntime(ctx, owner.Pool(name), role); err != nil {
			return "", fmt.Errorf("granting the %s database to %s: %w", name, role, err)
		}
	}
	gap, err := AppendOnlyGap(ctx, runtime)
	if gap != "" && log != nil {
		log.Warn("the audit log's immutability is "+gap, "setting", "MIPO_CONFIG_MIGRATE_DSN")
	}
	return gap, err
}

func (d *Databases) slot(name string) **pgxpool.Pool {
	switch name {
	case DBConfig:
		return &d.Config
	case DBResults:
		return &d.Results
	}
	return &d.Jobs
}

// appendOnlyTables finds the append-only tables by their guard: a trigger whose function is
// named *_append_only (each migration that makes such a table defines one).
const appendOnlyTables = `SELECT DISTINCT c.oid::regclass::text FROM pg_trigger t
	JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
	WHERE NOT t.tgisinternal AND p.proname LIKE '%\_append\_only'`

// GrantRuntime gives role what a running mipo needs in one database, as the database's owner:
// rows of every table and the sequences, and of the append-only tables only INSERT and SELECT.
// It runs at every start (cheap, and idempotent), so a table a migration adds is granted too;
// the migration lock keeps two starting processes from granting at once.
// owner is a pool, or a transaction that must grant together with what it changes (a restore
// switching schemas, so the runtime role never sees the new tables without its rights).
func GrantRuntime(ctx context.Context, owner interface {
	QueryRow(context.Context, string, ...any) pgx.Row
	Begin(context.Context) (pgx.Tx, error)
}, role string) error {
	var self string
	if err := owner.QueryRow(ctx, `SELECT current_user`).Scan(&self); err != nil {
		return err
	}
	if self == role {
		return nil // one role for both: nothing to separate
	}
	return pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, appendOnlyTables)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		r := pgx.Identifier{role}.Sanitize()
		stmts := []string{
			`GRANT USAGE ON SCHEMA public TO ` + r,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ` + r,
			`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ` + r,
		}
		for _, t := range tables {
			stmts = append(stmts, `REVOKE ALL ON `+t+` FROM `+r, `GRANT SELECT, INSERT ON `+t+` TO `+r)
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
}

// AppendOnlyGap checks, as the runtime role, that no append-only table of the config and jobs
// databases is within its reach: "" when none is, else a sentence naming the first that is.
func AppendOnlyGap(ctx context.Context, runtime *Databases) (string, error) {
	for _, name := range []string{DBConfig, DBJobs} {
		var table string
		err := runtime.Pool(name).QueryRow(ctx, `SELECT t FROM (`+appendOnlyTables+`) a(t)
			WHERE pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = t::regclass), 'MEMBER')
			   OR has_table_privilege(t, 'UPDATE') OR has_table_privilege(t, 'DELETE')
			   OR has_table_privilege(t, 'TRUNCATE') OR has_table_privilege(t, 'TRIGGER')
			   OR has_table_privilege(t, 'INSERT WITH GRANT OPTION') OR has_table_privilege(t, 'SELECT WITH GRANT OPTION')
			ORDER BY t LIMIT 1`).Scan(&table)
		if err == pgx.ErrNoRows {
			continue
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("not enforced: mipo's database role owns or may rewrite %s in the %s database; "+
			"run migrations as a separate owner (MIPO_%s_MIGRATE_DSN) so the audit log stays append-only against mipo itself",
			table, name, strings.ToUpper(name)), nil
	}
	return "", nil
}

// createRoles creates the embedded cluster's owner and runtime roles (neither a superuser, and
// the runtime role no member of the owner).
func (pg *EmbeddedPG) createRoles(ctx context.Context, su *pgx.Conn) error {
	for _, role := range []string{embeddedOwnerRole, embeddedAppRole} {
		if _, err := su.Exec(ctx, `DO $$ BEGIN
			IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '`+role+`') THEN CREATE ROLE `+role+` LOGIN; END IF;
			END $$`); err != nil {
			return fmt.Errorf("embedded PostgreSQL: creating role %s: %w", role, err)
		}
	}
	return nil
}

// handOverToOwner upgrades a database made when the runtime role owned everything: the owner
// role takes the database and every object in it; the next migration grants the runtime role
// its rows back. (REASSIGN also moves the other databases the runtime role owns, so each
// database is judged by what is inside it.)
func (pg *EmbeddedPG) handOverToOwner(ctx context.Context, db string) error {
	conn, err := pgx.Connect(ctx, pg.SuperuserDSN(db))
	if err != nil {
		return fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var old bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class WHERE relowner = $1::regrole)
		OR (SELECT datdba = $1::regrole FROM pg_database WHERE datname = current_database())`, embeddedAppRole).Scan(&old); err != nil || !old {
		return err
	}
	pg.log.Info("embedded PostgreSQL: handing the database to the owner role; mipo's own role keeps rows, not ownership", "database", db, "owner", embeddedOwnerRole)
	for _, stmt := range []string{
		"ALTER DATABASE " + pgx.Identifier{db}.Sanitize() + " OWNER TO " + embeddedOwnerRole,
		"REASSIGN OWNED BY " + embeddedAppRole + " TO " + embeddedOwnerRole,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("embedded PostgreSQL: %s: %w", stmt, err)
		}
	}
	return nil
}

// OpenOwner opens pools on the three databases as their owner — the embedded cluster's owner
// role, or the MIPO_*_MIGRATE_DSN settings — for the work only the owner may do, such as a
// restore building fresh tables and switching to them. A database without an owner DSN gets
// the runtime pool itself. close closes what was opened.
func OpenOwner(ctx context.Context, cfg *Config, runtime *Databases) (*Databases, func(), error) {
	var pg *EmbeddedPG
	if cfg.Embedded() {
		var err error
		// Only for its DSNs: the cluster is already running (this process or another started it).
		if pg, err = NewEmbeddedPG(filepath.Join(cfg.DataDir, "postgres"), settingPGBin.Get(cfg), NewLogger(cfg)); err != nil {
			return nil, nil, err
		}
	}
	dsns := migrateDSNs(cfg, pg)
	owner := &Databases{}
	var opened []*pgxpool.Pool
	closeAll := func() {
		for _, p := range opened {
			p.Close()
		}
	}
	for _, name := range DatabaseNames {
		pool := runtime.Pool(name)
		if dsn := dsns[name]; dsn != "" {
			p, err := openPool(ctx, dsn)
			if err != nil {
				closeAll()
				return nil, nil, &ConfigError{"MIPO_" + strings.ToUpper(name) + "_MIGRATE_DSN", err.Error()}
			}
			opened = append(opened, p)
			pool = p
		}
		*owner.slot(name) = pool
	}
	return owner, closeAll, nil
}
