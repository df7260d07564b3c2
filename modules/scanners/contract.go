package scanners

import "mipo/modules/scanners/scannersapi"

// The scanners module's side of its contract (scannersapi): the shared types under their old
// names here, and the calls other modules make, filled in with this package's functions.

type (
	Scanner         = scannersapi.Scanner
	Capacity        = scannersapi.Capacity
	Metrics         = scannersapi.Metrics
	GroupRef        = scannersapi.GroupRef
	Counts          = scannersapi.Counts
	RegisteredAt    = scannersapi.RegisteredAt
	Identity        = scannersapi.Identity
	Refusal         = scannersapi.Refusal
	Registration    = scannersapi.Registration
	Registered      = scannersapi.Registered
	HeartbeatReport = scannersapi.HeartbeatReport
	Emitter         = scannersapi.Emitter
	StatusEvent     = scannersapi.StatusEvent
	ASNDatabase     = scannersapi.ASNDatabase
)

const (
	EventOnline     = scannersapi.EventOnline
	EventOffline    = scannersapi.EventOffline
	EventRegistered = scannersapi.EventRegistered
)

func init() {
	scannersapi.Get, scannersapi.Healthy, scannersapi.GroupMembers = Get, Healthy, GroupMembers
	scannersapi.CountByStatus, scannersapi.Registrations = CountByStatus, Registrations
	scannersapi.Authenticate, scannersapi.Register, scannersapi.Heartbeat = Authenticate, Register, Heartbeat
	scannersapi.HeartbeatSeconds = HeartbeatSeconds
}
