package config

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// The history of every object family: config_versions holds each version's whole spec, so any
// past version can be read, two versions diffed, and a scope resolved as it was at any moment.

// Version is one entry of an object's history: its spec from At until the next version.
type Version[S any] struct {
	Version int       `json:"version"`
	Change  string    `json:"change" doc:"create, update or delete."`
	At      time.Time `json:"at" doc:"When this version took effect."`
	Actor   string    `json:"actor" doc:"Who made the change."`
	Spec    S         `json:"spec"`
}

// VersionDiff is what changed between two versions of one object.
type VersionDiff struct {
	From    int                    `json:"from" doc:"0 stands for before the object existed."`
	To      int                    `json:"to"`
	Changes []auditapi.FieldChange `json:"changes" doc:"Field by field; fields of nested objects are written with dots, such as timing.rate_limit."`
}

// VersionQuery is the query of GET …/versions.
type VersionQuery struct {
	Sort   string `query:"sort" json:"sort,omitempty" doc:"version or -version (the default: newest first)."`
	Limit  int    `query:"limit" json:"limit,omitempty" doc:"Items per page, 1 to 500 (default 50)."`
	Cursor string `query:"cursor" json:"cursor,omitempty" doc:"next_cursor of the previous page."`
}

// DiffQuery is the query of GET …/diff.
type DiffQuery struct {
	From int `query:"from" json:"from,omitempty" doc:"The older version; 0 for before the object existed. Default: the version before to."`
	To   int `query:"to" json:"to,omitempty" doc:"The newer version. Default: the latest."`
}

type versionRow struct {
	version int
	change  string
	at      time.Time
	actor   string
	spec    []byte
}

func appendVersion(ctx context.Context, tx pgx.Tx, w write, version int, change string) error {
	_, err := tx.Exec(ctx, `INSERT INTO config_versions (object_id, version, kind, change, spec, at, actor)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, w.id, version, w.kind, change, w.spec, w.at, w.actor)
	return err
}

const versionColumns = `version, change, at, actor, spec`

func scanVersion(row pgx.Row) (versionRow, error) {
	var v versionRow
	err := row.Scan(&v.version, &v.change, &v.at, &v.actor, &v.spec)
	return v, err
}

// listVersions returns one page of an object's history (plus one row, for app.Paginate). The
// history outlives the object: a deleted object's versions can still be read.
func listVersions(ctx context.Context, db app.Querier, kind, id string, l app.List) ([]versionRow, error) {
	if _, err := latestVersion(ctx, db, kind, id); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+versionColumns+` FROM config_versions WHERE object_id = $1 AND kind = $2
		ORDER BY version `+l.Direction()+` LIMIT $3 OFFSET $4`, id, kind, l.Limit+1, l.Offset)
	return app.Collect(rows, err, scanVersion)
}

func getVersion(ctx context.Context, db app.Querier, kind, id string, n int) (versionRow, error) {
	if !isUUID(id) {
		return versionRow{}, app.NotFound(nouns[kind])
	}
	v, err := scanVersion(db.QueryRow(ctx, `SELECT `+versionColumns+` FROM config_versions WHERE object_id = $1 AND kind = $2 AND version = $3`, id, kind, n))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, app.NotFound("version " + itoa(n) + " of this " + nouns[kind])
	}
	return v, err
}

func latestVersion(ctx context.Context, db app.Querier, kind, id string) (int, error) {
	if !isUUID(id) {
		return 0, app.NotFound(nouns[kind])
	}
	var n *int
	if err := db.QueryRow(ctx, `SELECT max(version) FROM config_versions WHERE object_id = $1 AND kind = $2`, id, kind).Scan(&n); err != nil {
		return 0, err
	}
	if n == nil {
		return 0, app.NotFound(nouns[kind])
	}
	return *n, nil
}

// diffVersions compares two versions of an object; from 0 compares with nothing. A nil to is
// the latest version and a nil from the version before to.
func diffVersions(ctx context.Context, db app.Querier, kind, id string, from, to *int) (VersionDiff, error) {
	latest, err := latestVersion(ctx, db, kind, id)
	if err != nil {
		return VersionDiff{}, err
	}
	d := VersionDiff{To: latest}
	if to != nil {
		d.To = *to
	}
	d.From = d.To - 1
	if from != nil {
		d.From = *from
	}
	if d.To < 1 || d.To > latest {
		return d, app.Invalid("to", "unknown_version", "to must be a version from 1 to "+itoa(latest))
	}
	if d.From < 0 || d.From >= d.To {
		return d, app.Invalid("from", "unknown_version", "from must be a version from 0 to "+itoa(d.To-1))
	}
	var before []byte
	if d.From > 0 {
		v, err := getVersion(ctx, db, kind, id, d.From)
		if err != nil {
			return d, err
		}
		before = v.spec
	}
	after, err := getVersion(ctx, db, kind, id, d.To)
	if err != nil {
		return d, err
	}
	d.Changes, err = diffSpecs(before, after.spec)
	return d, err
}

// diffSpecs compares two specs field by field, with nested objects' fields spelled with dots,
// so a changed timeout shows as timing.timeout_ms rather than as a whole new timing object.
func diffSpecs(before, after []byte) ([]auditapi.FieldChange, error) {
	b, err := flatten(before)
	if err != nil {
		return nil, err
	}
	a, err := flatten(after)
	if err != nil {
		return nil, err
	}
	changes := auditapi.Diff(b, a)
	if changes == nil {
		changes = []auditapi.FieldChange{}
	}
	return changes, nil
}

// flatten reads a JSON object into one level of dotted keys; nil or empty input is nil.
func flatten(raw []byte) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", m)
	return out, nil
}
