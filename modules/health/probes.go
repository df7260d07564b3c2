package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"mipo/app"
	"mipo/modules/settings/settingsapi"
	"mipo/modules/tls/tlsapi"
)

var (
	settingEdgeURL = app.StringSetting("MIPO_HEALTH_EDGE_URL", "",
		"The edge (reverse proxy) URL the health probe requests, such as https://mipo.example.com/healthz. Empty: mipo's own listener.")
	settingResolver = app.StringSetting("MIPO_HEALTH_PUBLIC_RESOLVER", "",
		"A public DNS resolver (host:port, such as 1.1.1.1:53) the public FQDN is also resolved through. Empty: only the system resolver.")
)

// probeEvery is how often the manager probes; a probe's own timeout is shorter.
const (
	probeEvery   = 15 * time.Second
	probeTimeout = 3 * time.Second
)

// A Probe is one check's last outcome. The overview colours come from OK and CheckedAt.
type Probe struct {
	Component string         `json:"component" doc:"database:jobs, edge, dns:public, dns:internal, tls, dispatcher, backup."`
	OK        bool           `json:"ok"`
	Detail    map[string]any `json:"detail"`
	CheckedAt time.Time      `json:"checked_at"`
}

// prober runs the probes and keeps their outcomes in memory: the jobs database, where they
// are also stored, may be the very thing that is down.
type prober struct {
	m        *app.Mount
	mu       sync.Mutex
	last     map[string]Probe
	reported map[string]bool // event subject → failing, as last emitted
}

func newProber(m *app.Mount) *prober {
	return &prober{m: m, last: map[string]Probe{}, reported: map[string]bool{}}
}

// Probes returns the last outcomes, by component name.
func (p *prober) Probes() []Probe {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Probe, 0, len(p.last))
	for _, pr := range p.last {
		out = append(out, pr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Component < out[j].Component })
	return out
}

func (p *prober) set(pr Probe) {
	pr.CheckedAt = p.m.Clock.Now()
	p.mu.Lock()
	p.last[pr.Component] = pr
	p.mu.Unlock()
}

// Run runs every probe once, then stores the outcomes and their figures. A store that fails
// (the jobs database is down) does not stop the probing.
func (p *prober) Run(ctx context.Context) error {
	for _, name := range app.DatabaseNames {
		p.database(ctx, name)
	}
	p.edge(ctx)
	p.dns(ctx)
	p.tls(ctx)
	p.dispatcher(ctx)
	p.backup(ctx)
	return p.store(ctx)
}

func (p *prober) store(ctx context.Context) error {
	now := p.m.Clock.Now()
	points := map[string]float64{}
	for _, pr := range p.Probes() {
		body, _ := json.Marshal(pr.Detail)
		if _, err := p.m.JobsDB.Exec(ctx, `INSERT INTO health_probes (component, ok, detail, checked_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (component) DO UPDATE SET ok = excluded.ok, detail = excluded.detail, checked_at = excluded.checked_at`,
			pr.Component, pr.OK, body, pr.CheckedAt); err != nil {
			return err
		}
		for k, v := range pr.Detail {
			if f, ok := v.(float64); ok {
				points[pr.Component+"/"+k] = f
			}
		}
	}
	return Record(ctx, p.m.JobsDB, now, points)
}

// database measures a round trip, the size, and for results the storage mode and row estimate.
func (p *prober) database(ctx context.Context, name string) {
	pool := p.m.Databases().Pool(name)
	if pool == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	var size int64
	err := pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size)
	d := map[string]any{"latency_ms": float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		p.set(Probe{Component: "database:" + name, OK: false, Detail: map[string]any{"error": err.Error()}})
		return
	}
	d["size_mb"] = float64(size) / (1 << 20)
	if name == app.DBResults {
		var hyper bool
		var rows float64
		_ = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
			coalesce((SELECT reltuples FROM pg_class WHERE relname = 'observations'), 0)`).Scan(&hyper, &rows)
		d["mode"], d["row_estimate"] = map[bool]string{true: "hypertable", false: "brin"}[hyper], max(rows, 0)
	}
	p.set(Probe{Component: "database:" + name, OK: true, Detail: d})
}

// edge requests the configured edge URL, else mipo's own /healthz on its listener.
func (p *prober) edge(ctx context.Context) {
	u := settingEdgeURL.Get(p.m.Config)
	if u == "" {
		host, port, _ := net.SplitHostPort(p.m.Config.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		scheme := "http"
		if p.m.Config.TLS {
			scheme = "https"
		}
		u = scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	d := map[string]any{"url": u}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	var res *http.Response
	if err == nil {
		res, err = edgeClient.Do(req)
	}
	if err == nil {
		res.Body.Close()
		d["status"] = res.StatusCode
		if res.StatusCode >= 500 {
			err = fmt.Errorf("answered %s", res.Status)
		}
	}
	d["latency_ms"] = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		d["error"] = err.Error()
	}
	p.set(Probe{Component: "edge", OK: err == nil, Detail: d})
}

// The edge probe checks reachability, not the certificate (the TLS probe does that), and the
// own listener's certificate may well be self-signed.
var edgeClient = &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}

// dns resolves the public FQDN through the system resolver and the configured public one, and
// the host names the roles use to reach each other and the databases (the internal and container
// layers).
// The public FQDN's outcome is the event the dns.resolution.failed rule consumes.
func (p *prober) dns(ctx context.Context) {
	set, err := settingsapi.Load(ctx, p.m.ConfigDB)
	fqdn := ""
	if err == nil {
		fqdn = set.PublicFQDN
		if h, _, err := net.SplitHostPort(fqdn); err == nil {
			fqdn = h
		}
	}
	resolvers := map[string]*net.Resolver{"system": net.DefaultResolver}
	if addr := settingResolver.Get(p.m.Config); addr != "" {
		resolvers["public"] = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	}
	if fqdn != "" && net.ParseIP(fqdn) == nil {
		d, failed := map[string]any{"name": fqdn}, []string{}
		for label, r := range resolvers {
			addrs, err := lookup(ctx, r, fqdn)
			d[label] = addrs
			if err != nil {
				d[label], failed = err.Error(), append(failed, label+": "+err.Error())
			}
		}
		p.set(Probe{Component: "dns:public", OK: len(failed) == 0, Detail: d})
		p.emit(ctx, fqdn, len(failed) > 0, map[string]any{"name": fqdn, "error": strings.Join(failed, "; ")})
	} else {
		p.set(Probe{Component: "dns:public", OK: true, Detail: map[string]any{"name": fqdn, "note": "no public FQDN set, or it is an address"}})
	}
	// The names roles use to reach each other: the databases, the backup role's internal API
	// (the manager calls it) and the configured edge.
	hosts := map[string]string{}
	for _, name := range app.DatabaseNames {
		if pool := p.m.Databases().Pool(name); pool != nil {
			hosts[name] = pool.Config().ConnConfig.Host
		}
	}
	for label, raw := range map[string]string{"backup": p.m.Config.Value("MIPO_BACKUP_URL"), "edge": settingEdgeURL.Get(p.m.Config)} {
		if u, err := url.Parse(raw); raw != "" && err == nil && u.Hostname() != "" {
			hosts[label] = u.Hostname()
		}
	}
	d, ok := map[string]any{}, true
	for label, host := range hosts {
		if strings.HasPrefix(host, "/") || net.ParseIP(host) != nil {
			d[label] = host + " (no lookup needed)"
			continue
		}
		addrs, err := lookup(ctx, net.DefaultResolver, host)
		d[label] = addrs
		if err != nil {
			d[label], ok = err.Error(), false
		}
	}
	p.set(Probe{Component: "dns:internal", OK: ok, Detail: d})
}

func lookup(ctx context.Context, r *net.Resolver, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return r.LookupHost(ctx, name)
}

// emit sends dns.resolution.failed or .succeeded when the outcome for a name changes (and once
// after start, so an alarm opened before a restart resolves).
func (p *prober) emit(ctx context.Context, name string, failed bool, payload map[string]any) {
	if prev, ok := p.reported[name]; ok && prev == failed {
		return
	}
	typ := "dns.resolution.succeeded"
	if failed {
		typ = "dns.resolution.failed"
	}
	if err := p.m.Events.Emit(ctx, typ, name, payload); err == nil {
		p.reported[name] = failed
	}
}

// tls reads the served certificate; its expiry events come from modules/tls itself.
func (p *prober) tls(ctx context.Context) {
	in, err := tlsapi.Served(ctx, p.m.ConfigDB)
	switch {
	case err != nil:
		p.set(Probe{Component: "tls", OK: false, Detail: map[string]any{"error": err.Error()}})
	case in == nil:
		p.set(Probe{Component: "tls", OK: !p.m.Config.TLS, Detail: map[string]any{"note": "no certificate stored"}})
	default:
		days := in.NotAfter.Sub(p.m.Clock.Now()).Hours() / 24
		p.set(Probe{Component: "tls", OK: days > 14, Detail: map[string]any{"subject": in.Subject, "issuer": in.Issuer,
			"not_after": in.NotAfter, "days_left": days, "source": in.Source, "self_signed": in.SelfSigned, "chain": in.Chain}})
	}
}

// dispatcher says whether a process holds the dispatcher lock (pg_locks, the truth), and which
// one and since when (from the reports: each process says what it leads and since when).
func (p *prober) dispatcher(ctx context.Context) {
	held, err := app.LeaderActive(ctx, p.m.JobsDB.Pool(), "dispatcher")
	if err != nil {
		p.set(Probe{Component: "dispatcher", OK: false, Detail: map[string]any{"error": err.Error()}})
		return
	}
	d := map[string]any{"leader": held}
	if held {
		if who, since, ok := leaderOf(ctx, p.m.JobsDB, "dispatcher", p.m.Clock.Now()); ok {
			d["process"], d["since"] = who, since
		}
	}
	p.set(Probe{Component: "dispatcher", OK: held, Detail: d})
}

// leaderOf finds the process whose latest report says it leads name, among those that
// reported recently; a leader that stopped reporting is not named.
func leaderOf(ctx context.Context, db app.Querier, name string, now time.Time) (string, time.Time, bool) {
	var who string
	var since time.Time
	err := db.QueryRow(ctx, `SELECT process, (report->'leads'->>$1)::timestamptz FROM health_processes
		WHERE reported_at >= $2 AND report->'leads' ? $1 ORDER BY reported_at DESC LIMIT 1`, name, now.Add(-3*staleAfter)).Scan(&who, &since)
	return who, since, err == nil
}
