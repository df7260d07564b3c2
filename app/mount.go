package app

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// A Mount is what a module is given to provision itself: its dependencies (configuration,
// logger, clock, databases, event bus, secret box) and the calls that declare its routes,
// jobs, event handlers and lifecycle hooks. It is deliberately small: a module reaches another
// module through that module's exported Go API or through events, never through the kernel.
type Mount struct {
	Module string
	Config *Config
	Log    *slog.Logger
	Clock  Clock
	// The databases the module declared (Module.Databases); the pools are open by the time
	// OnStart hooks and handlers run. An undeclared one answers every query with an error.
	ConfigDB  ConfigDB
	ResultsDB ResultsDB
	JobsDB    JobsDB
	Events    *Bus
	Secrets   *SecretBox
	app       *App
}

type hook struct {
	module string
	fn     func(context.Context) error
}

type jobDecl struct {
	name string
	def  gocron.JobDefinition
	fn   func(context.Context) error
}

type prefixMiddleware struct {
	prefix string
	mw     echo.MiddlewareFunc
}

// Route declares an HTTP route; see Route for the fields.
func (m *Mount) Route(r Route) {
	r.Module = m.Module
	m.app.routes = append(m.app.routes, r)
}

// Routes declares several routes.
func (m *Mount) Routes(rs ...Route) {
	for _, r := range rs {
		m.Route(r)
	}
}

// Job declares a background job run by the process's scheduler (gocron). A job's error is
// logged; the schedule continues.
func (m *Mount) Job(name string, def gocron.JobDefinition, fn func(context.Context) error) {
	m.app.jobs = append(m.app.jobs, jobDecl{name: m.Module + "." + name, def: def, fn: fn})
}

// Every declares a job that runs at a fixed interval.
func (m *Mount) Every(name string, interval time.Duration, fn func(context.Context) error) {
	m.Job(name, gocron.DurationJob(interval), fn)
}

// On subscribes a handler to events whose type matches pattern ("scanner.offline", or
// "scanner.*"). Each event reaches each subscriber at least once, in whichever process runs it.
func (m *Mount) On(name, pattern string, fn EventHandler) {
	m.app.subscribers = append(m.app.subscribers, subscriber{name: m.Module + "." + name, pattern: pattern, fn: fn})
}

// OnBatch subscribes like On, but the handler gets the events the bus claims together (up to
// a batch) in one call, so that it can handle them in one transaction. If it fails, the bus
// hands it the same events again one at a time, retrying each failure with backoff.
func (m *Mount) OnBatch(name, pattern string, fn BatchHandler) {
	m.app.subscribers = append(m.app.subscribers, subscriber{name: m.Module + "." + name, pattern: pattern, batch: fn})
}

// OnStart runs fn when the process starts, after the modules this one requires have started.
func (m *Mount) OnStart(fn func(context.Context) error) {
	m.app.starts = append(m.app.starts, hook{m.Module, fn})
}

// OnStop runs fn when the process stops, before the modules this one requires stop.
func (m *Mount) OnStop(fn func(context.Context) error) {
	m.app.stops = append(m.app.stops, hook{m.Module, fn})
}

// Databases returns the process's three pools together, for a module whose work is all of them
// at once (backup copies and restores every database). It is nil unless the module declared
// all three.
func (m *Mount) Databases() *Databases {
	if !m.ConfigDB.Declared() || !m.ResultsDB.Declared() || !m.JobsDB.Declared() {
		return nil
	}
	return m.app.DB
}

// ProvideGuard installs the guard of a kind (GuardUser, GuardScanner) for every route.
func (m *Mount) ProvideGuard(kind string, g GuardFunc) {
	m.app.guards[kind] = g
}

// Use adds middleware to every route whose path starts with prefix. It runs before the route's
// guard.
func (m *Mount) Use(prefix string, mw echo.MiddlewareFunc) {
	m.app.uses = append(m.app.uses, prefixMiddleware{prefix, mw})
}

// AllRoutes returns the process's whole route table (for modules that describe it, such as the
// OpenAPI document). Call it from a handler or OnStart, when every module has provisioned.
func (m *Mount) AllRoutes() []Route { return m.app.Routes() }

// Metrics is the process's Prometheus registry: a module registers the collectors of the
// figures it shows, so /metrics exposes them too, and may gather the kernel's own.
func (m *Mount) Metrics() *prometheus.Registry { return m.app.Metrics }

// Process returns a short name of this process for events and logs (host:pid).
func (m *Mount) Process() string { return m.app.process }

func (a *App) middlewaresFor(path string) []echo.MiddlewareFunc {
	var out []echo.MiddlewareFunc
	for _, u := range a.uses {
		if strings.HasPrefix(path, u.prefix) {
			out = append(out, u.mw)
		}
	}
	return out
}
