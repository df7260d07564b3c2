package scanners

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/jobs/jobsapi"
)

// HealthQuery is the window of the fleet health page.
type HealthQuery struct {
	Hours int `query:"hours" json:"hours,omitempty" doc:"How far back the metrics go, 1 to 720 hours (default 24)."`
}

// FleetHealth is the scanner fleet at a glance: counts, and each scanner with its recent
// metrics.
type FleetHealth struct {
	At            time.Time       `json:"at"`
	Online        int             `json:"online"`
	Offline       int             `json:"offline"`
	Disabled      int             `json:"disabled"`
	BucketSeconds int             `json:"bucket_seconds"`
	Scanners      []ScannerHealth `json:"scanners"`
}

// ScannerHealth is one scanner on the fleet health page.
type ScannerHealth struct {
	Scanner
	Stale bool `json:"stale" doc:"Online, but its last heartbeat is older than the offline window (MIPO_SCANNER_OFFLINE_AFTER, 2 minutes by default); it goes offline at the next check."`
	// NotPickingUp is the fault the features page asks to highlight: alive, but idle while
	// work it may take waits.
	NotPickingUp bool       `json:"not_picking_up" doc:"Online, yet jobs it could lease have waited in the queue for over 2 minutes."`
	WaitingJobs  int        `json:"waiting_jobs" doc:"Queued jobs it could lease that have waited for over 2 minutes."`
	Sparklines   Sparklines `json:"sparklines" doc:"Its CPU, memory and network I/O over the window, in buckets (bucket_seconds); its full history is at /api/v1/scanners/{id}/metrics."`
	// ProbesPerCPUSecond is what scanning costs the scanner's host.
	ProbesPerCPUSecond *float64 `json:"probes_per_cpu_second" doc:"Probes per CPU second of the scanner itself, over the jobs it finished in the window that reported their CPU seconds; null when none did."`
}

// maxFleet bounds how many scanners the health page shows: well above the 1,000 its benchmark
// answers within 100 ms.
const maxFleet = 2000

func (h *handlers) health(c echo.Context) error {
	hours := 24
	if v := c.QueryParam("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 720 {
			return app.Invalid("hours", "invalid_hours", "hours must be a whole number from 1 to 720")
		}
		hours = n
	}
	ctx := c.Request().Context()
	now := h.m.Clock.Now()
	from := now.Add(-time.Duration(hours) * time.Hour)
	// The sparklines come from the summarised history (scanner_metric_buckets), at the finest
	// step that gives at most maxSparkPoints buckets: one index range, a few dozen rows per
	// scanner, instead of aggregating every raw heartbeat of the window. The bucket holding from
	// is the first: it may begin a little before the window. They are read on a connection of
	// their own while the scanners and their jobs are read.
	step := stepFor(now.Sub(from))
	bucket := time.Duration(step) * time.Second
	type sparks struct {
		byScanner map[string]Sparklines
		err       error
	}
	sparksDone := make(chan sparks, 1)
	go func() {
		m, err := sparklines(ctx, h.pool(), step, from.Add(-bucket), now)
		sparksDone <- sparks{m, err}
	}()
	all, err := scanScanners(h.pool().Query(ctx, `SELECT `+scannerColumns+` FROM scanners s
		ORDER BY (CASE WHEN s.disabled THEN 2 WHEN s.online THEN 1 ELSE 0 END), lower(s.name) LIMIT $1`, maxFleet))
	if err != nil {
		return err
	}
	if err := h.withActiveJobs(ctx, all...); err != nil {
		return err
	}
	perCPU, err := jobsapi.ProbesPerCPUSecond(ctx, h.m.JobsDB, from)
	if err != nil {
		return err
	}
	ids := make([]string, len(all))
	for i, s := range all {
		ids[i] = s.ID
	}
	waiting, err := jobsapi.WaitingFor(ctx, h.m.JobsDB, ids, now.Add(-OfflineAfter))
	if err != nil {
		return err
	}
	sp := <-sparksDone
	if sp.err != nil {
		return sp.err
	}
	points := sp.byScanner
	out := FleetHealth{At: now, BucketSeconds: int(bucket / time.Second), Scanners: []ScannerHealth{}}
	for _, s := range all {
		switch s.Status {
		case StatusOnline:
			out.Online++
		case StatusOffline:
			out.Offline++
		default:
			out.Disabled++
		}
		sh := ScannerHealth{Scanner: *s, Sparklines: noSparklines()}
		if lines, ok := points[s.ID]; ok {
			sh.Sparklines = lines
		}
		if r, ok := perCPU[s.ID]; ok {
			sh.ProbesPerCPUSecond = &r
		}
		sh.WaitingJobs = waiting[s.ID]
		sh.NotPickingUp = s.Status == StatusOnline && sh.WaitingJobs > 0
		sh.Stale = s.Status == StatusOnline && s.LastSeenAt != nil && now.Sub(*s.LastSeenAt) > settingOfflineAfter.Get(h.m.Config)
		out.Scanners = append(out.Scanners, sh)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) healthRoutes() []app.Route {
	get := http.MethodGet
	return []app.Route{
		{Method: get, Path: "/api/v1/scanners/health", Scope: "scanners:view", Handler: h.health, Query: HealthQuery{}, Response: FleetHealth{},
			Summary: "Fleet health: every scanner's status, last heartbeat, jobs, and CPU, memory and network I/O over time"},
	}
}
