package scans

import (
	"math/rand/v2"

	"mipo/app"
)

type handlers struct {
	m         *app.Mount
	maxProbes int64
	rnd       *rand.Rand
}

// routes gathers the module's routes, declared beside the handlers of each resource.
func (h *handlers) routes() []app.Route { return append(h.scanRoutes(), h.scheduleRoutes()...) }
