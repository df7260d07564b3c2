package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/configapi"
)

// The store of every object family: config_objects (the current state), config_refs (who
// refers to whom) and, through appendVersion, config_versions (the history). Families differ
// only in their spec; everything here is written once for all of them.

// Meta is what the API shows about every object beside its spec.
type Meta struct {
	ID        string    `json:"id"`
	Version   int       `json:"version" doc:"1 when created, one more with every change; GET …/versions lists them all."`
	Builtin   bool      `json:"builtin" doc:"Shipped with mipo and read-only."`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Refs      []Ref     `json:"refs" doc:"The objects this one refers to, with their current names."`
	UsedBy    []Ref     `json:"used_by" doc:"The objects that refer to this one; it cannot be deleted while any do."`
}

// stored is one live object: its Meta and its spec as JSON, decoded by the family that owns it.
type stored struct {
	Meta
	spec []byte
}

// refNames lists the objects on one side of config_refs, with their current names: that is
// how a rename shows everywhere at once.
const refNames = `COALESCE((SELECT json_agg(json_build_object('id', t.id, 'kind', t.kind, 'name', t.name) ORDER BY t.kind, lower(t.name), t.id)
	FROM config_refs r JOIN config_objects t ON t.id = r.%s WHERE r.%s = o.id), '[]')`

var objectColumns = `o.id, o.version, o.builtin, o.spec, o.created_at, o.updated_at, ` +
	fmt.Sprintf(refNames, "to_id", "from_id") + `, ` + fmt.Sprintf(refNames, "from_id", "to_id")

func scanObject(row pgx.Row) (*stored, error) {
	o := &stored{}
	var refs, usedBy []byte
	if err := row.Scan(&o.ID, &o.Version, &o.Builtin, &o.spec, &o.CreatedAt, &o.UpdatedAt, &refs, &usedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(refs, &o.Refs); err != nil {
		return nil, err
	}
	return o, json.Unmarshal(usedBy, &o.UsedBy)
}

func getObject(ctx context.Context, db app.Querier, kind, id string) (*stored, error) {
	if !isUUID(id) {
		return nil, app.NotFound(nouns[kind])
	}
	o, err := scanObject(db.QueryRow(ctx, `SELECT `+objectColumns+` FROM config_objects o WHERE o.id = $1 AND o.kind = $2`, id, kind))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound(nouns[kind])
	}
	return o, err
}

// lockObject loads an object for a change and holds its row until the transaction ends, so
// two changes to one object cannot both build on the same version. NO KEY UPDATE leaves the
// row free for others' foreign-key checks (a reference being added to it elsewhere); a
// deletion takes the stronger lock only when it deletes, and then fails on such a reference.
func lockObject(ctx context.Context, tx pgx.Tx, kind, id string) (*stored, error) {
	if !isUUID(id) {
		return nil, app.NotFound(nouns[kind])
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM config_objects WHERE id = $1 AND kind = $2 FOR NO KEY UPDATE`, id, kind).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound(nouns[kind])
	}
	if err != nil {
		return nil, err
	}
	return getObject(ctx, tx, kind, id)
}

// where collects the conditions and arguments of a list query.
// listObjects returns one page (plus one row, for app.Paginate) of one kind. order is SQL
// built from a whitelisted sort field.
func listObjects(ctx context.Context, db app.Querier, kind string, l app.List, order string, w *app.Where) ([]*stored, error) {
	w.Add("o.kind = " + w.Arg(kind))
	rows, err := db.Query(ctx, `SELECT `+objectColumns+` FROM config_objects o WHERE `+w.SQL()+
		` ORDER BY `+order+`, o.id LIMIT `+w.Arg(l.Limit+1)+` OFFSET `+w.Arg(l.Offset), w.Args()...)
	return app.Collect(rows, err, scanObject)
}

// checkRefs confirms that every id a spec refers to is a live object of the kind its field
// expects, naming the field and the id when one is not.
func checkRefs(ctx context.Context, db app.Querier, fields []refField) error {
	var all []string
	for _, f := range fields {
		all = append(all, f.ids...)
	}
	if len(all) == 0 {
		return nil
	}
	rows, err := db.Query(ctx, `SELECT id::text, kind FROM config_objects WHERE id = ANY($1::uuid[])`, all)
	if err != nil {
		return err
	}
	kinds := map[string]string{}
	for rows.Next() {
		var id, kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return err
		}
		kinds[id] = kind
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range fields {
		for i, id := range f.ids {
			field := fmt.Sprintf("%s[%d]", f.field, i)
			switch got := kinds[id]; got {
			case f.kind:
			case "":
				return app.Invalid(field, "unknown_"+f.kind, "no "+nouns[f.kind]+" has id "+id)
			default:
				return app.Invalid(field, "wrong_kind", id+" is "+aNoun(got)+", not "+aNoun(f.kind))
			}
		}
	}
	return nil
}

// A write is one new version of one object.
type write struct {
	kind, id, name string
	builtin        bool
	spec           []byte
	refs           []string
	at             time.Time
	actor          string
}

func createObject(ctx context.Context, tx pgx.Tx, w write) error {
	_, err := tx.Exec(ctx, `INSERT INTO config_objects (id, kind, name, builtin, version, spec, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 1, $5, $6, $6)`, w.id, w.kind, w.name, w.builtin, w.spec, w.at)
	if err != nil {
		return storeError(w, err)
	}
	if err := setRefs(ctx, tx, w); err != nil {
		return err
	}
	return appendVersion(ctx, tx, w, 1, "create")
}

// updateObject stores a new spec and returns the new version number.
func updateObject(ctx context.Context, tx pgx.Tx, w write) (int, error) {
	var version int
	err := tx.QueryRow(ctx, `UPDATE config_objects SET name = $2, spec = $3, version = version + 1, updated_at = $4
		WHERE id = $1 RETURNING version`, w.id, w.name, w.spec, w.at).Scan(&version)
	if err != nil {
		return 0, storeError(w, err)
	}
	if err := setRefs(ctx, tx, w); err != nil {
		return 0, err
	}
	return version, appendVersion(ctx, tx, w, version, "update")
}

// deleteObject removes a live object, refusing while anything refers to it (here, or in
// another module that said so with RegisterUsers), and records the deletion in its history so
// that resolving a scope after this moment no longer sees it.
func deleteObject(ctx context.Context, tx pgx.Tx, o *stored, w write) error {
	elsewhere, err := configapi.UsersElsewhere(ctx, tx, w.kind, w.id)
	if err != nil {
		return err
	}
	if len(o.UsedBy) > 0 || len(elsewhere) > 0 {
		return inUse(w.kind, w.name, o.UsedBy, elsewhere)
	}
	w.spec = o.spec
	if err := appendVersion(ctx, tx, w, o.Version+1, "delete"); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM config_objects WHERE id = $1`, w.id)
	return storeError(w, err)
}

func setRefs(ctx context.Context, tx pgx.Tx, w write) error {
	if _, err := tx.Exec(ctx, `DELETE FROM config_refs WHERE from_id = $1`, w.id); err != nil {
		return err
	}
	if len(w.refs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO config_refs (from_id, to_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`, w.id, w.refs)
	return storeError(w, err)
}

// storeError turns the constraint violations a concurrent change can cause into answers.
func storeError(w write, err error) error {
	switch {
	case app.IsUniqueViolation(err):
		return &app.Error{Status: http.StatusConflict, Code: "name_taken", Field: "name",
			Message: aNoun(w.kind) + " named " + strconv.Quote(w.name) + " exists"}
	case app.IsForeignKeyViolation(err):
		return app.Conflict("changed_meanwhile", "an object this change involves was deleted or came into use meanwhile; reload and try again")
	}
	return err
}

// inUse is the refusal to delete an object others refer to; it names them.
func inUse(kind, name string, users []Ref, elsewhere []string) error {
	var names []string
	for _, u := range users {
		names = append(names, nouns[u.Kind]+" "+strconv.Quote(u.Name))
	}
	names = append(names, elsewhere...)
	detail := map[string]any{"used_by": users}
	if len(elsewhere) > 0 {
		detail["used_elsewhere"] = elsewhere
	}
	return app.Conflict("in_use", fmt.Sprintf("%s %s is used by %s; remove it there first",
		nouns[kind], strconv.Quote(name), strings.Join(names, ", "))).WithDetail(detail)
}

// actorName is who made a change, as the history shows it.
func actorName(ctx context.Context) string {
	if p := app.PrincipalFrom(ctx); p != nil {
		return p.Name
	}
	return ""
}
