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
	starts, stops  []hook
	echo           *echo.Echo
	metrics        *httpMetrics
	scheduler      gocron.Scheduler
	embedded       *EmbeddedPG
	ownsDB         bool
	resultsStorage string
	appendOnly     string   // "" when the append-only tables are out of the runtime role's reach
	started        []string // modules whose OnStart ran, in order
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
	} else {
		a.ownsDB = false
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
		if mod.Provision == nil {
			continue
		}
		m := &Mount{Module: mod.Name, Config: cfg, Log: a.Log.With("module", mod.Name), Clock: a.Clock,
			DB: a.DB, Events: a.Events, Secrets: a.Secrets, app: a}
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

// Start brings the process up: the databases (starting the embedded cluster when no DSN is
// configured), migrations, each module's OnStart in dependency order, the event bus and the
// job scheduler. On failure, whatever was started is stopped again.
func (a *App) Start(ctx context.Context) (err error) {
	ctx = WithAuditKey(ctx, a.Config.AuditKey)
	a.runCtx, a.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			a.Stop(context.Background())
		}
	}()
	if a.DB.Config == nil {
		if err := a.openDatabases(ctx); err != nil {
			return err
		}
		a.ownsDB = true
	}
	if a.appendOnly, err = MigrateAsOwner(ctx, a.Config, a.embedded, a.DB, a.Log); err != nil {
		return err
	}
	if a.resultsStorage, err = ResultsStorage(ctx, a.DB.Results); err != nil {
		return err
	}
	for _, h := range a.starts {
		if err := h.fn(ctx); err != nil {
			return fmt.Errorf("starting module %s: %w", h.module, err)
		}
		a.started = append(a.started, h.module)
	}
	if err := a.Events.start(ctx, a.DB.Jobs); err != nil {
		return err
	}
	return a.startScheduler()
}

func (a *App) openDatabases(ctx context.Context) error {
	cfg := a.Config
	if cfg.Embedded() {
		pg, err := NewEmbeddedPG(filepath.Join(cfg.DataDir, "postgres"), settingPGBin.Get(cfg), a.Log)
		if err != nil {
			return err
		}
		if err := pg.Start(ctx); err != nil {
			return err
		}
		a.embedded = pg
		cfg = cfg.WithDSNs(pg.AppDSN(DBConfig), pg.AppDSN(DBResults), pg.AppDSN(DBJobs))
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

// Stop stops jobs, the event bus and the modules (in reverse start order), closes the pools
// and stops the embedded cluster. It is safe to call more than once.
func (a *App) Stop(ctx context.Context) error {
	var errs []error
	if a.cancelRun != nil {
		a.cancelRun()
	}
	if a.scheduler != nil {
		if err := a.scheduler.Shutdown(); err != nil {
			errs = append(errs, err)
		}
		a.scheduler = nil
	}
	a.Events.shutdown()
	for i := len(a.stops) - 1; i >= 0; i-- {
		h := a.stops[i]
		if !slices.Contains(a.started, h.module) && !a.moduleHasNoStart(h.module) {
			continue
		}
		if err := h.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping module %s: %w", h.module, err))
		}
	}
	a.stops, a.started = nil, nil
	if a.ownsDB {
		a.DB.Close()
		a.ownsDB = false
	}
	if a.embedded != nil {
		if err := a.embedded.Stop(); err != nil {
			errs = append(errs, err)
		}
		a.embedded = nil
	}
	return errors.Join(errs...)
}

func (a *App) moduleHasNoStart(module string) bool {
	for _, h := range a.starts {
		if h.module == module {
			return false
		}
	}
	return true
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
