package backup

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/scans/scansapi"
)

// Schedule is when one kind of backup runs and how long its backups are kept.
type Schedule struct {
	Kind          string          `json:"kind" doc:"config or results"`
	Enabled       bool            `json:"enabled"`
	Timing        scansapi.Timing `json:"timing"`
	RetentionDays int             `json:"retention_days" doc:"1 to 365: backups older than this are deleted, locally and in S3"`
	NextRunAt     *time.Time      `json:"next_run_at"`
	LastRunAt     *time.Time      `json:"last_run_at"`
}

// Replication is the S3 target as shown: the secret key is never returned here.
type Replication struct {
	Enabled       bool   `json:"enabled"`
	Endpoint      string `json:"endpoint"`
	Bucket        string `json:"bucket"`
	Prefix        string `json:"prefix"`
	Region        string `json:"region"`
	AccessKey     string `json:"access_key"`
	HasSecret     bool   `json:"has_secret_key"`
	Insecure      bool   `json:"insecure"`
	RetentionDays int    `json:"retention_days"`
}

// Settings are the backup schedules and the replication target.
type Settings struct {
	Schedules   []Schedule  `json:"schedules"`
	Replication Replication `json:"replication"`
}

// SettingsUpdate replaces the schedules given and the replication target when given.
type SettingsUpdate struct {
	Schedules   []Schedule         `json:"schedules,omitempty"`
	Replication *ReplicationUpdate `json:"replication,omitempty"`
}

// ReplicationUpdate sets the S3 target; an empty secret_key keeps the stored one.
type ReplicationUpdate struct {
	Replication
	SecretKey string `json:"secret_key,omitempty"`
}

func loadSchedules(ctx context.Context, db app.Querier) ([]Schedule, error) {
	rows, err := db.Query(ctx, `SELECT kind, enabled, timing, retention_days, next_run_at, last_run_at FROM backup_schedules ORDER BY kind`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Schedule, error) {
		var s Schedule
		var timing []byte
		if err := r.Scan(&s.Kind, &s.Enabled, &timing, &s.RetentionDays, &s.NextRunAt, &s.LastRunAt); err != nil {
			return s, err
		}
		return s, json.Unmarshal(timing, &s.Timing)
	})
}

// target is the replication target with its secret opened; ok is false when replication is off.
func loadTarget(ctx context.Context, db app.Querier, box *app.SecretBox) (S3, Replication, error) {
	var r Replication
	var sealed string
	err := db.QueryRow(ctx, `SELECT enabled, endpoint, bucket, prefix, region, access_key, secret_sealed, insecure, retention_days
		FROM backup_replication`).Scan(&r.Enabled, &r.Endpoint, &r.Bucket, &r.Prefix, &r.Region, &r.AccessKey, &sealed, &r.Insecure, &r.RetentionDays)
	if err != nil {
		return S3{}, r, err
	}
	r.HasSecret = sealed != ""
	t := S3{Endpoint: r.Endpoint, Bucket: r.Bucket, Prefix: r.Prefix, Region: r.Region, AccessKey: r.AccessKey, Insecure: r.Insecure}
	if sealed != "" && box != nil {
		if t.SecretKey, err = box.Open(secretPurpose, sealed); err != nil {
			return t, r, err
		}
	}
	return t, r, nil
}

const secretPurpose = "backup.s3.secret_key"

func loadSettings(ctx context.Context, db app.Querier) (Settings, error) {
	var s Settings
	var err error
	if s.Schedules, err = loadSchedules(ctx, db); err != nil {
		return s, err
	}
	_, s.Replication, err = loadTarget(ctx, db, nil)
	return s, err
}

// applySettings validates and stores an update in tx; errors name the field.
func applySettings(ctx context.Context, tx pgx.Tx, box *app.SecretBox, u SettingsUpdate, now time.Time) error {
	for _, s := range u.Schedules {
		if _, ok := kindDatabases[s.Kind]; !ok {
			return app.Invalid("schedules.kind", "unknown_kind", "kind must be config or results")
		}
		if s.RetentionDays < 1 || s.RetentionDays > 365 {
			return app.Invalid("schedules.retention_days", "out_of_range", "retention must be 1 to 365 days")
		}
		p, err := s.Timing.Compile()
		if err != nil {
			return prefixed("schedules.timing.", err)
		}
		next, err := p.Next(now, rand.New(rand.NewPCG(uint64(now.UnixNano()), 0)))
		if err != nil {
			return prefixed("schedules.timing.", err)
		}
		timing, _ := json.Marshal(s.Timing)
		if _, err := tx.Exec(ctx, `UPDATE backup_schedules SET enabled = $2, timing = $3, retention_days = $4, next_run_at = $5 WHERE kind = $1`,
			s.Kind, s.Enabled, timing, s.RetentionDays, next); err != nil {
			return err
		}
	}
	if r := u.Replication; r != nil {
		if r.RetentionDays < 1 || r.RetentionDays > 365 {
			return app.Invalid("replication.retention_days", "out_of_range", "retention must be 1 to 365 days")
		}
		if r.Enabled && (r.Endpoint == "" || r.Bucket == "") {
			return app.Invalid("replication.endpoint", "required", "replication needs an endpoint and a bucket")
		}
		sealed := ""
		if r.SecretKey != "" {
			var err error
			if sealed, err = box.Seal(secretPurpose, r.SecretKey); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE backup_replication SET enabled = $1, endpoint = $2, bucket = $3, prefix = $4, region = $5,
			access_key = $6, secret_sealed = CASE WHEN $7 = '' THEN secret_sealed ELSE $7 END, insecure = $8, retention_days = $9`,
			r.Enabled, r.Endpoint, r.Bucket, r.Prefix, r.Region, r.AccessKey, sealed, r.Insecure, r.RetentionDays); err != nil {
			return err
		}
	}
	return nil
}

func prefixed(prefix string, err error) error {
	var e *app.Error
	if errors.As(err, &e) && e.Field != "" {
		cp := *e
		cp.Field = prefix + e.Field
		return &cp
	}
	return err
}
