package alarms

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// AlarmQuery filters the alarm list.
type AlarmQuery struct {
	app.ListQuery
	State     string `query:"state" json:"state,omitempty" doc:"open, acknowledged, resolved, or unresolved (open and acknowledged)."`
	Severity  string `query:"severity" json:"severity,omitempty" doc:"One severity, or several separated by commas."`
	Rule      string `query:"rule" json:"rule,omitempty" doc:"A rule id."`
	Component string `query:"component" json:"component,omitempty"`
	Q         string `query:"q" json:"q,omitempty" doc:"Text in the summary, key or subject."`
}

// AlarmDetail is one alarm with its timeline and its earlier occurrences' ids.
type AlarmDetail struct {
	Alarm
	RuleName string       `json:"rule_name"`
	Timeline []Transition `json:"timeline"`
}

// Comment goes with an acknowledgement or a resolution.
type Comment struct {
	Comment string `json:"comment,omitempty" doc:"Up to 1000 characters, kept in the timeline."`
}

// BulkAcknowledge acknowledges several alarms at once.
type BulkAcknowledge struct {
	IDs     []string `json:"ids" doc:"1 to 500 alarm ids."`
	Comment string   `json:"comment,omitempty"`
}

// BulkResult says which alarms an acknowledgement changed; the rest were not open.
type BulkResult struct {
	Acknowledged []*Alarm `json:"acknowledged"`
	Skipped      int      `json:"skipped" doc:"Alarms already acknowledged or resolved."`
}

var alarmSorts = []string{"-last_seen_at", "first_seen_at", "severity", "count", "state"}

func (h *handlers) alarmRoutes() []app.Route {
	get, post := http.MethodGet, http.MethodPost
	return []app.Route{
		{Method: get, Path: "/api/v1/alarms", Scope: "alarms:view", Handler: h.listAlarms, Query: AlarmQuery{}, Response: app.Page[*Alarm]{},
			Summary: "List alarms, newest activity first, filtered by state, severity, rule, component or text"},
		{Method: get, Path: "/api/v1/alarms/summary", Scope: "alarms:view", Handler: h.summary, Response: OpenCount{},
			Summary: "How many alarms are open and acknowledged (the count in the navigation)"},
		{Method: post, Path: "/api/v1/alarms/acknowledge", Scope: "alarms:manage", Handler: h.bulkAcknowledge, Request: BulkAcknowledge{}, Response: BulkResult{},
			Summary: "Acknowledge several alarms with one comment; alarms that are not open are skipped"},
		{Method: get, Path: "/api/v1/alarms/:id", Scope: "alarms:view", Handler: h.getAlarm, Response: AlarmDetail{},
			Summary: "One alarm with its timeline: opened, escalated, acknowledged, resolved, and where each was sent"},
		{Method: post, Path: "/api/v1/alarms/:id/acknowledge", Scope: "alarms:manage", Handler: h.acknowledge, Request: Comment{}, Response: Alarm{},
			Summary: "Acknowledge an open alarm: someone is on it; it stops escalating"},
		{Method: post, Path: "/api/v1/alarms/:id/resolve", Scope: "alarms:manage", Handler: h.resolve, Request: Comment{}, Response: Alarm{},
			Summary: "Resolve an alarm by hand, for faults whose recovery sends no event"},
	}
}

func (h *handlers) listAlarms(c echo.Context) error {
	l, err := app.ParseList(c, alarmSorts...)
	if err != nil {
		return err
	}
	var w app.Where
	switch st := c.QueryParam("state"); st {
	case "":
	case "unresolved":
		w.Add("a.state <> 'resolved'")
	case StateOpen, StateAcknowledged, StateResolved:
		w.Add("a.state = " + w.Arg(st))
	default:
		return app.Invalid("state", "invalid_state", "state must be open, acknowledged, resolved or unresolved")
	}
	if v := c.QueryParam("severity"); v != "" {
		sevs := strings.Split(v, ",")
		for _, s := range sevs {
			if !slices.Contains(Severities, s) {
				return app.Invalid("severity", "invalid_severity", "severity must be among "+strings.Join(Severities, ", "))
			}
		}
		w.Add("a.severity = ANY(" + w.Arg(sevs) + ")")
	}
	if v := c.QueryParam("rule"); v != "" {
		if _, ok := ruleByID(v); !ok {
			return app.Invalid("rule", "unknown_rule", "no rule "+v)
		}
		w.Add("a.rule_id = " + w.Arg(v))
	}
	if v := c.QueryParam("component"); v != "" {
		w.Add("a.component = " + w.Arg(v))
	}
	if v := c.QueryParam("q"); v != "" {
		p := w.Arg(app.Contains(v))
		w.Add("(a.summary ILIKE " + p + " OR a.key ILIKE " + p + " OR a.subject ILIKE " + p + ")")
	}
	order := "a." + l.Sort + " " + l.Direction()
	if l.Sort == "severity" {
		order = "array_position(" + severityOrder + ", a.severity) " + l.Direction()
	}
	ctx := c.Request().Context()
	rows, err := h.svc.DB.Config.Query(ctx, `SELECT `+alarmColumns+` FROM alarms a WHERE `+w.SQL()+` ORDER BY `+order+`, a.id
		LIMIT `+w.Arg(l.Limit+1)+` OFFSET `+w.Arg(l.Offset), w.Args()...)
	list, err := app.Collect(rows, err, scanAlarm)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Paginate(l, list))
}

func (h *handlers) summary(c echo.Context) error {
	out, err := openCount(c.Request().Context(), h.svc.DB.Config)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) getAlarm(c echo.Context) error {
	ctx := c.Request().Context()
	a, err := Get(ctx, h.svc.DB.Config, c.Param("id"))
	if err != nil {
		return err
	}
	tl, err := Timeline(ctx, h.svc.DB.Config, a.ID)
	if err != nil {
		return err
	}
	r, _ := ruleByID(a.RuleID)
	return c.JSON(http.StatusOK, AlarmDetail{Alarm: *a, RuleName: r.Name, Timeline: tl})
}

func checkComment(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 1000 {
		return "", app.Invalid("comment", "too_long", "comment is at most 1000 characters")
	}
	return s, nil
}

func (h *handlers) acknowledge(c echo.Context) error {
	var in Comment
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	comment, err := checkComment(in.Comment)
	if err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, err := Get(ctx, tx, c.Param("id"))
	if err != nil {
		return err
	}
	if before.State != StateOpen {
		return app.Conflict("not_open", "the alarm is "+before.State+"; only open alarms can be acknowledged")
	}
	changed, err := Acknowledge(ctx, tx, []string{before.ID}, comment, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm.acknowledge", ResourceType: "alarm", ResourceID: before.ID,
		Before: before, After: changed[0], Detail: map[string]any{"comment": comment}}); err != nil {
		return err
	}
	app.ChangeFrom(ctx).AfterCommit(func(context.Context) { h.svc.poke() })
	return c.JSON(http.StatusOK, changed[0])
}

func (h *handlers) bulkAcknowledge(c echo.Context) error {
	var in BulkAcknowledge
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	if len(in.IDs) == 0 || len(in.IDs) > 500 {
		return app.Invalid("ids", "invalid_ids", "give 1 to 500 alarm ids")
	}
	comment, err := checkComment(in.Comment)
	if err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	changed, err := Acknowledge(ctx, tx, in.IDs, comment, h.m.Clock.Now())
	if err != nil {
		return err
	}
	ids := make([]string, len(changed))
	for i, a := range changed {
		ids[i] = a.ID
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm.acknowledge", ResourceType: "alarm", ResourceID: strings.Join(ids, ","),
		Detail: map[string]any{"comment": comment, "acknowledged": ids, "requested": len(uniq(in.IDs))}}); err != nil {
		return err
	}
	app.ChangeFrom(ctx).AfterCommit(func(context.Context) { h.svc.poke() })
	if changed == nil {
		changed = []*Alarm{}
	}
	return c.JSON(http.StatusOK, BulkResult{Acknowledged: changed, Skipped: len(uniq(in.IDs)) - len(changed)})
}

func (h *handlers) resolve(c echo.Context) error {
	var in Comment
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	comment, err := checkComment(in.Comment)
	if err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := Resolve(ctx, tx, c.Param("id"), comment, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm.resolve", ResourceType: "alarm", ResourceID: after.ID,
		Before: before, After: after, Detail: map[string]any{"comment": comment}}); err != nil {
		return err
	}
	app.ChangeFrom(ctx).AfterCommit(func(context.Context) { h.svc.poke() })
	return c.JSON(http.StatusOK, after)
}
