package scanners

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"mipo/app"
)

type handlers struct {
	m   *app.Mount
	asn *ASNDatabase
}

func (h *handlers) pool() *pgxpool.Pool { return h.m.DB.Config }

// routes gathers the module's routes, declared beside the handlers of each resource.
func (h *handlers) routes() []app.Route {
	var out []app.Route
	for _, rs := range [][]app.Route{h.scannerRoutes(), h.healthRoutes(), h.firewallRoutes(), h.installRoutes(), h.tokenRoutes(), h.groupRoutes()} {
		out = append(out, rs...)
	}
	return out
}
