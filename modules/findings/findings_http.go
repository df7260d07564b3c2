package findings

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// FindingsPage is a page of findings. Asked about one address, it also says which baselines
// apply there and what they allow, and carries the findings' triage history: what the host
// page shows.
type FindingsPage struct {
	Items      []*Finding   `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
	Address    *AddressView `json:"address,omitempty" doc:"Only when the address filter is given."`
}

// AddressView is the baseline that applies to one address, and its findings' history.
type AddressView struct {
	Address   string      `json:"address"`
	Applies   bool        `json:"applies" doc:"Whether any baseline covers the address; if none, its ports are not judged."`
	Allowed   string      `json:"allowed" doc:"The ports expected there, such as 22,443; empty when nothing is allowed."`
	Baselines []*Baseline `json:"baselines" doc:"The baselines that apply, widest first: each one's mode says how it changes what the wider ones allow."`
	History   []Event     `json:"history" doc:"The triage history of the address's findings, oldest first."`
}

// FindingDetail is a finding with its history.
type FindingDetail struct {
	*Finding
	History []Event `json:"history"`
}

func (h *handlers) findingRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/findings", Scope: "findings:view", Handler: h.list, Query: Query{}, Response: FindingsPage{},
			Summary:     "Findings, most recently seen first: filter by state, subnet, address, port, scanner, scan and age",
			Description: "With address=, the answer also says which baselines apply to that address and carries its findings' triage history (the host page)."},
		{Method: http.MethodGet, Path: "/api/v1/findings/:id", Scope: "findings:view", Handler: h.get, Response: FindingDetail{},
			Summary: "One finding with its history"},
		{Method: http.MethodPost, Path: "/api/v1/findings/:id/triage", Scope: "findings:triage", Handler: auditapi.Handler(http.StatusOK, h.triage),
			Request: Decision{}, Response: Finding{}, Summary: "Accept (with a reason and maybe an expiry), mark as a risk, assign or reopen a finding"},
		{Method: http.MethodPost, Path: "/api/v1/findings/triage", Scope: "findings:triage", Handler: h.bulk,
			Request: BulkDecision{}, Response: BulkResult{}, Summary: "Apply one triage decision to every finding a filter selects"},
	}
}

func bindQuery(c echo.Context) (Query, error) {
	var q Query
	if err := (&echo.DefaultBinder{}).BindQueryParams(c, &q); err != nil {
		return q, app.Invalid("limit", "invalid_query", "a query parameter is malformed")
	}
	return q, nil
}

func (h *handlers) list(c echo.Context) error {
	q, err := bindQuery(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	page, err := List(ctx, h.m.ConfigDB, q, h.m.Clock.Now())
	if err != nil {
		return err
	}
	out := FindingsPage{Items: page.Items, NextCursor: page.NextCursor}
	if q.Address != "" {
		if out.Address, err = h.svc.AddressView(ctx, netip.MustParseAddr(q.Address)); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, out)
}

// AddressView says what applies to one address: the baselines and their verdict, and the
// history of its findings.
func (s *Service) AddressView(ctx context.Context, a netip.Addr) (*AddressView, error) {
	a = a.Unmap()
	v := &AddressView{Address: a.String(), Baselines: []*Baseline{}, History: []Event{}}
	err := app.ReadSnapshot(ctx, s.Config, func(ctx context.Context, tx pgx.Tx) error {
		bs, err := listBaselines(ctx, tx)
		if err != nil {
			return err
		}
		rules, err := Resolve(ctx, tx, bs)
		if err != nil {
			return err
		}
		verdict := Compile(rules).Evaluate(a)
		v.Applies, v.Allowed = verdict.Applies, verdict.Allowed.String()
		byID := map[string]*Baseline{}
		for _, b := range bs {
			byID[b.ID] = b
		}
		for _, id := range verdict.Chain {
			v.Baselines = append(v.Baselines, byID[id])
		}
		rows, err := tx.Query(ctx, `SELECT id::text FROM findings WHERE address = $1::inet`, a.String())
		ids, err := app.Collect(rows, err, func(r pgx.Row) (string, error) { var s string; return s, r.Scan(&s) })
		if err != nil || len(ids) == 0 {
			return err
		}
		v.History, err = History(ctx, tx, ids)
		return err
	})
	return v, err
}

func (h *handlers) get(c echo.Context) error {
	ctx := c.Request().Context()
	f, err := getFinding(ctx, h.m.ConfigDB, c.Param("id"), false)
	if err != nil {
		return err
	}
	hist, err := History(ctx, h.m.ConfigDB, []string{f.ID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, FindingDetail{Finding: f, History: hist})
}

func (h *handlers) triage(ctx context.Context, tx pgx.Tx, c echo.Context, d Decision) (any, auditapi.Entry, error) {
	now := h.m.Clock.Now()
	if err := d.validate(now); err != nil {
		return nil, auditapi.Entry{}, err
	}
	after, e, err := decide(ctx, tx, c.Param("id"), d, now)
	return after, e, err
}

func (h *handlers) bulk(c echo.Context) error {
	var in BulkDecision
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	now := h.m.Clock.Now()
	if err := in.Decision.validate(now); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	ids, err := matching(ctx, tx, in.Filter, now)
	if err != nil {
		return err
	}
	out := BulkResult{IDs: []string{}}
	for _, id := range ids {
		f, err := getFinding(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if f.State == StateClosed && in.Action != ActionAssign {
			continue
		}
		_, e, err := decide(ctx, tx, id, in.Decision, now)
		if err != nil {
			return err
		}
		if err := auditapi.Record(ctx, tx, e); err != nil {
			return err
		}
		out.Changed++
		out.IDs = append(out.IDs, id)
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "finding.bulk_triage", ResourceType: "finding",
		Detail: map[string]any{"action": in.Action, "filter": in.Filter, "changed": out.Changed}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
