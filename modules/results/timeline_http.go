package results

import (
	"net/http"
	"net/netip"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"mipo/app"
)

// TimelineQuery asks for one address's port history.
type TimelineQuery struct {
	Address  string `query:"address" json:"address" doc:"The address (IPv4 or IPv6)."`
	Template string `query:"template" json:"template,omitempty" doc:"Only scans of this template (id); default: every completed scan."`
}

// AddressTimeline is an address's port history.
type AddressTimeline struct {
	Address string         `json:"address"`
	Scans   int            `json:"scans" doc:"Completed scans considered."`
	Ports   []PortTimeline `json:"ports"`
}

func (h *handlers) timelineRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/results/timeline", Scope: "results:view", Handler: h.timeline, Query: TimelineQuery{}, Response: AddressTimeline{},
			Summary: "When each port of an address was first seen open, and when it closed"},
	}
}

func (h *handlers) timeline(c echo.Context) error {
	ctx := c.Request().Context()
	addr, err := netip.ParseAddr(c.QueryParam("address"))
	if err != nil || addr.Zone() != "" {
		return app.Invalid("address", "invalid_address", "address must be an IPv4 or IPv6 address")
	}
	tmpl := c.QueryParam("template")
	if _, err := uuid.Parse(tmpl); tmpl != "" && err != nil {
		return app.Invalid("template", "invalid_id", "template must be an id")
	}
	refs, err := scanSource().Completed(ctx, h.m.ConfigDB, tmpl)
	if err != nil {
		return err
	}
	ports, err := Timeline(ctx, h.m.ResultsDB, addr, refs)
	if err != nil {
		return err
	}
	if ports == nil {
		ports = []PortTimeline{}
	}
	return c.JSON(http.StatusOK, AddressTimeline{Address: addr.Unmap().String(), Scans: len(refs), Ports: ports})
}
