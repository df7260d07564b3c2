package backup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/klauspost/compress/zstd"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// Which databases each kind of backup holds.
var kindDatabases = map[string][]string{
	// jobs before config: the audit checkpoints in jobs then only vouch for records the later
	// config snapshot holds.
	KindConfig:  {app.DBJobs, app.DBConfig},
	KindResults: {app.DBResults},
}

// timeColumns bounds a results incremental by time: a row committed since the last backup is
// found by its transaction, but only among rows at most lateArrival older than that backup,
// so a nightly delta reads days of a years-long table through its time index.
var timeColumns = map[string]string{"observations": "observed_at", "result_batches": "received_at", "job_coverage": "completed_at"}

// lateArrival is how late a scanner may deliver a result (it buffers on disk through an
// outage) and still have it in the next incremental.
const lateArrival = 30 * 24 * time.Hour

// fullEvery is how long a results chain grows before the next backup is a full one, so a
// restore replays at most a week of deltas and retention can drop whole chains.
const fullEvery = 7 * 24 * time.Hour

// Service makes, lists, verifies and restores backups of one installation.
type Service struct {
	DB      *app.Databases
	Keys    *Keys
	Dir     string // where backups are kept, one folder each
	Install string // the installation's name, typed to confirm a restore
	Clock   func() time.Time
	Secrets map[string]string // the installation's keys, carried by config backups
	// AuditKey checks a restored audit log; AdoptKeys lets a restore take the backup's own key
	// (mipo restore, which writes it into .mipo.env) instead of refusing another installation's.
	AuditKey  []byte
	AdoptKeys bool
	// OpenOwner opens the databases as their owner for a restore; nil: DB is the owner.
	OpenOwner func(context.Context) (*app.Databases, func(), error)
}

func (s *Service) now() time.Time {
	if s.Clock != nil {
		return s.Clock().UTC()
	}
	return time.Now().UTC()
}

// Create makes a backup of one kind. A results backup is incremental on the newest results
// backup unless full is set, there is none, or its chain started more than fullEvery ago.
func (s *Service) Create(ctx context.Context, kind string, full bool) (*Manifest, error) {
	dbs, ok := kindDatabases[kind]
	if !ok {
		return nil, app.Invalid("kind", "unknown_kind", "kind must be config or results")
	}
	now := s.now()
	m := &Manifest{Format: 1, Kind: kind, CreatedAt: now, Install: s.Install, MipoVersion: app.Version, KeyID: s.Keys.ID,
		ID: now.Format("20060102T150405Z") + "-" + kind + "-" + randomHex(3)}
	var parent *Manifest
	if kind == KindResults && !full {
		p, chainStart, err := s.chainHead(KindResults)
		if err != nil {
			return nil, err
		}
		if p != nil && now.Sub(chainStart) < fullEvery {
			parent, m.Incremental, m.Parent = p, true, p.ID
		}
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	if kind == KindConfig {
		cp, err := auditapi.LatestCheckpoint(ctx, s.DB.Jobs)
		if err != nil {
			return nil, err
		}
		m.AuditCheckpoint = cp
	}
	tmp, err := os.MkdirTemp(s.Dir, ".partial-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, name := range dbs {
		db, err := s.dumpDatabase(ctx, tmp, m, name, parent)
		if err != nil {
			return nil, fmt.Errorf("backing up the %s database: %w", name, err)
		}
		m.Databases = append(m.Databases, db)
	}
	if kind == KindConfig {
		if m.Secrets, err = s.writeSecrets(tmp, m.ID); err != nil {
			return nil, err
		}
	}
	if err := writeFileSync(filepath.Join(tmp, manifestFile), m.seal(s.Keys)); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(s.Dir, m.ID)); err != nil {
		return nil, err
	}
	return m, nil
}

// chainHead returns the newest backup of a kind and when its chain's full backup was made.
func (s *Service) chainHead(kind string) (*Manifest, time.Time, error) {
	all, err := s.List()
	if err != nil {
		return nil, time.Time{}, err
	}
	var head *Manifest
	for _, m := range all {
		if m.Kind == kind && m.KeyID == s.Keys.ID {
			head = m
		}
	}
	if head == nil {
		return nil, time.Time{}, nil
	}
	chain, err := chainOf(all, head)
	if err != nil {
		return nil, time.Time{}, nil // a broken chain: start a new one
	}
	return head, chain[0].CreatedAt, nil
}

// dumpDatabase writes every table of one database as a part, all from one REPEATABLE READ
// snapshot, so the backup is consistent however long it takes.
func (s *Service) dumpDatabase(ctx context.Context, dir string, m *Manifest, name string, parent *Manifest) (Database, error) {
	db := Database{Name: name}
	err := pgx.BeginTxFunc(ctx, s.DB.Pool(name), pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var snapshot string
		if err := tx.QueryRow(ctx, `SELECT pg_current_snapshot()::text`).Scan(&snapshot); err != nil {
			return err
		}
		if name == app.DBResults {
			m.Snapshot = snapshot
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&db.Migration); err != nil {
			return err
		}
		if name == app.DBConfig {
			h, err := auditapi.ReadHead(ctx, tx)
			if err != nil {
				return err
			}
			m.AuditHead = &h
		}
		tables, err := listTables(ctx, tx)
		if err != nil {
			return err
		}
		for _, t := range tables {
			query := "SELECT * FROM " + pgx.Identifier{t}.Sanitize()
			if parent != nil {
				query += deltaFilter(t, parent)
			}
			tab, err := s.writePart(ctx, tx, dir, m.ID, name+"."+t+".zst.enc", query)
			if err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
			tab.Name, tab.Total = t, tab.Rows
			if parent != nil {
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&tab.Total); err != nil {
					return err
				}
			}
			db.Tables = append(db.Tables, tab)
		}
		return nil
	})
	return db, err
}

var snapshotPattern = regexp.MustCompile(`^[0-9]+:[0-9]+:[0-9,]*$`)

// deltaFilter selects the rows whose inserting transaction the parent's snapshot did not see.
// xmin is a 32-bit transaction id; it is widened to the 64-bit id of the current epoch (or the
// one before, when it is above the current low bits) to compare with the snapshot.
func deltaFilter(table string, parent *Manifest) string {
	if !snapshotPattern.MatchString(parent.Snapshot) {
		return " WHERE false" // cannot happen: the manifest is signed and made by us
	}
	full := `(((pg_snapshot_xmax(pg_current_snapshot())::text::bigint >> 32) << 32) + xmin::text::bigint
		- CASE WHEN xmin::text::bigint > (pg_snapshot_xmax(pg_current_snapshot())::text::bigint & 4294967295) THEN 4294967296 ELSE 0 END)`
	where := " WHERE NOT pg_visible_in_snapshot(" + full + "::text::xid8, '" + parent.Snapshot + "'::pg_snapshot)"
	if col, ok := timeColumns[table]; ok {
		since := parent.CreatedAt.Add(-lateArrival).Format(time.RFC3339Nano)
		where += " AND " + pgx.Identifier{col}.Sanitize() + " >= '" + since + "'::timestamptz"
	}
	return where
}

// listTables lists the tables of the current schema, without goose's own.
func listTables(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]string, error) {
	// A partitioned table is one table here, read and loaded through its parent: the restored
	// schema has its own partitions (PostgreSQL routes each row), so the parts do not depend on
	// which weeks happened to exist when the backup ran.
	rows, err := q.Query(ctx, `SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
		AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'goose_db_version' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// writePart streams one COPY through zstd and the streaming AEAD into a file, hashing the
// ciphertext as it goes.
func (s *Service) writePart(ctx context.Context, tx pgx.Tx, dir, backupID, part, query string) (Table, error) {
	f, err := os.OpenFile(filepath.Join(dir, part), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Table{}, err
	}
	defer f.Close()
	sum := sha256.New()
	counted := &countWriter{w: io.MultiWriter(f, sum)}
	enc, err := s.Keys.encrypt(counted, backupID, part)
	if err != nil {
		return Table{}, err
	}
	zw, err := zstd.NewWriter(enc, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return Table{}, err
	}
	tag, err := tx.Conn().PgConn().CopyTo(ctx, zw, "COPY ("+query+") TO STDOUT")
	if err != nil {
		zw.Close()
		return Table{}, err
	}
	if err := zw.Close(); err != nil {
		return Table{}, err
	}
	if err := enc.Close(); err != nil {
		return Table{}, err
	}
	if err := f.Sync(); err != nil {
		return Table{}, err
	}
	return Table{Rows: tag.RowsAffected(), Part: part, Bytes: counted.n, SHA256: hex.EncodeToString(sum.Sum(nil))}, f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
