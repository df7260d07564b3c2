package health

import (
	"context"
	"encoding/json"
	"runtime"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// reportEvery is how often each role process writes its report.
const reportEvery = 15 * time.Second

// PoolReport is one database pool of a process.
type PoolReport struct {
	Size    int32 `json:"size" doc:"Connections open."`
	Max     int32 `json:"max"`
	InUse   int32 `json:"in_use"`
	Waiting int64 `json:"waiting" doc:"Acquires that had to wait for a connection, since start."`
	Errors  int64 `json:"errors" doc:"Connections that failed or were cancelled while acquiring, since start."`
}

// Report is what a process says about itself every 15 s.
type Report struct {
	CPUSeconds   float64               `json:"cpu_seconds" doc:"User and system CPU time since start."`
	CPUPercent   float64               `json:"cpu_percent" doc:"Over the last interval, of one core."`
	MemoryMB     float64               `json:"memory_mb" doc:"Memory obtained from the system by the Go runtime."`
	Goroutines   int                   `json:"goroutines"`
	RequestsPerS float64               `json:"requests_per_s" doc:"HTTP requests per second over the last interval."`
	LatencyMS    float64               `json:"latency_ms" doc:"Mean HTTP request latency over the last interval."`
	Pools        map[string]PoolReport `json:"pools"`
	Leads        map[string]time.Time  `json:"leads,omitempty" doc:"The leaderships this process holds (dispatcher), each with when its term began."`
}

// reporter measures its own process; lastCPU makes the CPU percentage a rate.
type reporter struct {
	m       *app.Mount
	started time.Time
	lastAt  time.Time
	lastCPU float64
	lastReq httpTotals
}

// httpTotals are the kernel's request counters, read from its registry.
type httpTotals struct{ count, seconds float64 }

func (r *reporter) httpTotals() httpTotals {
	var t httpTotals
	fams, err := r.m.Metrics().Gather()
	if err != nil {
		return t
	}
	for _, f := range fams {
		if f.GetName() == "mipo_http_request_duration_seconds" {
			for _, m := range f.GetMetric() {
				t.count += float64(m.GetHistogram().GetSampleCount())
				t.seconds += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return t
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// measure takes the process's figures now.
func (r *reporter) measure(now time.Time) Report {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep := Report{CPUSeconds: cpuSeconds(), MemoryMB: float64(ms.Sys) / (1 << 20), Goroutines: runtime.NumGoroutine(), Pools: map[string]PoolReport{},
		Leads: r.m.Leading()}
	req := r.httpTotals()
	if !r.lastAt.IsZero() && now.After(r.lastAt) {
		secs := now.Sub(r.lastAt).Seconds()
		rep.CPUPercent = (rep.CPUSeconds - r.lastCPU) * 100 / secs
		rep.RequestsPerS = (req.count - r.lastReq.count) / secs
		if n := req.count - r.lastReq.count; n > 0 {
			rep.LatencyMS = (req.seconds - r.lastReq.seconds) * 1000 / n
		}
	}
	r.lastAt, r.lastCPU, r.lastReq = now, rep.CPUSeconds, req
	for _, name := range app.DatabaseNames {
		if p := r.m.Databases().Pool(name); p != nil {
			st := p.Stat()
			rep.Pools[name] = PoolReport{Size: st.TotalConns(), Max: st.MaxConns(), InUse: st.AcquiredConns(),
				Waiting: st.EmptyAcquireCount(), Errors: st.CanceledAcquireCount()}
		}
	}
	return rep
}

// report writes the process's row and its history points.
func (r *reporter) report(ctx context.Context) error {
	now := r.m.Clock.Now()
	rep := r.measure(now)
	body, _ := json.Marshal(rep)
	db := r.m.JobsDB
	if _, err := db.Exec(ctx, `INSERT INTO health_processes (process, roles, version, started_at, reported_at, report)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (process) DO UPDATE SET roles = excluded.roles,
		version = excluded.version, reported_at = excluded.reported_at, report = excluded.report`,
		r.m.Process(), r.m.Config.Roles, app.Version, r.started, now, body); err != nil {
		return err
	}
	base := "process:" + r.m.Process() + "/"
	points := map[string]float64{base + "cpu_percent": rep.CPUPercent, base + "memory_mb": rep.MemoryMB, base + "goroutines": float64(rep.Goroutines),
		base + "requests_per_s": rep.RequestsPerS, base + "latency_ms": rep.LatencyMS}
	for name, p := range rep.Pools {
		points["database:"+name+"/pool_in_use"] = float64(p.InUse)
	}
	return Record(ctx, db, now, points)
}

// Process is one role process as the overview shows it.
type Process struct {
	Process    string    `json:"process" doc:"host:pid."`
	Roles      []string  `json:"roles"`
	Version    string    `json:"version"`
	StartedAt  time.Time `json:"started_at"`
	ReportedAt time.Time `json:"reported_at"`
	Report     Report    `json:"report"`
}

// processes lists the processes that reported since a time, by name.
func processes(ctx context.Context, db app.Querier, since time.Time) ([]Process, error) {
	rows, err := db.Query(ctx, `SELECT process, roles, version, started_at, reported_at, report
		FROM health_processes WHERE reported_at >= $1 ORDER BY process`, since)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Process])
	if out == nil {
		out = []Process{}
	}
	return out, err
}
