package health

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/results/resultsapi"
)

// WidgetKinds are the widgets a dashboard may hold. The UI has one component per kind
// (ui/src/widgets/), and each reads an existing API under that API's own scope, so a shared
// dashboard never shows a user data their scopes do not already open.
var WidgetKinds = []string{"scan-activity", "open-alarms", "fleet-status", "component-status", "recent-changes", "audit-activity", "results-query"}

// The grid: 12 columns wide; widgets are placed in whole cells.
const (
	gridColumns   = 12
	gridRows      = 1000 // deepest row a widget may start on
	maxWidgetRows = 12
	maxWidgets    = 50
)

// Widget is one tile on the grid.
type Widget struct {
	Kind    string         `json:"kind" doc:"scan-activity, open-alarms, fleet-status, component-status, recent-changes, audit-activity or results-query."`
	X       int            `json:"x" doc:"Column, 0 to 11."`
	Y       int            `json:"y" doc:"Row, 0 to 1000."`
	W       int            `json:"w" doc:"Width in columns, 1 to 12; x + w is at most 12."`
	H       int            `json:"h" doc:"Height in rows, 1 to 12."`
	Options *WidgetOptions `json:"options,omitempty" doc:"The widget's settings; only results-query takes a filter."`
}

// WidgetOptions are a widget's settings. The results query's filter is the results API's own
// (GET /api/v1/results), checked by the results module when the dashboard is saved, so a saved
// query never fails later for being malformed.
type WidgetOptions struct {
	Title   string `json:"title,omitempty" maxlen:"100" doc:"A heading of the user's own instead of the widget's name."`
	Subnet  string `json:"subnet,omitempty" maxlen:"64" doc:"results-query: only addresses inside this CIDR."`
	Ports   string `json:"ports,omitempty" maxlen:"1000" doc:"results-query: only these ports, such as 22,80,8000-8100."`
	Scanner string `json:"scanner,omitempty" maxlen:"36" doc:"results-query: only what this scanner (id) saw."`
	Limit   int    `json:"limit,omitempty" doc:"Rows shown, 1 to 100 (default 10)."`
}

// DashboardInput is what a user sends to create or change a dashboard.
type DashboardInput struct {
	Name    string   `json:"name" maxlen:"100"`
	Shared  bool     `json:"shared" doc:"Shown to every user with dashboards:view; sharing needs dashboards:share, and only the owner changes it."`
	Widgets []Widget `json:"widgets" doc:"At most 50, none overlapping."`
}

// Dashboard is a stored dashboard, or a built-in layout (Builtin, no owner).
type Dashboard struct {
	ID        string    `json:"id"`
	OwnerID   string    `json:"owner_id"`
	Name      string    `json:"name"`
	Shared    bool      `json:"shared"`
	Widgets   []Widget  `json:"widgets"`
	Builtin   bool      `json:"builtin"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// check names the first bad field, indexed like the request (widgets[2].w): known kinds, on
// the grid, no two widgets overlapping, options the widget takes.
func (in *DashboardInput) check() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return app.Invalid("name", "required", "a dashboard needs a name")
	}
	if in.Widgets == nil {
		in.Widgets = []Widget{}
	}
	if len(in.Widgets) > maxWidgets {
		return app.Invalid("widgets", "too_many", fmt.Sprintf("a dashboard holds at most %d widgets", maxWidgets))
	}
	for i, w := range in.Widgets {
		field := func(f string) string { return fmt.Sprintf("widgets[%d].%s", i, f) }
		switch {
		case !slices.Contains(WidgetKinds, w.Kind):
			return app.Invalid(field("kind"), "unknown_widget", fmt.Sprintf("unknown widget kind %q; one of %s", w.Kind, strings.Join(WidgetKinds, ", ")))
		case w.W < 1 || w.W > gridColumns:
			return app.Invalid(field("w"), "off_grid", fmt.Sprintf("a widget is 1 to %d columns wide", gridColumns))
		case w.H < 1 || w.H > maxWidgetRows:
			return app.Invalid(field("h"), "off_grid", fmt.Sprintf("a widget is 1 to %d rows high", maxWidgetRows))
		case w.X < 0 || w.X+w.W > gridColumns:
			return app.Invalid(field("x"), "off_grid", fmt.Sprintf("a widget must lie on the %d-column grid: x + w is at most %d", gridColumns, gridColumns))
		case w.Y < 0 || w.Y > gridRows:
			return app.Invalid(field("y"), "off_grid", fmt.Sprintf("a widget starts on row 0 to %d", gridRows))
		}
		for j, o := range in.Widgets[:i] {
			if w.X < o.X+o.W && o.X < w.X+w.W && w.Y < o.Y+o.H && o.Y < w.Y+w.H {
				return app.Invalid(field("y"), "overlap", fmt.Sprintf("widget %d (%s) overlaps widget %d (%s)", i, w.Kind, j, o.Kind))
			}
		}
		if err := w.Options.check(w.Kind, field); err != nil {
			return err
		}
	}
	return nil
}

func (o *WidgetOptions) check(kind string, field func(string) string) error {
	if o == nil {
		return nil
	}
	if o.Limit != 0 && (o.Limit < 1 || o.Limit > 100) {
		return app.Invalid(field("options.limit"), "invalid_limit", "limit must be a whole number from 1 to 100")
	}
	if o.Subnet == "" && o.Ports == "" && o.Scanner == "" {
		return nil
	}
	if kind != "results-query" {
		return app.Invalid(field("options"), "not_a_query", "only a results-query widget takes subnet, ports and scanner")
	}
	err := resultsapi.CheckHistoryQuery(resultsapi.HistoryQuery{Subnet: o.Subnet, Ports: o.Ports, Scanner: o.Scanner})
	if e := (*app.Error)(nil); errors.As(err, &e) && e.Field != "" {
		return app.Invalid(field("options."+e.Field), e.Code, e.Message)
	}
	return err
}

// builtins are the three layouts a user copies and changes.
var builtins = []Dashboard{
	{ID: "network-operations", Name: "Network operations", Builtin: true, Shared: true, Widgets: []Widget{
		{Kind: "component-status", X: 0, Y: 0, W: 6, H: 4}, {Kind: "open-alarms", X: 6, Y: 0, W: 6, H: 4},
		{Kind: "fleet-status", X: 0, Y: 4, W: 8, H: 4}, {Kind: "scan-activity", X: 8, Y: 4, W: 4, H: 4}}},
	{ID: "security-analyst", Name: "Security analyst", Builtin: true, Shared: true, Widgets: []Widget{
		{Kind: "recent-changes", X: 0, Y: 0, W: 8, H: 5}, {Kind: "open-alarms", X: 8, Y: 0, W: 4, H: 5},
		{Kind: "results-query", X: 0, Y: 5, W: 12, H: 5, Options: &WidgetOptions{Title: "Remote access ports seen open", Ports: "22,23,3389,5900", Limit: 20}}}},
	{ID: "compliance-reviewer", Name: "Compliance reviewer", Builtin: true, Shared: true, Widgets: []Widget{
		{Kind: "audit-activity", X: 0, Y: 0, W: 6, H: 5}, {Kind: "recent-changes", X: 6, Y: 0, W: 6, H: 5},
		{Kind: "scan-activity", X: 0, Y: 5, W: 12, H: 3}}},
}

const dashboardCols = `id, owner_id, name, shared, widgets, false, created_at, updated_at`

// listDashboards reads the user's own dashboards and everyone's shared ones.
func listDashboards(ctx context.Context, db app.Querier, user string) ([]Dashboard, error) {
	rows, err := db.Query(ctx, `SELECT `+dashboardCols+` FROM dashboards WHERE owner_id = $1 OR shared ORDER BY name, id`, user)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Dashboard])
}

// getDashboard reads a dashboard the user may see (their own, or a shared one), locked when
// forUpdate; another user's private dashboard is not found, so its existence is not told.
func getDashboard(ctx context.Context, db app.Querier, id, user string, forUpdate bool) (Dashboard, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Dashboard{}, app.NotFound("dashboard " + id)
	}
	lock := ""
	if forUpdate {
		lock = " FOR UPDATE"
	}
	rows, err := db.Query(ctx, `SELECT `+dashboardCols+` FROM dashboards WHERE id = $1 AND (owner_id = $2 OR shared)`+lock, id, user)
	if err != nil {
		return Dashboard{}, err
	}
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Dashboard])
	if errors.Is(err, pgx.ErrNoRows) {
		return d, app.NotFound("dashboard " + id)
	}
	return d, err
}

// mayChange says whether p may change d: only its owner does, and a shared dashboard — one
// everybody sees — also needs dashboards:share, as does sharing one.
func mayChange(p *app.Principal, d Dashboard, shareAfter bool) error {
	if d.OwnerID != p.UserID {
		return app.Forbidden("not_owner", "only its owner changes a dashboard; copy it to make one of your own")
	}
	if (d.Shared || shareAfter) && !p.Can("dashboards:share") {
		return app.Forbidden("forbidden", "changing or sharing a shared dashboard needs the dashboards:share scope, which you do not hold")
	}
	return nil
}

func createDashboard(ctx context.Context, tx pgx.Tx, p *app.Principal, in DashboardInput, now time.Time) (Dashboard, error) {
	if err := in.check(); err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{ID: uuid.NewString(), OwnerID: p.UserID, Name: in.Name, Shared: in.Shared, Widgets: in.Widgets, CreatedAt: now, UpdatedAt: now}
	if err := mayChange(p, d, in.Shared); err != nil {
		return Dashboard{}, err
	}
	_, err := tx.Exec(ctx, `INSERT INTO dashboards (id, owner_id, name, shared, widgets, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, d.ID, d.OwnerID, d.Name, d.Shared, d.Widgets, now)
	return d, err
}

func updateDashboard(ctx context.Context, tx pgx.Tx, p *app.Principal, id string, in DashboardInput, now time.Time) (before, after Dashboard, err error) {
	if err := in.check(); err != nil {
		return before, after, err
	}
	if before, err = getDashboard(ctx, tx, id, p.UserID, true); err != nil {
		return before, after, err
	}
	if err := mayChange(p, before, in.Shared); err != nil {
		return before, after, err
	}
	after = before
	after.Name, after.Shared, after.Widgets, after.UpdatedAt = in.Name, in.Shared, in.Widgets, now
	_, err = tx.Exec(ctx, `UPDATE dashboards SET name = $2, shared = $3, widgets = $4, updated_at = $5 WHERE id = $1`,
		after.ID, after.Name, after.Shared, after.Widgets, after.UpdatedAt)
	return before, after, err
}

func deleteDashboard(ctx context.Context, tx pgx.Tx, p *app.Principal, id string) (Dashboard, error) {
	d, err := getDashboard(ctx, tx, id, p.UserID, true)
	if err != nil {
		return d, err
	}
	if err := mayChange(p, d, false); err != nil {
		return d, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM dashboards WHERE id = $1`, d.ID)
	return d, err
}
