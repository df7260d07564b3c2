package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/app/apptest"
)

// metricsApp is a process whose user guard lets through only callers sending X-Scope:
// health:view, so the test sees which way into /metrics each caller took.
func metricsApp(t *testing.T, extra map[string]string) *apptest.Server {
	t.Helper()
	dbs := apptest.Databases(t)
	flags := map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_ROLE": "manager", "MIPO_TLS": "off", "MIPO_LISTEN": "127.0.0.1:0",
		"MIPO_CONFIG_DSN": dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN": dbs.DSN(app.DBResults), "MIPO_JOBS_DSN": dbs.DSN(app.DBJobs)}
	for k, v := range extra {
		flags[k] = v
	}
	cfg, err := app.LoadConfig(flags, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := app.NewRegistry()
	reg.Role(app.RoleManager, "guard")
	reg.Register(app.Module{Name: "guard", Provision: func(m *app.Mount) error {
		m.ProvideGuard(app.GuardUser, func(r app.Route) echo.MiddlewareFunc {
			return func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					if c.Request().Header.Get("X-Scope") != r.Scope {
						return app.Unauthorized("unauthenticated", "no")
					}
					return next(c)
				}
			}
		})
		return nil
	}})
	return apptest.Start(t, cfg, dbs, app.Options{Registry: reg})
}

func scrape(t *testing.T, srv *apptest.Server, header, value string) int {
	c := apptest.NewClient(t, srv.URL)
	if header != "" {
		c.Header.Set(header, value)
	}
	r := c.Get("/metrics")
	if r.Status == http.StatusOK && !strings.Contains(string(r.Body), "mipo_db_pool_max") {
		t.Fatalf("/metrics answered without the pool figures: %s", r.Body)
	}
	return r.Status
}

func TestMetricsNeedAScopeOrTheTokenUnlessOpened(t *testing.T) {
	srv := metricsApp(t, map[string]string{"MIPO_METRICS_TOKEN": "s3cret-scrape"})
	for _, c := range []struct {
		header, value string
		want          int
	}{
		{"", "", http.StatusUnauthorized},
		{"Authorization", "Bearer wrong", http.StatusUnauthorized},
		{"Authorization", "Bearer s3cret-scrape", http.StatusOK},
		{"X-Scope", "health:view", http.StatusOK},
	} {
		if got := scrape(t, srv, c.header, c.value); got != c.want {
			t.Errorf("%s %q: %d, want %d", c.header, c.value, got, c.want)
		}
	}
	open := metricsApp(t, map[string]string{"MIPO_METRICS_PUBLIC": "true"})
	if got := scrape(t, open, "", ""); got != http.StatusOK {
		t.Errorf("an opened /metrics refused a stranger: %d", got)
	}
}
