package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Version is stamped at build time (-ldflags "-X mipo/app.Version=…").
var Version = "dev"

// Options adjust how an App is built; the zero value is production.
type Options struct {
	Registry *Registry    // modules to choose from; the process-wide registry when nil
	Clock    Clock        // the real clock when nil
	Logger   *slog.Logger // a JSON logger on stderr when nil
	DB       *Databases   // already-open databases (tests); otherwise opened at Start
}

// An App is one mipo process: the modules of its roles, their routes, jobs and event handlers,
// its databases and its HTTP server.
type App struct {
	Config  *Config
	Log     *slog.Logger
	Clock   Clock
	DB      *Databases
	Events  *Bus
	Secrets *SecretBox
	Metrics *prometheus.Registry

	openapiCache
	process        string
	registry       *Registry
	modules        []Module
	routes         []Route
	guards         map[string]GuardFunc
	uses           []prefixMiddleware
	jobs           []jobDecl
	subscribers    []subscriber
	leaderships    []*Leadership
	starts, stops  []hook
	echo           *echo.Echo
	metrics        *httpMetrics
	scheduler      gocron.Scheduler
	embedded       *EmbeddedPG
	resultsStorage string
	appendOnly     string      // "" when the append-only tables are out of the runtime role's reach
	steps          []startStep // what Start does, in order (startSteps)
	running        []startStep // the steps that completed, in order: what Stop undoes
	runCtx         context.Context
	cancelRun      context.CancelFunc
}

// New resolves the modules of the configured roles and lets each provision itself, in
// dependency order. It touches no database: the route table is complete when New returns.
func New(cfg *Config, opts Options) (*App, error) {
	reg := opts.Registry
	if reg == nil {
		reg = defaultRegistry
	}
	a := &App{Config: cfg, Log: opts.Logger, Clock: opts.Clock, DB: opts.DB, guards: map[string]GuardFunc{}, registry: reg}
	if a.Log == nil {
		a.Log = NewLogger(cfg)
	}
	if a.Clock == nil {
		a.Clock = SystemClock{}
	}
	if a.DB == nil {
		a.DB = &Databases{}
	}
	host, _ := os.Hostname()
	a.process = fmt.Sprintf("%s:%d", host, os.Getpid())
	a.Events = newBus(a.Log, a.process)
	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newPoolCollector(a.DB))
	a.metrics = newHTTPMetrics(a.Metrics)
	var err error
	processAuditKey.Store(&cfg.AuditKey)
	if a.Secrets, err = NewSecretBox(cfg.SecretKey); err != nil {
		return nil, err
	}
	if a.modules, err = reg.Resolve(cfg.Roles); err != nil {
		return nil, err
	}
	for _, mod := range a.modules {
		m := &Mount{Module: mod.Name, Config: cfg, Log: a.Log.With("module", mod.Name), Clock: a.Clock,
			Events: a.Events, Secrets: a.Secrets, app: a}
		if err := a.handDatabases(m, mod); err != nil {
			return nil, err
		}
		if mod.Provision == nil {
			continue
		}
		if err := mod.Provision(m); err != nil {
			return nil, fmt.Errorf("module %s: %w", mod.Name, err)
		}
	}
	for _, r := range append(a.kernelRoutes(), a.openapiRoute()) {
		r.Module = "kernel"
		a.routes = append(a.routes, r)
	}
	a.echo = a.newEcho()
	if err := a.mountRoutes(); err != nil {
		return nil, err
	}
	a.Events.subs = a.subscribers
	return a, nil
}

// handDatabases gives a module the handles of the databases it declared, and to the others a
// handle that names the omission.
func (a *App) handDatabases(m *Mount, mod Module) error {
	m.ConfigDB, m.ResultsDB, m.JobsDB = ConfigDB{module: mod.Name}, ResultsDB{module: mod.Name}, JobsDB{module: mod.Name}
	for _, db := range mod.Databases {
		switch db {
		case DBConfig:
			m.ConfigDB = a.DB.ConfigDB()
		case DBResults:
			m.ResultsDB = a.DB.ResultsDB()
		case DBJobs:
			m.JobsDB = a.DB.JobsDB()
		default:
			return fmt.Errorf("module %s declares the database %q; the databases are %s", mod.Name, db, strings.Join(DatabaseNames, ", "))
		}
	}
	return nil
}

// NewLogger returns the structured logger the configuration asks for.
func NewLogger(cfg *Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(settingLogLevel.Get(cfg)))
	opts := &slog.HandlerOptions{Level: level}
	if settingLogFmt.Get(cfg) == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// Modules lists the names of the mounted modules in start order.
func (a *App) Modules() []string {
	out := make([]string, len(a.modules))
	for i, m := range a.modules {
		out[i] = m.Name
	}
	return out
}

// Routes returns the route table.
func (a *App) Routes() []Route { return slices.Clone(a.routes) }

// Handler is the process's HTTP handler.
func (a *App) Handler() http.Handler { return a.echo }

// Start brings the process up, one step at a time (startSteps): the databases (starting the
// embedded cluster when no DSN is configured), migrations, each module's OnStart in dependency
// order, the event bus and the job scheduler. When a step fails, the steps that completed are
// undone in reverse order and the error names the step; nothing that never started is stopped.
func (a *App) Start(ctx context.Context) error {
	ctx = WithAuditKey(ctx, a.Config.AuditKey)
	a.runCtx, a.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	if a.steps == nil {
		a.steps = a.startSteps()
	}
	for _, s := range a.steps {
		if err := s.start(ctx); err != nil {
			err = fmt.Errorf("starting %s: %w", s.name, err)
			if stopErr := a.Stop(context.WithoutCancel(ctx)); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
			return err
		}
		a.running = append(a.running, s)
	}
	return nil
}

// A startStep is one thing Start brings up, and what takes it down again (nil: nothing).
type startStep struct {
	name  string
	start func(context.Context) error
	stop  func(context.Context) error
}

func (a *App) startSteps() []startStep {
	var steps []startStep
	if a.DB.Config == nil { // the databases are this process's to open and close
		if a.Config.Embedded() {
			steps = append(steps, startStep{"embedded PostgreSQL", a.startEmbedded, a.stopEmbedded})
		}
		steps = append(steps, startStep{"databases", a.openDatabases, func(context.Context) error { a.DB.Close(); return nil }})
	}
	steps = append(steps,
		startStep{"migrations", func(ctx context.Context) (err error) {
			a.appendOnly, err = MigrateAsOwner(ctx, a.Config, a.embedded, a.DB, a.Log)
			return err
		}, nil},
		startStep{"results storage", func(ctx context.Context) (err error) {
			a.resultsStorage, err = ResultsStorage(ctx, a.DB.Results)
			return err
		}, nil})
	for _, mod := range a.modules {
		steps = append(steps, startStep{"module " + mod.Name, a.runHooks(a.starts, mod.Name, false), a.runHooks(a.stops, mod.Name, true)})
	}
	return append(steps,
		startStep{"event bus", func(ctx context.Context) error { return a.Events.start(ctx, a.DB.Jobs) },
			func(context.Context) error { a.Events.shutdown(); return nil }},
		startStep{"job scheduler", func(context.Context) error { return a.startScheduler() }, a.stopScheduler})
}

// runHooks runs one module's OnStart (or, reversed, OnStop) hooks.
func (a *App) runHooks(hooks []hook, module string, reverse bool) func(context.Context) error {
	return func(ctx context.Context) error {
		var errs []error
		for i := range hooks {
			h := hooks[i]
			if reverse {
				h = hooks[len(hooks)-1-i]
			}
			if h.module != module {
				continue
			}
			if err := h.fn(ctx); err != nil {
				if !reverse {
					return err
				}
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

func (a *App) startEmbedded(ctx context.Context) error {
	pg, err := NewEmbeddedPG(filepath.Join(a.Config.DataDir, "postgres"), settingPGBin.Get(a.Config), a.Log)
	if err != nil {
		return err
	}
	if err := pg.Start(ctx); err != nil {
		pg.Stop() // whatever of it did start
		return err
	}
	a.embedded = pg
	return nil
}

func (a *App) stopEmbedded(context.Context) error {
	err := a.embedded.Stop()
	a.embedded = nil
	return err
}

func (a *App) openDatabases(ctx context.Context) error {
	cfg := a.Config
	if a.embedded != nil {
		cfg = cfg.WithDSNs(a.embedded.AppDSN(DBConfig), a.embedded.AppDSN(DBResults), a.embedded.AppDSN(DBJobs))
	}
	db, err := OpenDatabases(ctx, cfg.ConfigDSN, cfg.ResultsDSN, cfg.JobsDSN)
	if err != nil {
		return err
	}
	*a.DB = *db
	return nil
}

func (a *App) startScheduler() error {
	if len(a.jobs) == 0 {
		return nil
	}
	s, err := gocron.NewScheduler(gocron.WithLocation(time.UTC))
	if err != nil {
		return err
	}
	for _, j := range a.jobs {
		j := j
		run := func() {
			ctx := WithPrincipal(a.runCtx, System(j.name))
			if err := j.fn(ctx); err != nil && a.runCtx.Err() == nil {
				a.Log.Error("job failed", "job", j.name, "err", err)
			}
		}
		// Singleton mode: a run that overruns its interval is not started again beside itself.
		if _, err := s.NewJob(j.def, gocron.NewTask(run), gocron.WithName(j.name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule)); err != nil {
			return fmt.Errorf("job %s: %w", j.name, err)
		}
	}
	s.Start()
	a.scheduler = s
	return nil
}

// Serve answers HTTP on ln until ctx is cancelled, then stops the process gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	// IdleTimeout: an idle keep-alive connection closes, so a replaced certificate reaches every
	// client at its next request instead of never.
	srv := &http.Server{Handler: a.echo, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)}
	a.echo.Server = srv
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		a.Stop(context.Background())
		return err
	case <-ctx.Done():
	}
	timeout := settingShutdown.Get(a.Config)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	a.Log.Info("shutting down: draining requests", "timeout", timeout.String())
	if err := srv.Shutdown(sctx); err != nil {
		a.Log.Warn("requests still running at the shutdown deadline", "err", err)
	}
	return a.Stop(sctx)
}

// Stop undoes what Start did, in reverse: the job scheduler, the event bus, the modules
// (each before what it requires), the pools and the embedded cluster. It is safe to call more
// than once.
func (a *App) Stop(ctx context.Context) error {
	if a.cancelRun != nil {
		a.cancelRun()
	}
	var errs []error
	for i := len(a.running) - 1; i >= 0; i-- {
		s := a.running[i]
		if s.stop == nil {
			continue
		}
		if err := s.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", s.name, err))
		}
	}
	a.running = nil
	return errors.Join(errs...)
}

func (a *App) stopScheduler(context.Context) error {
	if a.scheduler == nil {
		return nil
	}
	err := a.scheduler.Shutdown()
	a.scheduler = nil
	return err
}

// Listen opens the configured address, with TLS unless it is switched off. It returns the
// listener and, for a self-signed certificate, its pin (for scanner provisioning).
func Listen(cfg *Config) (net.Listener, *tls.Certificate, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, &ConfigError{"MIPO_LISTEN", err.Error()}
	}
	if !cfg.TLS {
		return ln, nil, nil
	}
	cert, err := EnsureCertificate(cfg.DataDir)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	if cfg.Certificate.Load() == nil { // the tls module may have loaded the database's already
		cfg.Certificate.Store(&cert)
	}
	return tls.NewListener(ln, ServerTLSConfig(cfg.Certificate)), cfg.Certificate.Load(), nil
}
