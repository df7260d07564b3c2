package health

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/results" // resultsapi.CheckHistoryQuery checks a history widget
)

func newServer(t testing.TB, clock app.Clock) (*apptest.Server, *apptest.Client) {
	t.Helper()
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off", "MIPO_ROLE": "manager",
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := apptest.Start(t, cfg, dbs, app.Options{Clock: clock})
	return srv, rbactest.Owner(t, srv)
}

func auditCount(t *testing.T, srv *apptest.Server) int {
	t.Helper()
	var n int
	if err := srv.App.DB.Config.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action LIKE 'dashboard.%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func dashboardsOf(t *testing.T, c *apptest.Client) []Dashboard {
	t.Helper()
	var list struct{ Items []Dashboard }
	c.Get("/api/v1/dashboards").JSON(t, &list)
	return list.Items
}

// A layout round-trips through the API: a built-in copied, one widget resized and another
// moved, read back exactly, options and all; bad layouts are 400s that name the field (as
// widgets[i].x) and change nothing; every change is audited, no refusal is.
func TestDashboardLayoutsRoundTrip(t *testing.T) {
	srv, owner := newServer(t, app.NewFakeClock(time.Now().UTC().Truncate(time.Second)))
	list := dashboardsOf(t, owner)
	if len(list) != 3 || !list[0].Builtin || !list[1].Builtin || !list[2].Builtin {
		t.Fatalf("want the three built-in layouts, got %+v", list)
	}
	var analyst Dashboard
	if res := owner.Get("/api/v1/dashboards/security-analyst"); res.Status != http.StatusOK {
		t.Fatalf("a built-in by id: %d %s", res.Status, res.Body)
	} else {
		res.JSON(t, &analyst)
	}
	in := DashboardInput{Name: "  My analyst view ", Widgets: slices.Clone(analyst.Widgets)}
	res := owner.Post("/api/v1/dashboards", in)
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var d Dashboard
	res.JSON(t, &d)
	if d.Name != "My analyst view" || d.Builtin || d.Shared {
		t.Fatalf("the copy: %+v", d)
	}
	in.Name = d.Name
	in.Widgets[0].W, in.Widgets[0].H = 5, 3 // resize the recent changes
	in.Widgets[1].X, in.Widgets[1].Y = 5, 0 // move the open alarms beside it
	in.Widgets[2].Options.Ports = "22,3389" // narrow the query
	if res := owner.Put("/api/v1/dashboards/"+d.ID, in); res.Status != http.StatusOK {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	var got Dashboard
	owner.Get("/api/v1/dashboards/"+d.ID).JSON(t, &got)
	if !reflect.DeepEqual(got.Widgets, in.Widgets) || got.Name != in.Name {
		t.Fatalf("the layout did not round-trip:\n got %s\nwant %s", mustJSON(got.Widgets), mustJSON(in.Widgets))
	}
	if l := dashboardsOf(t, owner); len(l) != 4 || l[3].ID != d.ID {
		t.Fatalf("the list: %+v", l)
	}

	audited := auditCount(t, srv)
	bad := func(mutate func(*DashboardInput)) DashboardInput {
		b := in
		b.Widgets = slices.Clone(in.Widgets)
		for i := range b.Widgets {
			if o := b.Widgets[i].Options; o != nil {
				c := *o
				b.Widgets[i].Options = &c
			}
		}
		mutate(&b)
		return b
	}
	for _, tc := range []struct {
		name, field string
		in          DashboardInput
	}{
		{"no name", "name", bad(func(b *DashboardInput) { b.Name = "   " })},
		{"unknown kind", "widgets[1].kind", bad(func(b *DashboardInput) { b.Widgets[1].Kind = "teapot" })},
		{"too wide", "widgets[0].w", bad(func(b *DashboardInput) { b.Widgets[0].W = 13 })},
		{"zero high", "widgets[0].h", bad(func(b *DashboardInput) { b.Widgets[0].H = 0 })},
		{"off the right edge", "widgets[1].x", bad(func(b *DashboardInput) { b.Widgets[1].X = 9 })},
		{"above the grid", "widgets[2].y", bad(func(b *DashboardInput) { b.Widgets[2].Y = -1 })},
		{"overlapping", "widgets[3].y", bad(func(b *DashboardInput) {
			b.Widgets = append(b.Widgets, Widget{Kind: "audit-activity", X: 0, Y: 1, W: 2, H: 2})
		})},
		{"a malformed query", "widgets[2].options.ports", bad(func(b *DashboardInput) { b.Widgets[2].Options.Ports = "22-" })},
		{"a query's subnet", "widgets[2].options.subnet", bad(func(b *DashboardInput) { b.Widgets[2].Options.Subnet = "10.0.0.0/33" })},
		{"a query on another widget", "widgets[0].options", bad(func(b *DashboardInput) { b.Widgets[0].Options = &WidgetOptions{Ports: "22"} })},
		{"a huge limit", "widgets[2].options.limit", bad(func(b *DashboardInput) { b.Widgets[2].Options.Limit = 1000 })},
		{"a long title", "widgets[2].options.title", bad(func(b *DashboardInput) {
			b.Widgets[2].Options.Title = strings.Repeat("t", 101)
		})},
	} {
		for _, method := range []string{http.MethodPut, http.MethodPost} {
			path := "/api/v1/dashboards"
			if method == http.MethodPut {
				path += "/" + d.ID
			}
			res := owner.Do(method, path, tc.in)
			if res.Status != http.StatusBadRequest || res.ErrorField() != tc.field {
				t.Errorf("%s %s: want 400 naming %s, got %d %s", method, tc.name, tc.field, res.Status, res.Body)
			}
		}
	}
	var after Dashboard
	owner.Get("/api/v1/dashboards/"+d.ID).JSON(t, &after)
	if !reflect.DeepEqual(after, got) || len(dashboardsOf(t, owner)) != 4 || auditCount(t, srv) != audited {
		t.Fatalf("a refused change changed something: %+v", after)
	}
	if res := owner.Do(http.MethodPut, "/api/v1/dashboards/"+d.ID, map[string]any{"name": "x", "widgets": []any{}, "colour": "red"}); res.ErrorField() != "colour" {
		t.Fatalf("an unknown field: %d %s", res.Status, res.Body)
	}

	if res := owner.Delete("/api/v1/dashboards/" + d.ID); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	if res := owner.Get("/api/v1/dashboards/" + d.ID); res.Status != http.StatusNotFound {
		t.Fatalf("deleted but still there: %d", res.Status)
	}
	if n := auditCount(t, srv); n != 3 {
		t.Fatalf("want 3 audited changes (create, update, delete), got %d", n)
	}
}

// Only a dashboard's owner changes it: a weaker user does not see another's private dashboard
// (404, as if it did not exist), sees a shared one but may neither change nor delete it (403),
// may not share one of their own without dashboards:share, and without dashboards:write may
// not make one at all. Refusals change nothing and leave no audit record.
func TestDashboardPermissions(t *testing.T) {
	srv, owner := newServer(t, app.NewFakeClock(time.Now().UTC().Truncate(time.Second)))
	layout := []Widget{{Kind: "open-alarms", X: 0, Y: 0, W: 6, H: 4}, {Kind: "component-status", X: 6, Y: 0, W: 6, H: 4}}
	var private, shared Dashboard
	owner.Post("/api/v1/dashboards", DashboardInput{Name: "Owner's own", Widgets: layout}).JSON(t, &private)
	owner.Post("/api/v1/dashboards", DashboardInput{Name: "Team wall", Shared: true, Widgets: layout}).JSON(t, &shared)
	if private.ID == "" || shared.ID == "" || !shared.Shared {
		t.Fatalf("owner's dashboards: %+v %+v", private, shared)
	}
	audited := auditCount(t, srv)

	weak := rbactest.UserWithScopes(t, srv, owner, "dashboards:view", "dashboards:write")
	list := dashboardsOf(t, weak)
	if len(list) != 4 || list[3].ID != shared.ID {
		t.Fatalf("the weaker user should see the built-ins and the shared one only: %+v", list)
	}
	change := DashboardInput{Name: "Mine now", Widgets: layout[:1]}
	sharer := rbactest.UserWithScopes(t, srv, owner, "dashboards:view", "dashboards:write", "dashboards:share")
	for _, tc := range []struct {
		what   string
		res    *apptest.Response
		status int
	}{
		{"read another's private dashboard", weak.Get("/api/v1/dashboards/" + private.ID), http.StatusNotFound},
		{"change another's private dashboard", weak.Put("/api/v1/dashboards/"+private.ID, change), http.StatusNotFound},
		{"delete another's private dashboard", weak.Delete("/api/v1/dashboards/" + private.ID), http.StatusNotFound},
		{"change a shared dashboard", weak.Put("/api/v1/dashboards/"+shared.ID, change), http.StatusForbidden},
		{"unshare a shared dashboard", weak.Put("/api/v1/dashboards/"+shared.ID, DashboardInput{Name: "Team wall", Widgets: layout}), http.StatusForbidden},
		{"delete a shared dashboard", weak.Delete("/api/v1/dashboards/" + shared.ID), http.StatusForbidden},
		{"share a dashboard of their own", weak.Post("/api/v1/dashboards", DashboardInput{Name: "Mine", Shared: true, Widgets: layout}), http.StatusForbidden},
		{"share-holder changes another's shared dashboard", sharer.Put("/api/v1/dashboards/"+shared.ID, DashboardInput{Name: "Team wall", Shared: true, Widgets: layout[:1]}), http.StatusForbidden},
		{"share-holder deletes another's shared dashboard", sharer.Delete("/api/v1/dashboards/" + shared.ID), http.StatusForbidden},
		{"change a built-in layout", weak.Put("/api/v1/dashboards/network-operations", change), http.StatusNotFound},
	} {
		if tc.res.Status != tc.status {
			t.Errorf("%s: want %d, got %d %s", tc.what, tc.status, tc.res.Status, tc.res.Body)
		}
	}
	var still Dashboard
	owner.Get("/api/v1/dashboards/"+shared.ID).JSON(t, &still)
	if !reflect.DeepEqual(still, shared) || auditCount(t, srv) != audited {
		t.Fatalf("a refused change changed something: %+v", still)
	}

	// The weaker user's own dashboard is theirs to change, and the owner cannot change it.
	var mine Dashboard
	if res := weak.Post("/api/v1/dashboards", change); res.Status != http.StatusCreated {
		t.Fatalf("a dashboard of their own: %d %s", res.Status, res.Body)
	} else {
		res.JSON(t, &mine)
	}
	change.Widgets = append(change.Widgets, Widget{Kind: "scan-activity", X: 0, Y: 4, W: 12, H: 3})
	if res := weak.Put("/api/v1/dashboards/"+mine.ID, change); res.Status != http.StatusOK {
		t.Fatalf("changing their own: %d %s", res.Status, res.Body)
	}
	if res := owner.Put("/api/v1/dashboards/"+mine.ID, change); res.Status != http.StatusNotFound {
		t.Fatalf("the owner changed another user's private dashboard: %d", res.Status)
	}

	reader := rbactest.UserWithScopes(t, srv, owner, "dashboards:view")
	if res := reader.Post("/api/v1/dashboards", change); res.Status != http.StatusForbidden {
		t.Fatalf("a dashboard without dashboards:write: %d", res.Status)
	}
	if len(dashboardsOf(t, reader)) != 4 {
		t.Fatal("a reader sees the built-ins and the shared dashboard")
	}
	nobody := rbactest.UserWithScopes(t, srv, owner, "health:view")
	if res := nobody.Get("/api/v1/dashboards"); res.Status != http.StatusForbidden {
		t.Fatalf("dashboards without dashboards:view: %d", res.Status)
	}
	if n := auditCount(t, srv); n != audited+2 {
		t.Fatalf("want the weaker user's two changes audited, got %d more", n-audited)
	}
}

// FuzzDashboardInput: whatever JSON a client sends, the check never panics, and what it
// accepts lies on the grid with no two widgets overlapping.
func FuzzDashboardInput(f *testing.F) {
	for _, b := range builtins {
		raw, _ := json.Marshal(DashboardInput{Name: b.Name, Widgets: b.Widgets})
		f.Add(raw)
	}
	f.Add([]byte(`{"name":"x","widgets":[{"kind":"open-alarms","x":11,"y":0,"w":2,"h":1}]}`))
	f.Add([]byte(`{"name":"x","widgets":[{"kind":"results-query","x":0,"y":0,"w":1,"h":1,"options":{"ports":"1-65535","subnet":"::/0"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in DashboardInput
		if json.Unmarshal(raw, &in) != nil || in.check() != nil {
			return
		}
		for i, w := range in.Widgets {
			if w.X < 0 || w.Y < 0 || w.W < 1 || w.H < 1 || w.X+w.W > gridColumns {
				t.Fatalf("accepted a widget off the grid: %+v", w)
			}
			for _, o := range in.Widgets[:i] {
				if w.X < o.X+o.W && o.X < w.X+w.W && w.Y < o.Y+o.H && o.Y < w.Y+w.H {
					t.Fatalf("accepted overlapping widgets: %+v %+v", w, o)
				}
			}
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
