package health

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/ingest/ingestapi"
)

// Node statuses, as colours on the overview.
const (
	StatusOK      = "ok"      // green
	StatusStale   = "stale"   // amber: no report or check recently
	StatusDown    = "down"    // red
	StatusUnknown = "unknown" // grey: nothing known yet (or the jobs database, which holds it, is down)
)

// staleAfter: a process or ingest node silent for this long is amber; three times, red.
const staleAfter = 45 * time.Second

// Node is one box of the architecture overview.
type Node struct {
	ID        string         `json:"id" doc:"edge, manager, ingest:<host:pid>, dispatcher, backup, database:config|results|jobs, dns:public, dns:internal, tls."`
	Label     string         `json:"label"`
	Status    string         `json:"status" doc:"ok, stale, down or unknown."`
	CheckedAt time.Time      `json:"checked_at" doc:"The last check or report; zero when none."`
	Detail    any            `json:"detail"`
	Check     map[string]any `json:"check,omitempty" doc:"For the dispatcher and backup nodes, whose detail lists their processes: the probe's last outcome (dispatcher: leader, process, since; backup: each kind's last outcome)."`
}

// Edge is an arrow of the overview (the seeds' topology).
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Overview is the architecture overview.
type Overview struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// overview assembles the nodes from the in-memory probes and the jobs database's reports; a
// jobs database that does not answer leaves the process nodes unknown, not the page broken.
func (h *handlers) overview(ctx context.Context) Overview {
	now := h.m.Clock.Now()
	var out Overview
	probes := map[string]Probe{}
	for _, p := range h.probes.Probes() {
		probes[p.Component] = p
	}
	fromProbe := func(id, label string) {
		p, ok := probes[id]
		n := Node{ID: id, Label: label, Status: StatusUnknown}
		if ok {
			n.Status, n.CheckedAt, n.Detail = StatusDown, p.CheckedAt, p.Detail
			if p.OK {
				n.Status = age(now, p.CheckedAt, 3*probeEvery)
			}
		}
		out.Nodes = append(out.Nodes, n)
	}
	fromProbe("edge", "Edge (reverse proxy)")
	procs, perr := processes(ctx, h.m.JobsDB, now.Add(-24*time.Hour))
	for _, role := range []string{app.RoleManager, app.RoleDispatcher, app.RoleBackup} {
		n := Node{ID: role, Label: strings.ToUpper(role[:1]) + role[1:], Status: StatusUnknown}
		if perr == nil {
			var mine []Process
			for _, p := range procs {
				if hasRole(p.Roles, role) {
					mine = append(mine, p)
					if p.ReportedAt.After(n.CheckedAt) {
						n.CheckedAt = p.ReportedAt
					}
				}
			}
			n.Detail = mine
			if len(mine) > 0 {
				n.Status = age(now, n.CheckedAt, staleAfter)
			} else if role != app.RoleBackup {
				n.Status = StatusDown
			}
		}
		// The dispatcher needs a leader and backups must keep their schedule, whatever the
		// processes' reports say.
		if p, ok := probes[role]; ok && role != app.RoleManager {
			n.Check = p.Detail
			if !p.OK {
				n.Status, n.CheckedAt = StatusDown, p.CheckedAt
			}
		}
		out.Nodes = append(out.Nodes, n)
	}
	nodes, ierr := ingestapi.Nodes(ctx, h.m.JobsDB)
	for _, in := range nodes {
		if now.Sub(in.UpdatedAt) > 24*time.Hour {
			continue
		}
		out.Nodes = append(out.Nodes, Node{ID: "ingest:" + in.Node, Label: "Ingest " + in.Node, Status: age(now, in.UpdatedAt, staleAfter), CheckedAt: in.UpdatedAt, Detail: in})
		out.Edges = append(out.Edges, Edge{"edge", "ingest:" + in.Node}, Edge{"ingest:" + in.Node, app.RoleDispatcher})
	}
	if ierr != nil || len(nodes) == 0 {
		out.Nodes = append(out.Nodes, Node{ID: "ingest", Label: "Ingest", Status: StatusUnknown})
		out.Edges = append(out.Edges, Edge{"edge", "ingest"}, Edge{"ingest", app.RoleDispatcher})
	}
	for _, db := range app.DatabaseNames {
		fromProbe("database:"+db, "Database "+db)
		out.Edges = append(out.Edges, Edge{app.RoleBackup, "database:" + db})
	}
	fromProbe("dns:public", "DNS (public)")
	fromProbe("dns:internal", "DNS (internal)")
	fromProbe("tls", "TLS certificate")
	out.Edges = append(out.Edges, Edge{"edge", app.RoleManager})
	return out
}

func hasRole(roles []string, role string) bool {
	for _, r := range roles {
		if r == role || r == app.RoleAll {
			return true
		}
	}
	return false
}

// age is ok while the last sign of life is recent, stale after, down after three times.
func age(now, at time.Time, fresh time.Duration) string {
	switch d := now.Sub(at); {
	case d <= fresh:
		return StatusOK
	case d <= 3*fresh:
		return StatusStale
	default:
		return StatusDown
	}
}

// Component is a component's page: its node and its series.
type Component struct {
	Node   Node               `json:"node"`
	Series map[string][]Point `json:"series" doc:"Each metric's history over the asked window, oldest first."`
}

// ComponentQuery picks the window of a component page.
type ComponentQuery struct {
	Hours int `query:"hours" doc:"How far back, in hours (1 to 8760); default 24."`
}

func (h *handlers) getOverview(c echo.Context) error {
	return c.JSON(http.StatusOK, h.overview(c.Request().Context()))
}

func (h *handlers) getComponent(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	// Ids hold colons (database:jobs), which clients may send escaped; echo leaves params raw.
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	q := ComponentQuery{Hours: 24}
	if v := c.QueryParam("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 8760 {
			return app.Invalid("hours", "out_of_range", "hours must be a whole number from 1 to 8760")
		}
		q.Hours = n
	}
	var node *Node
	for _, n := range h.overview(ctx).Nodes {
		if n.ID == id {
			node = &n
			break
		}
	}
	if node == nil {
		return app.NotFound("component " + id)
	}
	now := h.m.Clock.Now()
	series, err := History(ctx, h.m.JobsDB, id, now.Add(-time.Duration(q.Hours)*time.Hour), now)
	if err != nil {
		return err
	}
	out := Component{Node: *node, Series: series}
	return c.JSON(http.StatusOK, out)
}
