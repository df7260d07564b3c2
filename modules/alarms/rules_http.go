package alarms

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) ruleRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/alarm-rules", Scope: "alarms:view", Handler: h.listRules, Response: app.Page[RuleView]{},
			Summary: "The built-in alarm rules, each with its defaults and the override in force"},
		{Method: http.MethodGet, Path: "/api/v1/alarm-rules/:id", Scope: "alarms:view", Handler: h.getRule, Response: RuleView{},
			Summary: "One alarm rule"},
		{Method: http.MethodPatch, Path: "/api/v1/alarm-rules/:id", Scope: "alarms:manage", Handler: h.updateRule, Request: RuleUpdate{}, Response: RuleView{},
			Summary:     "Override a rule's severity, thresholds or escalation window, disable it, or reset it to its defaults",
			Description: "Built-in rules cannot be deleted; disable one instead."},
	}
}

func (h *handlers) listRules(c echo.Context) error {
	rules, err := loadRules(c.Request().Context(), h.svc.DB.Config)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[RuleView]{Items: rules})
}

func (h *handlers) getRule(c echo.Context) error {
	rules, err := loadRules(c.Request().Context(), h.svc.DB.Config)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.ID == c.Param("id") {
			return c.JSON(http.StatusOK, r)
		}
	}
	return app.NotFound("alarm rule")
}

func (h *handlers) updateRule(c echo.Context) error {
	var in RuleUpdate
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := updateRule(ctx, tx, c.Param("id"), in, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm_rule.update", ResourceType: "alarm_rule", ResourceID: after.ID,
		Before: before, After: after}); err != nil {
		return err
	}
	app.ChangeFrom(ctx).AfterCommit(func(ctx context.Context) { h.svc.rules.invalidate() })
	return c.JSON(http.StatusOK, after)
}
