package config

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
)

// TemplateSpec is a scan template as the API takes it: what to scan (targets minus
// exclusions), which ports, with which scanners, and how fast.
type TemplateSpec struct {
	Base
	Subnets        []string `json:"subnets,omitempty" doc:"Ids of the subnets to scan."`
	SubnetGroups   []string `json:"subnet_groups,omitempty" doc:"Ids of the subnet groups to scan, nested groups included."`
	Exclusions     []string `json:"exclusions,omitempty" doc:"Ids of exclusions subtracted from this template's targets; global exclusions are subtracted from every template anyway."`
	PortLists      []string `json:"port_lists,omitempty" doc:"Ids of the port lists to scan."`
	PortListGroups []string `json:"port_list_groups,omitempty" doc:"Ids of the port list groups to scan."`
	Scanners       Scanners `json:"scanners,omitempty" doc:"Which scanners run the scans. Default: pool mode, no scanners named yet."`
	Timing         Timing   `json:"timing,omitempty" doc:"How fast and for how long; absent fields take their defaults."`
}

// Scanners says which scanners run a template's scans. Scanner and scanner group ids belong to
// the scanners module; they are kept here as ids.
type Scanners struct {
	Mode            string   `json:"mode" doc:"pool: the scope is split into batches shared among the scanners; vantage: every scanner of each scanner group scans the whole scope, to compare what each vantage point sees."`
	ScannerIDs      []string `json:"scanner_ids,omitempty" doc:"pool mode: ids of the scanners that share the work. A template may be saved without any, but not launched."`
	ScannerGroupIDs []string `json:"scanner_group_ids,omitempty" doc:"vantage mode: ids of the scanner groups, at least one."`
}

// Timing is how fast and for how long a template's scans run.
type Timing struct {
	RateLimit          int `json:"rate_limit" doc:"Connection attempts per second per scanner, 0 to 1000000; 0 leaves it to the scanner's own maximum. Default 1000."`
	TimeoutMS          int `json:"timeout_ms" doc:"How long to wait for a port to answer, 50 to 60000 milliseconds. Default 1000."`
	Retries            int `json:"retries" doc:"Extra attempts at a port that did not answer, 0 to 10. Default 1."`
	MaxDurationSeconds int `json:"max_duration_seconds" doc:"A scan job is stopped after this many seconds, 0 to 31622400 (366 days); 0 means no limit. Default 86400 (a day)."`
}

// Template is a scan template as the API shows it.
type Template struct {
	Meta
	TemplateSpec
}

// TemplateQuery is the query of GET /api/v1/templates.
type TemplateQuery struct {
	ObjectQuery
	Scanner string `query:"scanner" json:"scanner,omitempty" doc:"Only templates that name this scanner or scanner group id."`
}

// ScopeView is a template's resolved scope as GET /api/v1/templates/{id}/scope shows it.
type ScopeView struct {
	TemplateID      string    `json:"template_id"`
	TemplateVersion int       `json:"template_version"`
	TemplateName    string    `json:"template_name"`
	At              time.Time `json:"at"`
	Targets         []string  `json:"targets" doc:"The addresses to scan as merged intervals, each an address, a CIDR or first-last."`
	HostCount       string    `json:"host_count" doc:"Addresses to scan, as a decimal string."`
	Ports           string    `json:"ports"`
	PortCount       int       `json:"port_count"`
	Scanners        Scanners  `json:"scanners"`
	Timing          Timing    `json:"timing"`
}

// ScopeQuery is the query of GET /api/v1/templates/{id}/scope.
type ScopeQuery struct {
	At string `query:"at" json:"at,omitempty" doc:"An RFC 3339 time: the scope as the template meant it then. Default: now."`
}

// Scanner modes.
const (
	ModePool    = "pool"
	ModeVantage = "vantage"
)

// Bounds of the timing settings; the scanner refuses jobs outside them too.
const (
	maxRateLimit   = 1_000_000
	minTimeoutMS   = 50
	maxTimeoutMS   = 60_000
	maxRetries     = 10
	maxDurationSec = 366 * 24 * 3600
)

func newTemplateSpec() TemplateSpec {
	return TemplateSpec{Scanners: Scanners{Mode: ModePool},
		Timing: Timing{RateLimit: 1000, TimeoutMS: 1000, Retries: 1, MaxDurationSeconds: 24 * 3600}}
}

func (s *TemplateSpec) validate() error {
	for _, f := range []struct {
		field string
		ids   *[]string
	}{{"subnets", &s.Subnets}, {"subnet_groups", &s.SubnetGroups}, {"exclusions", &s.Exclusions},
		{"port_lists", &s.PortLists}, {"port_list_groups", &s.PortListGroups},
		{"scanners.scanner_ids", &s.Scanners.ScannerIDs}, {"scanners.scanner_group_ids", &s.Scanners.ScannerGroupIDs}} {
		ids, err := checkIDs(f.field, *f.ids)
		if err != nil {
			return err
		}
		*f.ids = ids
	}
	if len(s.Subnets)+len(s.SubnetGroups) == 0 {
		return app.Invalid("subnets", "no_targets", "a template needs at least one subnet or subnet group to scan")
	}
	if len(s.PortLists)+len(s.PortListGroups) == 0 {
		return app.Invalid("port_lists", "no_ports", "a template needs at least one port list or port list group")
	}
	if err := s.Scanners.validate(); err != nil {
		return err
	}
	return s.Timing.validate()
}

func (s *Scanners) validate() error {
	switch s.Mode {
	case ModePool:
		if len(s.ScannerGroupIDs) > 0 {
			return app.Invalid("scanners.scanner_group_ids", "wrong_mode", "scanner groups belong to vantage mode; in pool mode list scanners in scanner_ids")
		}
	case ModeVantage:
		if len(s.ScannerIDs) > 0 {
			return app.Invalid("scanners.scanner_ids", "wrong_mode", "single scanners belong to pool mode; in vantage mode list scanner groups in scanner_group_ids")
		}
		if len(s.ScannerGroupIDs) == 0 {
			return app.Invalid("scanners.scanner_group_ids", "no_scanner_groups", "vantage mode needs at least one scanner group")
		}
	default:
		return app.Invalid("scanners.mode", "invalid_mode", "mode must be pool or vantage")
	}
	return nil
}

func (t *Timing) validate() error {
	if err := intIn("timing.rate_limit", t.RateLimit, 0, maxRateLimit, " attempts a second (0: the scanner's maximum)"); err != nil {
		return err
	}
	if err := intIn("timing.timeout_ms", t.TimeoutMS, minTimeoutMS, maxTimeoutMS, " milliseconds"); err != nil {
		return err
	}
	if err := intIn("timing.retries", t.Retries, 0, maxRetries, ""); err != nil {
		return err
	}
	return intIn("timing.max_duration_seconds", t.MaxDurationSeconds, 0, maxDurationSec, " seconds (0: no limit)")
}

func (s *TemplateSpec) references() []refField {
	return []refField{{"subnets", kindSubnet, s.Subnets}, {"subnet_groups", kindSubnetGroup, s.SubnetGroups},
		{"exclusions", kindExclusion, s.Exclusions}, {"port_lists", kindPortList, s.PortLists},
		{"port_list_groups", kindPortListGroup, s.PortListGroups}}
}

func newTemplates(e *env) *family[TemplateSpec, *TemplateSpec, Template] {
	return &family[TemplateSpec, *TemplateSpec, Template]{
		kind: kindTemplate, path: "/api/v1/templates", plural: "templates", view: "templates:view", edit: "templates:write",
		query:    TemplateQuery{},
		sorts:    []string{"name", "created_at", "updated_at"},
		filter:   filterTemplates,
		defaults: newTemplateSpec,
		present: func(_ context.Context, _ app.Querier, objs []object[TemplateSpec]) ([]Template, error) {
			out := make([]Template, len(objs))
			for i, o := range objs {
				out[i] = Template{Meta: o.Meta, TemplateSpec: o.Spec}
			}
			return out, nil
		},
		verify: verifyTemplate,
		env:    e,
	}
}

func filterTemplates(c echo.Context, w *app.Where) error {
	if id := c.QueryParam("scanner"); id != "" {
		if !isUUID(id) {
			return app.Invalid("scanner", "invalid_id", "scanner must be a scanner or scanner group id")
		}
		p := w.Arg(id)
		w.Add("(o.spec->'scanners'->'scanner_ids' ? " + p + " OR o.spec->'scanners'->'scanner_group_ids' ? " + p + ")")
	}
	return nil
}

// scopeRoute shows what a template resolves to, now or at a past moment: the same
// ResolveScope a scan freezes.
func scopeRoute(e *env) app.Route {
	return app.Route{Method: http.MethodGet, Path: "/api/v1/templates/:id/scope", Scope: "templates:view", Query: ScopeQuery{}, Response: ScopeView{},
		Summary: "What a template resolves to, now or at a past moment: merged address intervals minus exclusions, and ports",
		Handler: func(c echo.Context) error {
			at := e.now()
			if raw := c.QueryParam("at"); raw != "" {
				t, err := time.Parse(time.RFC3339Nano, raw)
				if err != nil {
					return app.Invalid("at", "invalid_time", "at must be an RFC 3339 time such as 2024-05-01T12:00:00Z")
				}
				at = t
			}
			s, err := ResolveScope(c.Request().Context(), e.pool(), c.Param("id"), at)
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, viewScope(s))
		}}
}

func viewScope(s *Scope) ScopeView {
	ivs := s.Targets.Intervals()
	targets := make([]string, len(ivs))
	for i, iv := range ivs {
		targets[i] = iv.String()
	}
	return ScopeView{TemplateID: s.TemplateID, TemplateVersion: s.TemplateVersion, TemplateName: s.TemplateName, At: s.At,
		Targets: targets, HostCount: s.Targets.Count().String(), Ports: s.Ports.String(), PortCount: s.Ports.Count(),
		Scanners: Scanners{Mode: s.ScannerMode, ScannerIDs: s.ScannerIDs, ScannerGroupIDs: s.ScannerGroupIDs},
		Timing:   Timing{RateLimit: s.RateLimit, TimeoutMS: s.TimeoutMS, Retries: s.Retries, MaxDurationSeconds: s.MaxDurationSeconds}}
}
