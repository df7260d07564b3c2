package config

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/config/catalog"
)

// CatalogQuery is the query of GET /api/v1/port-catalog.
type CatalogQuery struct {
	app.ListQuery
	Q     string `query:"q" json:"q,omitempty" doc:"A port number, a service name or words of a description; best matches first unless sort is given."`
	Ports string `query:"ports" json:"ports,omitempty" doc:"Only these ports, written as in a port list (22,80,8000-8100): what a list's ports are."`
}

func catalogRoute() app.Route {
	return app.Route{Method: http.MethodGet, Path: "/api/v1/port-catalog", Scope: "ports:view", Handler: serveCatalog,
		Query: CatalogQuery{}, Response: app.Page[catalog.Entry]{},
		Summary: "The built-in port catalog: well-known TCP ports with their service names, searchable by number and name"}
}

func serveCatalog(c echo.Context) error {
	l, err := app.ParseList(c, "port", "name")
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	entries := catalog.All()
	if q != "" {
		entries = catalog.Search(q, 0)
	}
	if raw := c.QueryParam("ports"); raw != "" {
		set, err := parsePorts("ports", raw)
		if err != nil {
			return err
		}
		entries = slices.DeleteFunc(entries, func(e catalog.Entry) bool { return !set.Contains(e.Port) })
	}
	// A search keeps its best-first order unless a sort is asked for.
	if q == "" || c.QueryParam("sort") != "" {
		sortEntries(entries, l)
	}
	end := min(len(entries), l.Offset+l.Limit+1)
	return c.JSON(http.StatusOK, app.Paginate(l, entries[min(l.Offset, end):end]))
}

func sortEntries(es []catalog.Entry, l app.List) {
	slices.SortStableFunc(es, func(a, b catalog.Entry) int {
		n := cmp.Compare(a.Port, b.Port)
		if l.Sort == "name" {
			n = cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), n)
		}
		if l.Desc {
			return -n
		}
		return n
	})
}
