package app

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newEcho builds the process's one HTTP server with the middleware every request passes:
// request id, panic recovery, request metadata for the audit log, structured access log,
// metrics, compression, security headers, a body limit and the check of query and path parameters.
func (a *App) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(a.Log)
	e.IPExtractor = ipExtractor(a.Config.TrustedProxies)
	e.Use(middleware.RequestID())
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			meta := RequestMeta{RequestID: c.Response().Header().Get(echo.HeaderXRequestID), RemoteIP: c.RealIP(), UserAgent: c.Request().UserAgent(),
				ViaProxy: fromProxy(a.Config.TrustedProxies, c.Request().RemoteAddr)}
			c.SetRequest(c.Request().WithContext(WithAuditKey(WithRequestMeta(c.Request().Context(), meta), a.Config.AuditKey)))
			return next(c)
		}
	})
	e.Use(a.accessLog())
	e.Use(a.metrics.middleware())
	// Outside recovery and the error answer, so error bodies are compressed too and the
	// compressor is closed only once the answer is complete.
	e.Use(compress())
	// Inside the log and the metrics: a panic and a handler's error are answered here, so both
	// read the one status the client received from the response itself.
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: false, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		a.Log.Error("panic in handler", "err", err, "path", c.Path(), "stack", string(stack))
		return err
	}}))
	e.Use(answerErrors)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy: "same-origin",
	}))
	e.Use(hsts(a.Config))
	e.Use(middleware.BodyLimit("32M"))
	e.Use(checkParams)
	return e
}

// hsts sends Strict-Transport-Security only while a trusted certificate is served: with a
// self-signed one it would take away the browser's "continue anyway" and lock operators out.
func hsts(cfg *Config) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.TLS && cfg.Certificate != nil && cfg.Certificate.Trusted() {
				c.Response().Header().Set("Strict-Transport-Security", "max-age=31536000")
			}
			return next(c)
		}
	}
}

// ipExtractor believes X-Forwarded-For only from the configured proxies; otherwise the
// connection's own address is the client's, so a scanner's source binding cannot be spoofed
// with a header.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// fromProxy reports whether the connection's peer is one of the trusted proxies.
func fromProxy(trusted []netip.Prefix, remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	for _, p := range trusted {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

// forwardedHost accepts a host[:port] of letters, digits, dots, hyphens, colons and brackets
// only: the value goes into install commands and redirect URLs.
var forwardedHost = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// RequestScheme is "https" when the request reached mipo over TLS, or through a proxy in
// MIPO_TRUSTED_PROXIES that says it did (X-Forwarded-Proto); "http" otherwise. Forwarded
// headers from anyone else are ignored. Session cookies, install commands and sign-in redirects
// all take it from here.
func RequestScheme(c echo.Context) string {
	r := c.Request()
	if RequestMetaFrom(r.Context()).ViaProxy {
		if p := firstForwarded(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			return p
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// RequestBase is the scheme and host this request was addressed to: what a trusted proxy
// forwarded (X-Forwarded-Host), else the connection's own, so a stranger's header cannot steer
// install commands or sign-in redirects.
func RequestBase(c echo.Context) string {
	r := c.Request()
	host := r.Host
	if h := firstForwarded(r.Header.Get("X-Forwarded-Host")); RequestMetaFrom(r.Context()).ViaProxy && forwardedHost.MatchString(h) {
		host = h
	}
	return RequestScheme(c) + "://" + host
}

// firstForwarded is the first of a comma list of forwarded values (the client-side proxy's).
func firstForwarded(v string) string { return strings.TrimSpace(strings.Split(v, ",")[0]) }

func (a *App) accessLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogRemoteIP: true, LogRoutePath: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			v.Status = sentStatus(c)
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			} else if v.URIPath == "/healthz" || v.URIPath == "/readyz" || v.URIPath == "/metrics" {
				level = slog.LevelDebug
			}
			a.Log.LogAttrs(context.Background(), level, "request",
				slog.String("method", v.Method), slog.String("path", v.URIPath), slog.String("route", v.RoutePath),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID), slog.String("remote_ip", v.RemoteIP))
			return nil
		},
	})
}

// answerErrors sends a handler's error in the one error shape at once (echo would otherwise
// send it only after every middleware has returned), so the access log and the metrics, which
// run outside it, see the status that went to the client.
func answerErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			c.Error(err)
		}
		return nil
	}
}

// StatusClientClosed is recorded for a request whose client left before any answer was sent
// (nginx's 499): nothing failed, and nothing was answered.
const StatusClientClosed = 499

// sentStatus is the status the client received: the one source of truth of the access log and
// the metrics.
func sentStatus(c echo.Context) int {
	if !c.Response().Committed && c.Request().Context().Err() != nil {
		return StatusClientClosed
	}
	return c.Response().Status
}

// mountRoutes adds every declared route to echo, each behind its prefix middleware, its guard
// and, for state changes, the change transaction.
func (a *App) mountRoutes() error {
	seen := map[string]string{}
	for _, r := range a.routes {
		if err := r.validate(); err != nil {
			return err
		}
		key := r.Method + " " + r.Path
		if other, dup := seen[key]; dup {
			return fmt.Errorf("route %s declared by both %s and %s", key, other, r.Module)
		}
		seen[key] = r.Module
		mws := a.middlewaresFor(r.Path)
		if kind := r.Guard(); kind != "" {
			g, ok := a.guards[kind]
			if !ok {
				return fmt.Errorf("route %s of module %s needs the %s guard, which no mounted module provides (add the module that provides it to Requires)", key, r.Module, kind)
			}
			mws = append(mws, g(r))
		}
		if r.changeWrapped() {
			mws = append(mws, changeMiddleware(a.DB.ConfigDB()))
		}
		a.echo.Add(r.Method, r.Path, r.Handler, mws...)
	}
	return nil
}

// httpMetrics counts requests and their latency by route (the route pattern, never the raw
// path, so ids do not explode the label set).
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mipo_http_requests_total", Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mipo_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *httpMetrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := sentStatus(c)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
			m.latency.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// poolCollector exports each database pool's connection counts.
type poolCollector struct {
	db                         *Databases
	total, idle, acquired, max *prometheus.Desc
}

func newPoolCollector(db *Databases) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("mipo_db_pool_"+name, help, []string{"database"}, nil)
	}
	return &poolCollector{db: db, total: d("connections", "Open connections."), idle: d("idle", "Idle connections."),
		acquired: d("acquired", "Connections in use."), max: d("max", "Most connections the pool opens.")}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.total
	ch <- p.idle
	ch <- p.acquired
	ch <- p.max
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, name := range DatabaseNames {
		pool := p.db.Pool(name)
		if pool == nil {
			continue
		}
		s := pool.Stat()
		ch <- prometheus.MustNewConstMetric(p.total, prometheus.GaugeValue, float64(s.TotalConns()), name)
		ch <- prometheus.MustNewConstMetric(p.idle, prometheus.GaugeValue, float64(s.IdleConns()), name)
		ch <- prometheus.MustNewConstMetric(p.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()), name)
		ch <- prometheus.MustNewConstMetric(p.max, prometheus.GaugeValue, float64(s.MaxConns()), name)
	}
}

// Health is the /readyz document.
type Health struct {
	Status         string            `json:"status"` // "ok" or "unavailable"
	Roles          []string          `json:"roles"`
	Databases      map[string]string `json:"databases"` // name → "ok" or the error
	ResultsStorage string            `json:"results_storage"`
	// AppendOnly says whether the audit log is append-only against mipo's own database role:
	// "enforced", or "not enforced: …" with the reason and the setting that fixes it.
	AppendOnly string `json:"append_only"`
	Version    string `json:"version"`
}

func (a *App) kernelRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/healthz", Scope: Public, Summary: "Liveness: the process answers.", Response: map[string]string{},
			Handler: func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) }},
		{Method: http.MethodGet, Path: "/readyz", Scope: Public, Summary: "Readiness: each database of this process answers.", Response: Health{},
			Handler: a.readyz},
		{Method: http.MethodGet, Path: "/metrics", Scope: Public, Produces: "text/plain", Handler: a.metricsGate(),
			Summary:     "Prometheus metrics of this process: the figures the health pages show.",
			Description: "Open only with MIPO_METRICS_PUBLIC=true. Otherwise it needs the bearer token MIPO_METRICS_TOKEN, or a session or API token with the health:view scope (in processes that serve the API)."},
	}
}

func (a *App) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	h := Health{Status: "ok", Roles: a.Config.Roles, Databases: map[string]string{}, ResultsStorage: a.resultsStorage, Version: Version, AppendOnly: "enforced"}
	if a.appendOnly != "" {
		h.AppendOnly = a.appendOnly
	}
	for _, name := range DatabaseNames {
		pool := a.DB.Pool(name)
		if pool == nil {
			h.Databases[name], h.Status = "not connected", "unavailable"
			continue
		}
		if err := pool.Ping(ctx); err != nil {
			h.Databases[name], h.Status = "unreachable", "unavailable"
			a.Log.Warn("readiness: database unreachable", "database", name, "err", err)
			continue
		}
		h.Databases[name] = "ok"
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, h)
}

var (
	settingMetricsToken = SecretSetting("MIPO_METRICS_TOKEN",
		"A bearer token that lets a Prometheus scrape /metrics (Authorization: Bearer …). Empty: only signed-in callers with health:view, or everyone with MIPO_METRICS_PUBLIC.")
	settingMetricsPublic = ChoiceSetting("MIPO_METRICS_PUBLIC", "false", "Let anyone read /metrics without credentials", "true", "false")
)

// metricsGate serves /metrics to anyone when the operator opened it, to a caller with the
// configured bearer token, and otherwise through the user guard with the health:view scope.
// The route itself is Public because ingest-only processes have no user guard: there the
// token (or opening it) is the only way in, and a caller without it gets a 401.
func (a *App) metricsGate() echo.HandlerFunc {
	serve := echo.WrapHandler(promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{}))
	var once sync.Once
	var guarded echo.HandlerFunc
	return func(c echo.Context) error {
		if settingMetricsPublic.Get(a.Config) == "true" {
			return serve(c)
		}
		if want := settingMetricsToken.Get(a.Config); want != "" {
			got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
			if ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
				return serve(c)
			}
		}
		once.Do(func() {
			if g, ok := a.guards[GuardUser]; ok {
				guarded = g(Route{Method: http.MethodGet, Path: "/metrics", Scope: "health:view"})(serve)
			}
		})
		if guarded == nil {
			return Unauthorized("unauthenticated", "/metrics needs the bearer token MIPO_METRICS_TOKEN")
		}
		return guarded(c)
	}
}
