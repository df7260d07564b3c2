package config

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// A family is one kind of object with its API: list, create, read, change, delete, and the
// version history, the same for subnets as for templates. A family supplies only what is its
// own: the spec type (with its validation and references), list filters, and how an object is
// presented.

// spec is what the generic code needs of a family's spec type.
type spec[S any] interface {
	*S
	base() *Base
	// validate normalises the spec and checks everything that needs no database.
	validate() error
	// references lists the ids the spec refers to, by field and kind.
	references() []refField
}

// object is a live object with its spec decoded.
type object[S any] struct {
	Meta
	Spec S
}

// env is what families need from the module's mount.
type env struct {
	pool  func() app.ConfigDB
	clock app.Clock
}

// now is the time of a change, at the database's precision, so that resolving a scope at the
// very time a change was made sees that change.
func (e *env) now() time.Time { return e.clock.Now().UTC().Truncate(time.Microsecond) }

type family[S any, P spec[S], V any] struct {
	kind       string
	path       string // "/api/v1/subnets"
	plural     string // "subnets", for route summaries
	view, edit string // the scopes to read and to change
	query      any    // the list query's type, for the OpenAPI document

	sorts    []string          // sort fields; the first is the default
	sortSQL  map[string]string // SQL of sort fields beyond name, created_at and updated_at
	search   []string          // SQL text that q searches beyond the name and description
	filter   func(c echo.Context, w *app.Where) error
	defaults func() S // the spec a create body is decoded over; zero when nil
	// verify checks what needs the database beyond references (group cycles).
	verify  func(ctx context.Context, tx pgx.Tx, id string, s *S) error
	present func(ctx context.Context, db app.Querier, objs []object[S]) ([]V, error)

	env *env
}

func (f *family[S, P, V]) noun() string { return nouns[f.kind] }

func (f *family[S, P, V]) routes() []app.Route {
	get, post, patch, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	one, noun := f.path+"/:id", f.noun()
	var s S
	var v V
	return []app.Route{
		{Method: get, Path: f.path, Scope: f.view, Handler: f.serveList, Query: f.query, Response: app.Page[V]{},
			Summary: "List " + f.plural},
		{Method: post, Path: f.path, Scope: f.edit, Handler: f.serveCreate, Request: s, Response: v, Status: http.StatusCreated,
			Summary: "Create " + aNoun(f.kind) + " (version 1)"},
		{Method: get, Path: one, Scope: f.view, Handler: f.serveGet, Response: v,
			Summary: "One " + noun},
		{Method: patch, Path: one, Scope: f.edit, Handler: f.serveUpdate, Request: s, Response: v,
			Summary: "Change " + aNoun(f.kind) + "; absent fields keep their values, and the change is a new version"},
		{Method: del, Path: one, Scope: f.edit, Handler: f.serveDelete, Status: http.StatusNoContent,
			Summary: "Delete " + aNoun(f.kind) + " that nothing uses; its history stays readable"},
		{Method: get, Path: one + "/versions", Scope: f.view, Handler: f.serveVersions, Query: VersionQuery{}, Response: app.Page[Version[S]]{},
			Summary: "The " + noun + "'s versions, newest first"},
		{Method: get, Path: one + "/versions/:version", Scope: f.view, Handler: f.serveVersion, Response: Version[S]{},
			Summary: "One version of the " + noun},
		{Method: get, Path: one + "/diff", Scope: f.view, Handler: f.serveDiff, Query: DiffQuery{}, Response: VersionDiff{},
			Summary: "What changed between two versions of the " + noun},
	}
}

// checkSpec is everything a family checks without the database: the parser of a request body,
// once it is decoded.
func checkSpec[S any, P spec[S]](s *S) error {
	if err := P(s).base().check(); err != nil {
		return err
	}
	return P(s).validate()
}

// prepare validates a spec completely and turns it into a write.
func (f *family[S, P, V]) prepare(ctx context.Context, tx pgx.Tx, id string, s *S) (write, error) {
	if err := checkSpec[S, P](s); err != nil {
		return write{}, err
	}
	refs := P(s).references()
	if err := checkRefs(ctx, tx, refs); err != nil {
		return write{}, err
	}
	if f.verify != nil {
		if err := f.verify(ctx, tx, id, s); err != nil {
			return write{}, err
		}
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return write{}, err
	}
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.ids...)
	}
	return write{kind: f.kind, id: id, name: P(s).base().Name, spec: raw, refs: ids,
		at: f.env.now(), actor: actorName(ctx)}, nil
}

// create stores a new object as version 1, with its audit record.
func (f *family[S, P, V]) create(ctx context.Context, tx pgx.Tx, id string, s *S, builtin bool) error {
	w, err := f.prepare(ctx, tx, id, s)
	if err != nil {
		return err
	}
	w.builtin = builtin
	if err := createObject(ctx, tx, w); err != nil {
		return err
	}
	return f.record(ctx, tx, "create", id, nil, w.spec, 1)
}

// update applies change to an object's current spec and stores the result as a new version,
// unless it changed nothing. Built-in objects change only when mipo itself changes them.
func (f *family[S, P, V]) update(ctx context.Context, tx pgx.Tx, id string, change func(*S) error, builtinOK bool) error {
	o, err := lockObject(ctx, tx, f.kind, id)
	if err != nil {
		return err
	}
	if o.Builtin && !builtinOK {
		return f.errBuiltin()
	}
	before, err := f.canonical(o.spec)
	if err != nil {
		return err
	}
	var s S
	if err := json.Unmarshal(o.spec, &s); err != nil {
		return err
	}
	if err := change(&s); err != nil {
		return err
	}
	w, err := f.prepare(ctx, tx, id, &s)
	if err != nil {
		return err
	}
	if bytes.Equal(before, w.spec) {
		// Nothing changed, so no new version; the request is still on record.
		return f.record(ctx, tx, "update", id, before, before, o.Version)
	}
	version, err := updateObject(ctx, tx, w)
	if err != nil {
		return err
	}
	return f.record(ctx, tx, "update", id, before, w.spec, version)
}

// remove deletes an object nothing refers to, recording the deletion as its last version.
func (f *family[S, P, V]) remove(ctx context.Context, tx pgx.Tx, id string) error {
	o, err := lockObject(ctx, tx, f.kind, id)
	if err != nil {
		return err
	}
	if o.Builtin {
		return f.errBuiltin()
	}
	before, err := f.canonical(o.spec)
	if err != nil {
		return err
	}
	var s S
	if err := json.Unmarshal(o.spec, &s); err != nil {
		return err
	}
	w := write{kind: f.kind, id: id, name: P(&s).base().Name, at: f.env.now(), actor: actorName(ctx)}
	if err := deleteObject(ctx, tx, o, w); err != nil {
		return err
	}
	return f.record(ctx, tx, "delete", id, before, nil, o.Version+1)
}

// canonical re-encodes a stored spec the way a new one is encoded, so the two compare byte
// for byte (the database keeps JSON in its own key order).
func (f *family[S, P, V]) canonical(raw []byte) ([]byte, error) {
	var s S
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

func (f *family[S, P, V]) record(ctx context.Context, tx pgx.Tx, action, id string, before, after []byte, version int) error {
	e := auditapi.Entry{Action: f.kind + "." + action, ResourceType: f.kind, ResourceID: id, Detail: map[string]any{"version": version}}
	b, err := flatten(before)
	if err != nil {
		return err
	}
	a, err := flatten(after)
	if err != nil {
		return err
	}
	if b != nil {
		e.Before = b
	}
	if a != nil {
		e.After = a
	}
	return auditapi.Record(ctx, tx, e)
}

func (f *family[S, P, V]) errBuiltin() error {
	return app.Conflict("builtin", "built-in "+f.plural+" are read-only; create your own "+f.noun()+" instead")
}

// show decodes stored objects and presents them.
func (f *family[S, P, V]) show(ctx context.Context, db app.Querier, rows ...*stored) ([]V, error) {
	objs := make([]object[S], len(rows))
	for i, r := range rows {
		objs[i].Meta = r.Meta
		if err := json.Unmarshal(r.spec, &objs[i].Spec); err != nil {
			return nil, err
		}
	}
	return f.present(ctx, db, objs)
}

func (f *family[S, P, V]) showOne(ctx context.Context, db app.Querier, id string) (V, error) {
	var v V
	o, err := getObject(ctx, db, f.kind, id)
	if err != nil {
		return v, err
	}
	vs, err := f.show(ctx, db, o)
	if err != nil {
		return v, err
	}
	return vs[0], nil
}

func (f *family[S, P, V]) fresh() S {
	if f.defaults != nil {
		return f.defaults()
	}
	var s S
	return s
}

// order is the ORDER BY of a parsed list; l.Sort is one of f.sorts.
func (f *family[S, P, V]) order(l app.List) string {
	expr, ok := f.sortSQL[l.Sort]
	if !ok {
		expr = map[string]string{"name": "lower(o.name)", "created_at": "o.created_at", "updated_at": "o.updated_at"}[l.Sort]
	}
	return expr + " " + l.Direction()
}

// filters reads the query parameters every family takes (q, uses) and the family's own.
func (f *family[S, P, V]) filters(c echo.Context, w *app.Where) error {
	if q := strings.TrimSpace(c.QueryParam("q")); q != "" {
		p := w.Arg(app.Contains(q))
		var conds []string
		for _, e := range append([]string{"o.name", "o.spec->>'description'"}, f.search...) {
			conds = append(conds, e+" ILIKE "+p)
		}
		w.Add("(" + strings.Join(conds, " OR ") + ")")
	}
	if u := c.QueryParam("uses"); u != "" {
		if !isUUID(u) {
			return app.Invalid("uses", "invalid_id", "uses must be the id of an object")
		}
		w.Add("EXISTS (SELECT 1 FROM config_refs r WHERE r.from_id = o.id AND r.to_id = " + w.Arg(u) + ")")
	}
	if f.filter != nil {
		return f.filter(c, w)
	}
	return nil
}

func (f *family[S, P, V]) serveList(c echo.Context) error {
	l, err := app.ParseList(c, f.sorts...)
	if err != nil {
		return err
	}
	w := &app.Where{}
	if err := f.filters(c, w); err != nil {
		return err
	}
	ctx, db := c.Request().Context(), f.env.pool()
	rows, err := listObjects(ctx, db, f.kind, l, f.order(l), w)
	if err != nil {
		return err
	}
	views, err := f.show(ctx, db, rows...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Paginate(l, views))
}

func (f *family[S, P, V]) serveGet(c echo.Context) error {
	v, err := f.showOne(c.Request().Context(), f.env.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (f *family[S, P, V]) serveCreate(c echo.Context) error {
	s := f.fresh()
	if err := app.BindJSON(c, &s); err != nil {
		return err
	}
	ctx, tx, id := c.Request().Context(), app.Tx(c), uuid.NewString()
	if err := f.create(ctx, tx, id, &s, false); err != nil {
		return err
	}
	v, err := f.showOne(ctx, tx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (f *family[S, P, V]) serveUpdate(c echo.Context) error {
	ctx, tx, id := c.Request().Context(), app.Tx(c), c.Param("id")
	if err := f.update(ctx, tx, id, func(s *S) error { return app.BindJSON(c, s) }, false); err != nil {
		return err
	}
	v, err := f.showOne(ctx, tx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (f *family[S, P, V]) serveDelete(c echo.Context) error {
	if err := f.remove(c.Request().Context(), app.Tx(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (f *family[S, P, V]) serveVersions(c echo.Context) error {
	l, err := app.ParseList(c, "-version")
	if err != nil {
		return err
	}
	rows, err := listVersions(c.Request().Context(), f.env.pool(), f.kind, c.Param("id"), l)
	if err != nil {
		return err
	}
	out := make([]Version[S], len(rows))
	for i, r := range rows {
		if out[i], err = decodeVersion[S](r); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, app.Paginate(l, out))
}

func (f *family[S, P, V]) serveVersion(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("version"))
	if err != nil || n < 1 {
		return app.NotFound("version " + strconv.Quote(c.Param("version")))
	}
	r, err := getVersion(c.Request().Context(), f.env.pool(), f.kind, c.Param("id"), n)
	if err != nil {
		return err
	}
	v, err := decodeVersion[S](r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (f *family[S, P, V]) serveDiff(c echo.Context) error {
	from, err := optionalInt(c, "from")
	if err != nil {
		return err
	}
	to, err := optionalInt(c, "to")
	if err != nil {
		return err
	}
	d, err := diffVersions(c.Request().Context(), f.env.pool(), f.kind, c.Param("id"), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func decodeVersion[S any](r versionRow) (Version[S], error) {
	v := Version[S]{Version: r.version, Change: r.change, At: r.at, Actor: r.actor}
	return v, json.Unmarshal(r.spec, &v.Spec)
}

// optionalInt reads a whole-number query parameter, nil when it is absent.
func optionalInt(c echo.Context, name string) (*int, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return nil, app.Invalid(name, "invalid_number", name+" must be a whole number")
	}
	return &n, nil
}
