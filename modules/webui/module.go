// Package webui serves mipo's web interface (the embedded build in package ui) from the manager
// role: hashed assets with a year-long immutable cache, and index.html for every other page
// path, so the single-page app's own routes (/users, /audit, /docs/audit …) load on a reload or
// a bookmark. Everything is sent under a strict Content-Security-Policy: scripts, styles and
// connections from this origin only, nothing inline.
//
// It never answers for the API, the scanner API or the health endpoints: a path under /api/ or
// /scanner/ that no route claims gets the API's own JSON 404, never index.html.
package webui

import (
	"io/fs"
	"net/http"

	"mipo/app"
	"mipo/ui"
)

// Module is the web interface module; it registers itself in init.
var Module = app.Module{
	Name:      "webui",
	Provision: provision,
}

func init() { app.Register(Module) }

func provision(m *app.Mount) error {
	s, err := newSite(ui.DistDirFS)
	if err != nil {
		return err
	}
	m.Routes(s.routes()...)
	return nil
}

// Reading the route table's methods: GET and HEAD serve the interface; the other methods are
// declared on the fallback only so that a mistyped API path answers 404, as it would without
// this module, instead of 405.
var fallbackMethods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func (s *site) routes() []app.Route {
	var rs []app.Route
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rs = append(rs,
			app.Route{Method: method, Path: "/assets/*", Scope: app.Public, Handler: s.asset,
				Summary: "The web interface's scripts, styles and images (content-hashed, cached for a year).", Produces: "application/octet-stream"},
			app.Route{Method: method, Path: "/*", Scope: app.Public, Handler: s.page,
				Summary: "The web interface: index.html for every page path, or a top-level file such as favicon.svg.", Produces: "text/html"},
		)
	}
	for _, method := range fallbackMethods {
		rs = append(rs, app.Route{Method: method, Path: "/*", Scope: app.Public, Tx: app.TxNone, Handler: notFound,
			Summary: "No route: the API's 404."})
	}
	return rs
}

var _ fs.FS = ui.DistDirFS
