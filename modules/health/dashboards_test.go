package health

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
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

// A layout round-trips through the API: copied from a built-in, moved and resized, read back
// exactly; another user neither sees nor changes it until it is shared; bad layouts are 400s
// that name the field and change nothing; every change is audited.
func TestDashboardLayoutsRoundTrip(t *testing.T) {
	srv, owner := newServer(t, app.NewFakeClock(time.Now().UTC().Truncate(time.Second)))
	var list struct{ Items []Dashboard }
	owner.Do(http.MethodGet, "/api/v1/dashboards", nil).JSON(t, &list)
	if len(list.Items) != 3 || !list.Items[0].Builtin {
		t.Fatalf("want the three built-in layouts, got %+v", list.Items)
	}
	in := DashboardInput{Name: "My NOC", Widgets: slices.Clone(list.Items[0].Widgets)}
	res := owner.Do(http.MethodPost, "/api/v1/dashboards", in)
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var d Dashboard
	res.JSON(t, &d)
	in.Widgets[0].W, in.Widgets[0].H = 5, 3  // resize
	in.Widgets[3].X, in.Widgets[3].Y = 0, 10 // move
	if res := owner.Do(http.MethodPut, "/api/v1/dashboards/"+d.ID, in); res.Status != http.StatusOK {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	list.Items = nil
	owner.Do(http.MethodGet, "/api/v1/dashboards", nil).JSON(t, &list)
	got := list.Items[len(list.Items)-1]
	if got.ID != d.ID || got.Widgets[0].W != 5 || got.Widgets[0].H != 3 || got.Widgets[3].Y != 10 {
		t.Fatalf("the layout did not round-trip: %+v", got.Widgets)
	}

	bad := in
	bad.Widgets = append(slices.Clone(in.Widgets), Widget{Kind: "open-alarms", X: 0, Y: 10, W: 2, H: 2})
	if res := owner.Do(http.MethodPut, "/api/v1/dashboards/"+d.ID, bad); res.Status != http.StatusBadRequest || res.ErrorField() != "widgets.position" {
		t.Fatalf("an overlapping widget: %d %s", res.Status, res.Body)
	}
	bad.Widgets = []Widget{{Kind: "teapot", W: 1, H: 1}}
	if res := owner.Do(http.MethodPost, "/api/v1/dashboards", bad); res.Status != http.StatusBadRequest || res.ErrorField() != "widgets.kind" {
		t.Fatalf("an unknown widget: %d %s", res.Status, res.Body)
	}

	other := rbactest.UserWithScopes(t, srv, owner, "health:view")
	list.Items = nil
	other.Do(http.MethodGet, "/api/v1/dashboards", nil).JSON(t, &list)
	if len(list.Items) != 3 {
		t.Fatalf("another user sees a private dashboard: %+v", list.Items)
	}
	if res := other.Do(http.MethodPut, "/api/v1/dashboards/"+d.ID, in); res.Status != http.StatusNotFound {
		t.Fatalf("another user changed it: %d", res.Status)
	}
	in.Shared = true
	owner.Do(http.MethodPut, "/api/v1/dashboards/"+d.ID, in)
	list.Items = nil
	other.Do(http.MethodGet, "/api/v1/dashboards", nil).JSON(t, &list)
	if len(list.Items) != 4 {
		t.Fatalf("a shared dashboard is not shown to others: %d", len(list.Items))
	}
	if res := owner.Do(http.MethodDelete, "/api/v1/dashboards/"+d.ID, nil); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", res.Status)
	}
	var n int
	srv.App.DB.Config.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action LIKE 'dashboard.%'`).Scan(&n)
	if n != 4 {
		t.Fatalf("want 4 audited changes (create, update, share, delete), got %d", n)
	}
}
