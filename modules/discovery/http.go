package discovery

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// Credentials is what the audited read of a source's secret answers.
type Credentials struct {
	Secret string `json:"secret"`
}

// ItemInput is the body of PATCH …/subnets/:cidr: pin, exclude, or hand back to discovery.
type ItemInput struct {
	State string `json:"state" doc:"pinned (keep as it is, even when the source drops it), excluded (never in the group) or active."`
}

// ItemQuery names a discovered subnet by its CIDR.
type ItemQuery struct {
	CIDR string `query:"cidr" json:"cidr" doc:"The discovered subnet's CIDR."`
}

type handlers struct{ r *runner }

func (h *handlers) routes() []app.Route {
	get, post, patch, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	base, one := "/api/v1/discovery/sources", "/api/v1/discovery/sources/:id"
	return []app.Route{
		{Method: get, Path: base, Scope: "targets:view", Handler: h.list, Response: app.Page[*Source]{}, Summary: "List discovery sources"},
		{Method: post, Path: base, Scope: "targets:write", Handler: h.create, Request: SourceInput{}, Response: Source{}, Status: http.StatusCreated,
			Summary: "Add a discovery source, with its managed subnet group"},
		{Method: get, Path: one, Scope: "targets:view", Handler: h.get, Response: Source{}, Summary: "One discovery source"},
		{Method: patch, Path: one, Scope: "targets:write", Handler: h.update, Request: SourceInput{}, Response: Source{}, Summary: "Change a discovery source"},
		{Method: del, Path: one, Scope: "targets:write", Handler: h.remove, Status: http.StatusNoContent,
			Summary: "Delete a discovery source; its group and subnets stay as ordinary objects"},
		{Method: get, Path: one + "/credentials", Scope: "targets:write", Handler: h.credentials, Response: Credentials{}, Sensitive: true,
			Summary: "The source's credential in clear (an audited read)"},
		{Method: post, Path: one + "/run", Scope: "targets:write", Handler: h.run, Request: RunInput{}, Response: Run{}, Tx: app.TxOwn,
			Summary: "Run the source now: a dry run shows the diff, otherwise it applies (or waits for approval)"},
		{Method: get, Path: one + "/runs", Scope: "targets:view", Handler: h.runs, Response: app.Page[*Run]{}, Summary: "The source's last 50 runs, newest first"},
		{Method: get, Path: one + "/subnets", Scope: "targets:view", Handler: h.items, Response: app.Page[Item]{},
			Summary: "What the source discovered, with each subnet's state"},
		{Method: patch, Path: one + "/subnets", Scope: "targets:write", Handler: h.setItem, Query: ItemQuery{}, Request: ItemInput{}, Response: Item{},
			Summary: "Pin, exclude or release a discovered subnet"},
		{Method: post, Path: "/api/v1/discovery/runs/:id/approve", Scope: "targets:write", Handler: h.decide(true), Response: Run{},
			Summary: "Apply a run that waits for approval"},
		{Method: post, Path: "/api/v1/discovery/runs/:id/reject", Scope: "targets:write", Handler: h.decide(false), Response: Run{},
			Summary: "Reject a run that waits for approval"},
	}
}

func page[T any](items []T) app.Page[T] {
	if items == nil {
		items = []T{}
	}
	return app.Page[T]{Items: items}
}

func (h *handlers) list(c echo.Context) error {
	out, err := listSources(c.Request().Context(), h.r.m.ConfigDB)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(out))
}

func (h *handlers) get(c echo.Context) error {
	s, err := getSource(c.Request().Context(), h.r.m.ConfigDB, c.Param("id"), false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) create(c echo.Context) error {
	var in SourceInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	s, err := h.r.save(c.Request().Context(), app.Tx(c), "", in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s)
}

func (h *handlers) update(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	cur, err := getSource(ctx, tx, c.Param("id"), true)
	if err != nil {
		return err
	}
	in := SourceInput{Name: cur.Name, Kind: cur.Kind, Settings: cur.Settings, Timing: cur.Timing, RequireApproval: cur.RequireApproval, AcceptPartial: cur.AcceptPartial}
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	if in.Kind != cur.Kind {
		return app.Invalid("kind", "fixed_kind", "a source's kind cannot change; add a new source")
	}
	s, err := h.r.save(ctx, tx, cur.ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) remove(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	s, err := getSource(ctx, tx, c.Param("id"), true)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM discovery_sources WHERE id = $1`, s.ID); err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "discovery_source.delete", ResourceType: "discovery_source", ResourceID: s.ID, ResourceName: s.Name,
		Before: map[string]any{"name": s.Name, "kind": s.Kind}}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) credentials(c echo.Context) error {
	s, err := getSource(c.Request().Context(), h.r.m.ConfigDB, c.Param("id"), false)
	if err != nil {
		return err
	}
	secret := ""
	if s.secret != "" {
		if secret, err = h.r.m.Secrets.Open(secretPurpose(s.ID), s.secret); err != nil {
			return err
		}
	}
	// The read is on record before the secret leaves: no record, no secret.
	if err := auditapi.RecordNow(c.Request().Context(), h.r.m.ConfigDB, auditapi.Entry{Action: "discovery_source.credentials.read",
		ResourceType: "discovery_source", ResourceID: s.ID, ResourceName: s.Name, Detail: map[string]any{"name": s.Name}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Credentials{Secret: secret})
}

func (h *handlers) run(c echo.Context) error {
	var in RunInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	trigger := "manual"
	if in.DryRun {
		trigger = "dry_run"
	}
	run, err := h.r.run(c.Request().Context(), c.Param("id"), trigger, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, run)
}

func (h *handlers) runs(c echo.Context) error {
	out, err := listRuns(c.Request().Context(), h.r.m.ConfigDB, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(out))
}

func (h *handlers) items(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := getSource(ctx, h.r.m.ConfigDB, c.Param("id"), false); err != nil {
		return err
	}
	out, err := items(ctx, h.r.m.ConfigDB, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(out))
}

// setItem pins, excludes or releases a discovered subnet. Excluding takes it out of the group
// (and deletes its subnet) at once; the next runs leave it out.
func (h *handlers) setItem(c echo.Context) error {
	var in ItemInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	if in.State != "pinned" && in.State != "excluded" && in.State != "active" {
		return app.Invalid("state", "invalid_state", "state must be pinned, excluded or active")
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	src, err := getSource(ctx, tx, c.Param("id"), true)
	if err != nil {
		return err
	}
	cidr, err := prefix(c.QueryParam("cidr"))
	if err != nil {
		return app.Invalid("cidr", "invalid_cidr", "cidr must be a CIDR the source discovered")
	}
	var before string
	var subnetID string
	err = tx.QueryRow(ctx, `SELECT state, subnet_id::text FROM discovery_subnets WHERE source_id = $1 AND cidr = $2 FOR UPDATE`, src.ID, cidr.String()).Scan(&before, &subnetID)
	if err != nil {
		return app.NotFound("discovered subnet " + cidr.String())
	}
	if _, err := tx.Exec(ctx, `UPDATE discovery_subnets SET state = $3 WHERE source_id = $1 AND cidr = $2`, src.ID, cidr.String(), in.State); err != nil {
		return err
	}
	if err := h.r.syncGroup(h.r.system(ctx), tx, src); err != nil {
		return err
	}
	if in.State == "excluded" {
		if err := h.r.retire(h.r.system(ctx), tx, subnetID); err != nil {
			return err
		}
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "discovery_subnet.update", ResourceType: "discovery_source", ResourceID: src.ID, ResourceName: src.Name,
		Before: map[string]string{"state": before}, After: map[string]string{"state": in.State}, Detail: map[string]any{"cidr": cidr.String()}}); err != nil {
		return err
	}
	all, err := items(ctx, tx, src.ID)
	if err != nil {
		return err
	}
	for _, it := range all {
		if it.CIDR == cidr.String() {
			return c.JSON(http.StatusOK, it)
		}
	}
	return app.NotFound("discovered subnet")
}

func (h *handlers) decide(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		run, err := h.r.decide(c.Request().Context(), app.Tx(c), c.Param("id"), approve)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, run)
	}
}

// save creates (id "") or changes a source, with its managed group, sealing a new secret.
func (r *runner) save(ctx context.Context, tx pgx.Tx, id string, in SourceInput) (*Source, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if _, err := httpClient(in.Settings.CACert); err != nil {
		return nil, err
	}
	now := r.m.Clock.Now().UTC()
	var next *time.Time
	if in.Timing != nil {
		p, _ := in.Timing.Compile()
		t, err := p.Next(now, r.rnd)
		if err != nil {
			return nil, err
		}
		next = &t
	}
	var dup bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM discovery_sources WHERE lower(name) = lower($1) AND id::text <> $2)`, in.Name, id).Scan(&dup); err != nil {
		return nil, err
	}
	if dup {
		return nil, app.Invalid("name", "duplicate_name", "another discovery source has that name")
	}
	settings, _ := json.Marshal(in.Settings)
	var timing []byte
	if in.Timing != nil {
		timing, _ = json.Marshal(in.Timing)
	}
	var before *Source
	action := "discovery_source.create"
	if id == "" {
		id = uuid.NewString()
		if _, err := tx.Exec(ctx, `INSERT INTO discovery_sources (id, name, kind, settings, timing, require_approval, accept_partial, group_id, next_run_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`, id, in.Name, in.Kind, settings, timing, in.RequireApproval, in.AcceptPartial,
			uuid.NewString(), next, now); err != nil {
			return nil, err
		}
	} else {
		action = "discovery_source.update"
		var err error
		if before, err = getSource(ctx, tx, id, true); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE discovery_sources SET name = $2, settings = $3, timing = $4, require_approval = $5, accept_partial = $6,
			next_run_at = $7, updated_at = $8 WHERE id = $1`, id, in.Name, settings, timing, in.RequireApproval, in.AcceptPartial, next, now); err != nil {
			return nil, err
		}
	}
	if in.Secret != nil {
		sealed := ""
		if *in.Secret != "" {
			var err error
			if sealed, err = r.m.Secrets.Seal(secretPurpose(id), *in.Secret); err != nil {
				return nil, err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE discovery_sources SET secret = $2 WHERE id = $1`, id, sealed); err != nil {
			return nil, err
		}
	}
	after, err := getSource(ctx, tx, id, false)
	if err != nil {
		return nil, err
	}
	// The group is the source's, named after it: create or rename it as the discovery actor.
	if err := r.syncGroup(r.system(ctx), tx, after); err != nil {
		return nil, err
	}
	e := auditapi.Entry{Action: action, ResourceType: "discovery_source", ResourceID: id, After: auditView(after),
		Detail: map[string]any{"secret_changed": in.Secret != nil}}
	if before != nil {
		e.Before = auditView(before)
	}
	return after, auditapi.Record(ctx, tx, e)
}

// auditView is a source as the audit log records it: never the secret.
func auditView(s *Source) map[string]any {
	return map[string]any{"name": s.Name, "kind": s.Kind, "settings": s.Settings, "timing": s.Timing,
		"require_approval": s.RequireApproval, "accept_partial": s.AcceptPartial, "has_secret": s.HasSecret}
}
