package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A start that fails at any step names the step, undoes only the steps that completed, in
// reverse order, and never panics — not even for a module that has only a stop hook needing
// the databases (ingest's meter flushes to the jobs database on stop).
func TestAFailedStartStopsOnlyWhatStarted(t *testing.T) {
	parent, err := os.MkdirTemp("", "mipo-start-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(parent, 0o711) // as root, PostgreSQL runs as a user who must pass through
	var events []string
	r := NewRegistry()
	r.Role(RoleManager, "a")
	r.Register(Module{Name: "a", Provision: func(m *Mount) error {
		m.OnStart(func(context.Context) error { events = append(events, "start a"); return nil })
		m.OnStop(func(context.Context) error { events = append(events, "stop a"); return nil })
		return nil
	}})
	r.Role(RoleManager, "b")
	r.Register(Module{Name: "b", Requires: []string{"a"}, Databases: []string{DBJobs}, Provision: func(m *Mount) error {
		m.Every("tick", time.Hour, func(context.Context) error { return nil })
		m.On("seen", "test.*", func(context.Context, Event) error { return nil })
		m.OnStop(func(ctx context.Context) error {
			events = append(events, "stop b")
			_, err := m.JobsDB.Exec(ctx, `SELECT 1`)
			return err
		})
		return nil
	}})
	cfg, err := LoadConfig(map[string]string{"MIPO_DATA_DIR": filepath.Join(parent, "data"), "MIPO_TLS": "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	newApp := func() *App {
		a, err := New(cfg, Options{Registry: r, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		a.steps = a.startSteps()
		return a
	}
	var steps []string
	for _, s := range newApp().steps {
		steps = append(steps, s.name)
	}
	want := []string{"embedded PostgreSQL", "databases", "migrations", "results storage", "module a", "module b", "event bus", "job scheduler"}
	if !slices.Equal(steps, want) {
		t.Fatalf("start steps %v, want %v", steps, want)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	injected := errors.New("injected failure")
	ctx := context.Background()
	for i, name := range steps {
		t.Run(name, func(t *testing.T) {
			events = nil
			a := newApp()
			a.steps[i].start = func(context.Context) error { return injected }
			err := a.Start(ctx)
			if !errors.Is(err, injected) || !strings.HasPrefix(err.Error(), "starting "+name+": ") {
				t.Fatalf("want the step's error named %q, got %v", "starting "+name, err)
			}
			var wantEvents []string
			if i > slices.Index(steps, "module a") {
				wantEvents = append(wantEvents, "start a")
			}
			if i > slices.Index(steps, "module b") {
				wantEvents = append(wantEvents, "stop b")
			}
			if i > slices.Index(steps, "module a") {
				wantEvents = append(wantEvents, "stop a")
			}
			if !slices.Equal(events, wantEvents) {
				t.Fatalf("hooks ran as %v, want %v", events, wantEvents)
			}
			if len(a.running) != 0 || a.scheduler != nil || a.Events.running || a.embedded != nil {
				t.Fatal("something is left running")
			}
			if i > slices.Index(steps, "databases") && a.DB.Config.Ping(ctx) == nil {
				t.Fatal("the pools are still open")
			}
			probe, _ := NewEmbeddedPG(filepath.Join(cfg.DataDir, "postgres"), "", quiet)
			if probe.place() == nil && probe.answers(ctx) {
				t.Fatal("the embedded PostgreSQL is still running")
			}
		})
	}
	a := newApp()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// A module gets the databases it declares; one it did not declare answers with an error that
// names the module and the database, before any pool is touched.
func TestAModuleGetsOnlyTheDatabasesItDeclares(t *testing.T) {
	var m *Mount
	r := NewRegistry()
	r.Role(RoleManager, "reader")
	r.Register(Module{Name: "reader", Databases: []string{DBResults}, Provision: func(mt *Mount) error { m = mt; return nil }})
	if _, err := New(testConfig(t, nil), Options{Registry: r, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatal(err)
	}
	_, err := m.ConfigDB.Exec(context.Background(), `SELECT 1`)
	if err == nil || !strings.Contains(err.Error(), "module reader uses the config database without declaring it") {
		t.Fatalf("an undeclared database must be refused by name, got %v", err)
	}
	if m.ResultsDB.pool == nil {
		t.Fatal("the declared results database was not handed over")
	}
	r = NewRegistry()
	r.Role(RoleManager, "typo")
	r.Register(Module{Name: "typo", Databases: []string{"result"}})
	if _, err := New(testConfig(t, nil), Options{Registry: r}); err == nil || !strings.Contains(err.Error(), `declares the database "result"`) {
		t.Fatalf("an unknown database must be refused, got %v", err)
	}
}
