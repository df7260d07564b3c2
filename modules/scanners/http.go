package scanners

import (
	"mipo/app"
)

type handlers struct {
	m   *app.Mount
	asn *ASNDatabase
}

func (h *handlers) pool() app.ConfigDB { return h.m.ConfigDB }

// routes gathers the module's routes, declared beside the handlers of each resource.
func (h *handlers) routes() []app.Route {
	var out []app.Route
	for _, rs := range [][]app.Route{h.scannerRoutes(), h.healthRoutes(), h.firewallRoutes(), h.installRoutes(), h.tokenRoutes(), h.groupRoutes()} {
		out = append(out, rs...)
	}
	return out
}
