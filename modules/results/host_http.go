package results

import (
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"

	"mipo/app"
)

// HostQuery names the address of a host page.
type HostQuery struct {
	Address string `query:"address" json:"address" doc:"The address (IPv4 or IPv6)."`
}

// SearchQuery is what was typed in the search box.
type SearchQuery struct {
	Q string `query:"q" json:"q" doc:"An address, a CIDR, a port number or a service name."`
}

func (h *handlers) hostRoutes() []app.Route {
	get := http.MethodGet
	return []app.Route{
		{Method: get, Path: "/api/v1/results/host", Scope: "results:view", Handler: h.host, Query: HostQuery{}, Response: Host{},
			Summary: "Everything known of one address: per scanner, every port ever seen open, with its timeline"},
		{Method: get, Path: "/api/v1/search", Scope: "results:view", Handler: h.search, Query: SearchQuery{}, Response: Search{},
			Summary: "Reads an address, a CIDR, a port or a service name, and names the page that answers it"},
	}
}

func (h *handlers) host(c echo.Context) error {
	ctx := c.Request().Context()
	addr, err := netip.ParseAddr(c.QueryParam("address"))
	if err != nil || addr.Zone() != "" {
		return app.Invalid("address", "invalid_address", "address must be an IPv4 or IPv6 address")
	}
	refs, err := scanSource().Completed(ctx, h.m.ConfigDB, "")
	if err != nil {
		return err
	}
	host, err := HostHistory(ctx, h.m.ResultsDB, addr, refs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, host)
}

func (h *handlers) search(c echo.Context) error {
	s, err := ParseSearch(c.QueryParam("q"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}
