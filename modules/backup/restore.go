package backup

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// The schemas a restore uses beside the live one (public): the fresh copy it loads, and the
// replaced one it keeps until every database is switched.
const (
	restoreSchema  = "mipo_restore"
	previousSchema = "mipo_replaced"
)

// Progress reports a restore's advance: a step, and bytes of parts loaded out of all.
type Progress func(step string, done, total int64)

// A RestoreError says which step of a restore failed; the live databases are unchanged.
type RestoreError struct {
	Step string
	Err  error
}

func (e *RestoreError) Error() string {
	return e.Step + ": " + e.Err.Error() + " (the running databases were not changed)"
}
func (e *RestoreError) Unwrap() error { return e.Err }

// plan is one database to restore: the chain whose parts fill it, newest last.
type dbPlan struct {
	name  string
	chain []*Manifest
}

// Restore brings back the given backups (a config backup, a results backup, or one of each):
// it checks every manifest and checksum, loads each database into a fresh schema, checks the
// row counts and the audit chain there, and only then switches every database to it.
func (s *Service) Restore(ctx context.Context, ids []string, progress Progress) error {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	var plans []dbPlan
	var total int64
	for _, id := range ids {
		progress("checking "+id, 0, 0)
		chain, err := s.Check(id)
		if err != nil {
			return err
		}
		for _, db := range chain[len(chain)-1].Databases {
			plans = append(plans, dbPlan{db.Name, chain})
		}
		for _, m := range chain {
			total += m.Size()
		}
	}
	if err := distinctDatabases(plans); err != nil {
		return err
	}
	auditKey, err := s.auditKeyFor(ctx, plans)
	if err != nil {
		return err
	}
	// Config switches first: the audit checkpointer of a running mipo then never checkpoints
	// the old, longer log into the restored jobs database.
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].name == app.DBConfig && plans[j].name != app.DBConfig })
	// Only the databases' owner may build tables and switch schemas; the running mipo's own
	// role holds rows, not ownership.
	owner, closeOwner := s.DB, func() {}
	if s.OpenOwner != nil {
		if owner, closeOwner, err = s.OpenOwner(ctx); err != nil {
			return err
		}
	}
	defer closeOwner()
	var done int64
	pools := map[string]*pgxpool.Pool{}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	cleanup := func() {
		for _, p := range plans {
			owner.Pool(p.name).Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+restoreSchema+` CASCADE`)
		}
	}
	for _, p := range plans {
		pool, err := s.load(ctx, owner.Pool(p.name), p, func(n int64) { done += n; progress("loading the "+p.name+" database", done, total) })
		if pool != nil {
			pools[p.name] = pool
		}
		if err != nil {
			cleanup()
			return &RestoreError{"restoring the " + p.name + " database", err}
		}
	}
	if cfg, ok := pools[app.DBConfig]; ok {
		progress("checking the audit chain", done, total)
		if err := checkAudit(ctx, cfg, pools[app.DBJobs], auditKey, plans[0].chain[len(plans[0].chain)-1]); err != nil {
			cleanup()
			return &RestoreError{"checking the restored audit log", err}
		}
	}
	progress("switching to the restored databases", total, total)
	for _, p := range pools {
		p.Close()
	}
	clear(pools)
	for _, p := range plans {
		var role string
		if err := s.DB.Pool(p.name).QueryRow(ctx, `SELECT current_user`).Scan(&role); err != nil {
			return err
		}
		if err := switchSchema(ctx, owner.Pool(p.name), role); err != nil {
			return fmt.Errorf("switching the %s database: %w (databases switched before it keep the restored data)", p.name, err)
		}
	}
	for _, p := range plans {
		owner.Pool(p.name).Exec(ctx, `DROP SCHEMA IF EXISTS `+previousSchema+` CASCADE`)
		s.DB.Pool(p.name).Reset() // connections may hold plans of the replaced tables
	}
	progress("done", total, total)
	return nil
}

func distinctDatabases(plans []dbPlan) error {
	seen := map[string]bool{}
	for _, p := range plans {
		if seen[p.name] {
			return app.Invalid("ids", "same_database", "two of the backups hold the "+p.name+" database: give one config and one results backup")
		}
		seen[p.name] = true
	}
	return nil
}

// auditKeyFor returns the key the restored audit log is checked under: the one the config
// backup carries (an installation's log is keyed with its own MIPO_AUDIT_KEY), else ours. A
// running installation cannot adopt another key, so restoring another installation's config
// over it is refused before anything is touched; `mipo restore` adopts it into .mipo.env.
func (s *Service) auditKeyFor(ctx context.Context, plans []dbPlan) ([]byte, error) {
	for _, p := range plans {
		last := p.chain[len(p.chain)-1]
		if p.name != app.DBConfig || last.Secrets == nil {
			continue
		}
		keys, err := s.ReadSecrets(ctx, last)
		if err != nil {
			return nil, err
		}
		k, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(keys["MIPO_AUDIT_KEY"], "="))
		if err != nil || len(k) == 0 {
			break
		}
		if !s.AdoptKeys && len(s.AuditKey) > 0 && !bytes.Equal(k, s.AuditKey) {
			return nil, app.Conflict("other_installation", "this config backup comes from an installation with another MIPO_AUDIT_KEY: "+
				"restore it with `mipo restore`, which brings its keys into .mipo.env, with mipo stopped")
		}
		return k, nil
	}
	return s.AuditKey, nil
}

// load builds the database's fresh schema: the migrations of the oldest backup, its rows, each
// incremental, the remaining migrations; then foreign keys, sequences and counts. It returns a
// pool on the fresh schema (closed by the caller), for the checks that span databases.
func (s *Service) load(ctx context.Context, live *pgxpool.Pool, p dbPlan, advanced func(int64)) (*pgxpool.Pool, error) {
	if _, err := live.Exec(ctx, `DROP SCHEMA IF EXISTS `+restoreSchema+` CASCADE; CREATE SCHEMA `+restoreSchema); err != nil {
		return nil, err
	}
	cfg := live.Config()
	cfg.MaxConns = 2
	cfg.ConnConfig.RuntimeParams["search_path"] = restoreSchema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return pool, s.fill(ctx, pool, p, advanced)
}

func (s *Service) fill(ctx context.Context, pool *pgxpool.Pool, p dbPlan, advanced func(int64)) error {
	var err error
	var fkeys []foreignKey
	var indexes []string
	for i, m := range p.chain {
		db := findDatabase(m, p.name)
		if err := app.MigrateTo(ctx, pool, p.name, db.Migration); err != nil {
			return err
		}
		if i == 0 {
			if fkeys, err = dropForeignKeys(ctx, pool); err != nil {
				return err
			}
			if err := emptyTables(ctx, pool); err != nil {
				return err
			}
			if indexes, err = dropIndexes(ctx, pool); err != nil {
				return err
			}
		}
		for _, t := range db.Tables {
			if err := s.loadPart(ctx, pool, m, t, i > 0); err != nil {
				return fmt.Errorf("table %s: %w", t.Name, err)
			}
			advanced(t.Bytes)
		}
		if i == 0 {
			// Back before the incrementals, whose migrations and upserts may need them.
			for _, def := range indexes {
				if _, err := pool.Exec(ctx, def); err != nil {
					return err
				}
			}
		}
	}
	if err := app.MigrateTo(ctx, pool, p.name, 0); err != nil {
		return err
	}
	for _, fk := range fkeys {
		if _, err := pool.Exec(ctx, `ALTER TABLE `+fk.table+` ADD CONSTRAINT `+fk.name+` `+fk.def); err != nil {
			return fmt.Errorf("the restored rows break a reference (%s): %w", fk.name, err)
		}
	}
	if err := resetSequences(ctx, pool); err != nil {
		return err
	}
	last := p.chain[len(p.chain)-1]
	for _, t := range findDatabase(last, p.name).Tables {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t.Name}.Sanitize()).Scan(&n); err != nil {
			return err
		}
		if n != t.Total {
			return fmt.Errorf("table %s has %d rows after the restore; the backup counted %d", t.Name, n, t.Total)
		}
	}
	return nil
}

// checkAudit verifies the restored audit log under its key, against the restored checkpoints
// and the one the manifest carries, and that it ends where the backup's did.
func checkAudit(ctx context.Context, config, jobs *pgxpool.Pool, key []byte, m *Manifest) error {
	chain := auditapi.Chain{Config: config, Jobs: jobs, Key: key}
	if m.AuditCheckpoint != nil {
		chain.Anchors = []auditapi.CheckpointRecord{*m.AuditCheckpoint}
	}
	v, err := auditapi.Verify(ctx, chain)
	if err != nil {
		return err
	}
	if !v.OK {
		return errors.New("the restored audit log does not verify: " + v.Reason)
	}
	h, err := auditapi.ReadHead(ctx, config)
	if err != nil {
		return err
	}
	if m.AuditHead != nil && h != *m.AuditHead {
		return fmt.Errorf("the restored audit log ends in record %d (hash %s); the backup's manifest says record %d (hash %s)",
			h.LastID, h.Hash, m.AuditHead.LastID, m.AuditHead.Hash)
	}
	return nil
}

func findDatabase(m *Manifest, name string) Database {
	for _, d := range m.Databases {
		if d.Name == name {
			return d
		}
	}
	return Database{Name: name}
}

// loadPart copies a part into its table. An incremental's rows replace rows with the same
// primary key (a row updated since the last backup), through a temporary table.
func (s *Service) loadPart(ctx context.Context, pool *pgxpool.Pool, m *Manifest, t Table, upsert bool) error {
	r, err := s.openPart(m, t)
	if err != nil {
		return err
	}
	defer r.Close()
	table := pgx.Identifier{t.Name}.Sanitize()
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var key []string
		if upsert {
			if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(quote_ident(a.attname::text)), '{}') FROM pg_index i
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
				WHERE i.indrelid = $1::regclass AND i.indisprimary`, table).Scan(&key); err != nil {
				return err
			}
		}
		if len(key) == 0 {
			_, err := tx.Conn().PgConn().CopyFrom(ctx, r, `COPY `+table+` FROM STDIN`)
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE mipo_delta (LIKE `+table+`) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, r, `COPY mipo_delta FROM STDIN`); err != nil {
			return err
		}
		var match []string
		for _, k := range key {
			match = append(match, "t."+k+" = d."+k)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` t USING mipo_delta d WHERE `+strings.Join(match, " AND ")); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+table+` SELECT * FROM mipo_delta`)
		return err
	})
}

// emptyTables removes the rows migrations seed (built-in roles, default settings): the
// backup's own rows replace them. Only tables holding rows: the append-only ones refuse
// DELETE and TRUNCATE, and no migration seeds them.
func emptyTables(ctx context.Context, pool *pgxpool.Pool) error {
	tables, err := listTables(ctx, pool)
	if err != nil {
		return err
	}
	for _, t := range tables {
		name := pgx.Identifier{t}.Sanitize()
		var seeded bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+name+`)`).Scan(&seeded); err != nil {
			return err
		}
		if seeded {
			if _, err := pool.Exec(ctx, `DELETE FROM `+name); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropIndexes drops the fresh schema's plain indexes (not those behind a primary key or unique
// constraint) and returns their definitions: building an index once after a large COPY is
// several times faster than updating it row by row. A partitioned table's indexes stay: its
// partitions' indexes cannot be dropped alone, and the parent's definition would come back
// without them.
func dropIndexes(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT i.indexdef, quote_ident(i.indexname) FROM pg_indexes i
		JOIN pg_class c ON c.relname = i.indexname AND c.relnamespace = $1::regnamespace
		WHERE i.schemaname = $2 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
		AND c.relkind = 'i' AND NOT c.relispartition`, restoreSchema, restoreSchema)
	if err != nil {
		return nil, err
	}
	type index struct{ def, name string }
	idx, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var i index
		return i, r.Scan(&i.def, &i.name)
	})
	if err != nil {
		return nil, err
	}
	var defs []string
	for _, i := range idx {
		if _, err := pool.Exec(ctx, `DROP INDEX `+i.name); err != nil {
			return nil, err
		}
		defs = append(defs, i.def)
	}
	return defs, nil
}

type foreignKey struct{ table, name, def string }

// dropForeignKeys removes the fresh schema's foreign keys so tables load in any order; load
// adds them back, which checks every reference at once.
func dropForeignKeys(ctx context.Context, pool *pgxpool.Pool) ([]foreignKey, error) {
	rows, err := pool.Query(ctx, `SELECT quote_ident(t.relname), quote_ident(c.conname), pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE c.contype = 'f' AND c.connamespace = $1::regnamespace`, restoreSchema)
	if err != nil {
		return nil, err
	}
	fks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (foreignKey, error) {
		var f foreignKey
		return f, r.Scan(&f.table, &f.name, &f.def)
	})
	if err != nil {
		return nil, err
	}
	for _, fk := range fks {
		if _, err := pool.Exec(ctx, `ALTER TABLE `+fk.table+` DROP CONSTRAINT `+fk.name); err != nil {
			return nil, err
		}
	}
	return fks, nil
}

// resetSequences moves each column's sequence past the restored rows.
func resetSequences(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `SELECT quote_ident(s.relname), quote_ident(t.relname), quote_ident(a.attname)
		FROM pg_depend d
		JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
		JOIN pg_class t ON t.oid = d.refobjid
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
		WHERE s.relnamespace = $1::regnamespace AND d.deptype IN ('a', 'i')`, restoreSchema)
	if err != nil {
		return err
	}
	type seq struct{ seq, table, col string }
	seqs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seq, error) {
		var q seq
		return q, r.Scan(&q.seq, &q.table, &q.col)
	})
	if err != nil {
		return err
	}
	for _, q := range seqs {
		if _, err := pool.Exec(ctx, `SELECT setval('`+q.seq+`', coalesce(max(`+q.col+`), 0) + 1, false) FROM `+q.table); err != nil {
			return err
		}
	}
	return nil
}

// switchSchema makes the restored schema the live one and grants mipo's runtime role its rows
// there, in one transaction: the running mipo sees the old tables or the new ones, never a gap.
func switchSchema(ctx context.Context, owner *pgxpool.Pool, runtimeRole string) error {
	return pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+previousSchema+` CASCADE;
			ALTER SCHEMA public RENAME TO `+previousSchema+`;
			ALTER SCHEMA `+restoreSchema+` RENAME TO public`)
		if err != nil {
			return err
		}
		return app.GrantRuntime(ctx, tx, runtimeRole)
	})
}

var _ io.Reader = (*partReader)(nil)
