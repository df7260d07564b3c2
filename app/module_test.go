package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
)

func names(mods []Module) []string {
	out := make([]string, len(mods))
	for i, m := range mods {
		out[i] = m.Name
	}
	return out
}

func TestResolveOrdersByRequirements(t *testing.T) {
	r := NewRegistry()
	// Registered in an order that is wrong on purpose.
	r.Role(RoleManager, "scans")
	r.Register(Module{Name: "scans", Requires: []string{"config", "rbac"}})
	r.Role(RoleManager, "config")
	r.Register(Module{Name: "config", Requires: []string{"rbac"}})
	r.Register(Module{Name: "rbac", Requires: []string{"audit"}})
	r.Register(Module{Name: "audit"})
	r.Role(RoleIngest, "ingest")
	r.Register(Module{Name: "ingest", Requires: []string{"audit"}})

	mods, err := r.Resolve([]string{RoleManager})
	if err != nil {
		t.Fatal(err)
	}
	got := names(mods)
	if want := []string{"audit", "rbac", "config", "scans"}; !slices.Equal(got, want) {
		t.Fatalf("manager resolves to %v, want %v", got, want)
	}
	mods, _ = r.Resolve([]string{RoleIngest})
	if got := names(mods); !slices.Equal(got, []string{"audit", "ingest"}) {
		t.Fatalf("ingest resolves to %v", got)
	}
	for _, ms := range [][]Module{mods} {
		pos := map[string]int{}
		for i, m := range ms {
			pos[m.Name] = i
		}
		for _, m := range ms {
			for _, dep := range m.Requires {
				if pos[dep] > pos[m.Name] {
					t.Fatalf("%s starts before its requirement %s", m.Name, dep)
				}
			}
		}
	}
}

func TestResolveRefusesCyclesAndUnknownRequirements(t *testing.T) {
	r := NewRegistry()
	r.Role(RoleManager, "a")
	r.Register(Module{Name: "a", Requires: []string{"b"}})
	r.Register(Module{Name: "b", Requires: []string{"c"}})
	r.Register(Module{Name: "c", Requires: []string{"a"}})
	_, err := r.Resolve([]string{RoleManager})
	if err == nil || !strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "a -> b -> c -> a") {
		t.Fatalf("want a cycle error naming a -> b -> c -> a, got %v", err)
	}

	r = NewRegistry()
	r.Role(RoleManager, "a")
	r.Register(Module{Name: "a", Requires: []string{"ghost"}})
	_, err = r.Resolve([]string{RoleManager})
	if err == nil || !strings.Contains(err.Error(), `"ghost"`) {
		t.Fatalf("want an error naming the missing module, got %v", err)
	}
}

func TestRegisterPanicsOnBadModules(t *testing.T) {
	for name, register := range map[string]func(r *Registry){
		"empty name":   func(r *Registry) { r.Register(Module{Name: " "}) },
		"unknown role": func(r *Registry) { r.Role("janitor", "x") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("the registry did not panic")
				}
			}()
			register(NewRegistry())
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		r := NewRegistry()
		r.Register(Module{Name: "x"})
		defer func() {
			if p := recover(); p == nil || !strings.Contains(p.(string), "twice") {
				t.Fatalf("want a duplicate panic, got %v", p)
			}
		}()
		r.Register(Module{Name: "x"})
	})
}

func TestParseRoles(t *testing.T) {
	got, err := ParseRoles("manager, dispatcher,manager")
	if err != nil || !slices.Equal(got, []string{RoleManager, RoleDispatcher}) {
		t.Fatalf("got %v %v", got, err)
	}
	if got, _ := ParseRoles("all"); !slices.Equal(got, Roles) {
		t.Fatalf("all = %v; want every role", got)
	}
	// A role whose module is not built yet (as backup was) is refused, and left out of all.
	saved := Topology[RoleBackup]
	Topology[RoleBackup] = nil
	t.Cleanup(func() { Topology[RoleBackup] = saved })
	if got, _ := ParseRoles("all"); !slices.Equal(got, []string{RoleManager, RoleIngest, RoleDispatcher}) {
		t.Fatalf("all = %v; want every role that runs a module", got)
	}
	_, err = ParseRoles("manager,backup")
	if err == nil || !strings.Contains(err.Error(), `role "backup" runs no module yet`) || !strings.Contains(err.Error(), "manager, ingest, dispatcher and all") {
		t.Fatalf("a role with no module must be refused, saying so: %v", err)
	}
	_, err = ParseRoles("manager,janitor")
	if err == nil || !strings.Contains(err.Error(), `"janitor"`) || !strings.Contains(err.Error(), "manager, ingest, dispatcher, backup") {
		t.Fatalf("unknown role error must name it and list the valid ones: %v", err)
	}
}

// roleRegistry has one module per role, each serving one route, so a test can see which
// routes a role mounts.
func roleRegistry() *Registry {
	r := NewRegistry()
	r.Register(Module{Name: "guard", Provision: func(m *Mount) error {
		m.ProvideGuard(GuardUser, func(Route) echo.MiddlewareFunc { return func(n echo.HandlerFunc) echo.HandlerFunc { return n } })
		return nil
	}})
	for _, role := range Roles {
		role := role
		r.Role(role, "mod-"+role)
		r.Register(Module{Name: "mod-" + role, Requires: []string{"guard"}, Provision: func(m *Mount) error {
			m.Route(Route{Method: http.MethodGet, Path: "/api/v1/" + role, Scope: "things:view",
				Handler: func(c echo.Context) error { return c.String(http.StatusOK, role) }})
			return nil
		}})
	}
	return r
}

func TestRoleSelectionMountsOnlyItsModulesRoutes(t *testing.T) {
	for _, roles := range [][]string{{RoleManager}, {RoleIngest}, {RoleManager, RoleDispatcher}, {RoleManager, RoleIngest, RoleDispatcher}} {
		cfg := testConfig(t, map[string]string{"MIPO_ROLE": strings.Join(roles, ",")})
		a, err := New(cfg, Options{Registry: roleRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		for _, role := range Roles {
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/"+role, nil))
			mounted := slices.Contains(roles, role)
			if mounted && rec.Code != http.StatusOK || !mounted && rec.Code != http.StatusNotFound {
				t.Errorf("roles %v: GET /api/v1/%s answered %d", roles, role, rec.Code)
			}
		}
	}
}

func TestRouteWithoutScopeIsRefused(t *testing.T) {
	r := NewRegistry()
	r.Role(RoleManager, "sloppy")
	r.Register(Module{Name: "sloppy", Provision: func(m *Mount) error {
		m.Route(Route{Method: http.MethodGet, Path: "/api/v1/sloppy", Handler: func(echo.Context) error { return nil }})
		return nil
	}})
	_, err := New(testConfig(t, nil), Options{Registry: r})
	if err == nil || !strings.Contains(err.Error(), "declares no scope") {
		t.Fatalf("want a missing-scope error, got %v", err)
	}
}

func TestRouteNeedingAMissingGuardIsRefused(t *testing.T) {
	r := NewRegistry()
	r.Role(RoleManager, "lonely")
	r.Register(Module{Name: "lonely", Provision: func(m *Mount) error {
		m.Route(Route{Method: http.MethodGet, Path: "/api/v1/lonely", Scope: "things:view", Handler: func(echo.Context) error { return nil }})
		return nil
	}})
	_, err := New(testConfig(t, nil), Options{Registry: r})
	if err == nil || !strings.Contains(err.Error(), "user guard") {
		t.Fatalf("want a missing-guard error, got %v", err)
	}
}

func TestStartAndStopFollowDependencyOrder(t *testing.T) {
	var events []string
	r := NewRegistry()
	add := func(name string, requires ...string) {
		r.Role(RoleManager, name)
		r.Register(Module{Name: name, Requires: requires, Provision: func(m *Mount) error {
			m.OnStart(func(context.Context) error { events = append(events, "start "+name); return nil })
			m.OnStop(func(context.Context) error { events = append(events, "stop "+name); return nil })
			return nil
		}})
	}
	add("c", "b")
	add("a")
	add("b", "a")
	a, err := New(testConfig(t, nil), Options{Registry: r})
	if err != nil {
		t.Fatal(err)
	}
	// Only the modules' steps, without databases: Start's database steps are covered by
	// TestAFailedStartStopsOnlyWhatStarted.
	for _, s := range a.startSteps() {
		if strings.HasPrefix(s.name, "module ") {
			a.steps = append(a.steps, s)
		}
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Stop(context.Background())
	want := []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}
	if !slices.Equal(events, want) {
		t.Fatalf("hooks ran as %v, want %v", events, want)
	}
}

func testConfig(t *testing.T, flags map[string]string) *Config {
	t.Helper()
	all := map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off"}
	for k, v := range flags {
		all[k] = v
	}
	cfg, err := LoadConfig(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestAnAbandonedRequestIsNotAnError(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(ctx), rec)
	errorHandler(log)(fmt.Errorf("query: %w", context.Canceled), c)
	if strings.Contains(logged.String(), "level=ERROR") || rec.Body.Len() != 0 {
		t.Fatalf("a client that left was logged as an error or answered: %q %q", logged.String(), rec.Body.String())
	}
	errorHandler(log)(fmt.Errorf("query: %w", context.Canceled), e.NewContext(httptest.NewRequest(http.MethodGet, "/x", nil), httptest.NewRecorder()))
	if !strings.Contains(logged.String(), "level=ERROR") {
		t.Fatal("a cancellation the client did not cause is an internal error and must be logged")
	}
}

// A database that cannot take the work (a full disk under the audit log, a lock not granted, a
// lost connection) is answered 503 with Retry-After, not 500, and leaks none of its message.
func TestAnUnavailableDatabaseIsAnswered503(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := echo.New()
	for _, code := range []string{"53100", "53300", "55P03", "57P01", "08006"} {
		rec := httptest.NewRecorder()
		err := fmt.Errorf("writing the audit record: %w", &pgconn.PgError{Code: code, Message: "could not extend file: No space left on device"})
		errorHandler(log)(err, e.NewContext(httptest.NewRequest(http.MethodPost, "/x", nil), rec))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
			strings.Contains(rec.Body.String(), "No space") || !strings.Contains(rec.Body.String(), `"unavailable"`) {
			t.Errorf("SQLSTATE %s: %d %v %s", code, rec.Code, rec.Header(), rec.Body)
		}
	}
	for _, code := range []string{"23505", "42P01", "P0001"} {
		rec := httptest.NewRecorder()
		errorHandler(log)(&pgconn.PgError{Code: code}, e.NewContext(httptest.NewRequest(http.MethodPost, "/x", nil), rec))
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("SQLSTATE %s is a fault, not unavailability: %d", code, rec.Code)
		}
	}
}
