package results_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/audit"
	_ "mipo/modules/config"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
)

// A database that goes away under a request is the server's failure (5xx, with the request
// id), never the client's: the time diff used to answer it with 400 no_scan.
func TestADatabaseGoneUnderATimeDiffIsAServerError(t *testing.T) {
	dbs := apptest.Databases(t)
	srv := apptest.Start(t, apptest.Config(t, dbs), dbs, app.Options{})
	owner := rbactest.Owner(t, srv)
	path := "/api/v1/results/diff?template=" + uuid.NewString() + "&from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if r := owner.Get(path); r.Status != http.StatusBadRequest || r.ErrorCode() != "no_scan" {
		t.Fatalf("with the database up, no scan by then is the client's 400: %d %s", r.Status, r.Body)
	}
	dbs.EndConnectionsReading(t, app.DBConfig, "scans")
	r := owner.Get(path)
	if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "unavailable" || !strings.Contains(string(r.Body), "request id") {
		t.Fatalf("with the database gone, want 503 unavailable with the request id, got %d %s", r.Status, r.Body)
	}
}
