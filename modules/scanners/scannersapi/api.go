// Package scannersapi is the scanners module's contract with the other modules: the types they
// share with it, the calls they may make, and the pure pieces they use too (the ASN database,
// the scanner installer). It holds no SQL: the scanners module fills in the calls from its
// init() (main.go links every module in), so a module that uses scanners does not build the
// scanners module's store code into itself (house_test.go TestModulesBuildNoOtherModulesStoreCode).
package scannersapi

import (
	"context"
	"net/netip"
	"time"

	"mipo/app"
)

// Scanner is one registered mipo-scanner as the API shows it. It never carries its key.
type Scanner struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Hostname       string     `json:"hostname"`
	Version        string     `json:"version"`
	Status         string     `json:"status" doc:"online, offline (no heartbeat for 2 minutes) or disabled."`
	Online         bool       `json:"online"`
	Disabled       bool       `json:"disabled"`
	DisabledAt     *time.Time `json:"disabled_at"`
	Binding        string     `json:"binding" doc:"Where its requests may come from: an address, a CIDR or an ASN (AS64500)."`
	Groups         []GroupRef `json:"groups"`
	KeyPrefix      string     `json:"key_prefix" doc:"The start of its API key, to recognise it; the key itself is shown once."`
	KeyCreatedAt   time.Time  `json:"key_created_at"`
	RegisteredAt   time.Time  `json:"registered_at"`
	RegisteredFrom string     `json:"registered_from"`
	LastSeenAt     *time.Time `json:"last_seen_at"`
	LastAddress    string     `json:"last_address"`
	Capacity       Capacity   `json:"capacity"`
	Metrics        *Metrics   `json:"metrics" doc:"The last heartbeat's metrics; null before the first."`
	ActiveJobCount int        `json:"active_job_count" doc:"Jobs the scanner said it runs at its last heartbeat."`
	ActiveJobs     []string   `json:"active_jobs" doc:"Ids of the jobs it holds now, from the jobs database."`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Capacity is what a scanner says it can do, with every heartbeat.
type Capacity struct {
	MaxConcurrency int `json:"max_concurrency" doc:"Connection attempts in flight at most."`
	MaxRate        int `json:"max_rate" doc:"Connection attempts per second at most."`
	FDLimit        int `json:"fd_limit" doc:"The scanner process's file-descriptor limit."`
}

// Metrics is a scanner host's state at one heartbeat.
type Metrics struct {
	At            time.Time `json:"at"`
	Load1         float64   `json:"load1"`
	CPUPercent    float64   `json:"cpu_percent"`
	MemUsedBytes  int64     `json:"mem_used_bytes"`
	MemTotalBytes int64     `json:"mem_total_bytes"`
	NetRxBytes    int64     `json:"net_rx_bytes" doc:"Cumulative bytes received (all interfaces but lo)."`
	NetTxBytes    int64     `json:"net_tx_bytes"`
	NetRxRate     *float64  `json:"net_rx_rate" doc:"Bytes per second received since the previous heartbeat; null after a counter reset."`
	NetTxRate     *float64  `json:"net_tx_rate"`
	FDOpen        *int      `json:"fd_open" doc:"The scanner process's open file descriptors; null when the scanner did not say (platforms but Linux)."`
	FDLimit       *int      `json:"fd_limit" doc:"Its soft limit on file descriptors at the heartbeat; null when the scanner did not say."`
}

// GroupRef names a group a scanner belongs to.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Counts is how many scanners are online, offline and disabled.
type Counts struct {
	Online   int `json:"online"`
	Offline  int `json:"offline"`
	Disabled int `json:"disabled"`
}

// RegisteredAt is when a scanner registered: the tls module works out from it which
// certificate pin the scanner was given.
type RegisteredAt struct {
	ID           string
	Name         string
	RegisteredAt time.Time
}

// Identity is an authenticated scanner: who it is, for one request.
type Identity struct {
	ID      string
	Name    string
	Binding string
}

// Refusal is why a scanner's request was refused. It is an error; APIError gives the answer
// to send (401 or 403 in the one error shape).
type Refusal struct {
	Status      int
	Code        string // invalid_key, scanner_disabled, binding_mismatch, binding_unverifiable, invalid_token
	Message     string
	ScannerID   string // when the key was known
	ScannerName string
	Source      string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

// APIError is the refusal in the API's error shape.
func (r *Refusal) APIError() *app.Error {
	return &app.Error{Status: r.Status, Code: r.Code, Message: r.Message}
}

// Registration is what a scanner sends to register.
type Registration struct {
	Token    string
	Hostname string
	Version  string
	Capacity Capacity
	Source   netip.Addr
}

// Registered is a new scanner and its API key, shown this once.
type Registered struct {
	Scanner *Scanner
	APIKey  string
}

// HeartbeatReport is what a scanner says in a heartbeat.
type HeartbeatReport struct {
	Version    string
	Hostname   string
	Capacity   Capacity
	Load1      float64
	CPUPercent float64
	MemUsed    uint64
	MemTotal   uint64
	NetRx      uint64
	NetTx      uint64
	ActiveJobs int
	FDOpen     *int // the scanner process's open file descriptors; nil when it did not say
	FDLimit    *int // its soft limit on them
	Source     netip.Addr
}

// Events the scanners module emits, each with the scanner's id as subject.
const (
	EventOnline     = "scanner.online"     // a heartbeat came from a scanner marked offline
	EventOffline    = "scanner.offline"    // 2 minutes without a heartbeat
	EventRegistered = "scanner.registered" // a provisioning token was exchanged for a key
)

// Emitter is the event bus (app.Bus), or a test's stand-in.
type Emitter interface {
	Emit(ctx context.Context, typ, subject string, payload any) error
}

// StatusEvent is the payload of scanner.online and scanner.offline.
type StatusEvent struct {
	ScannerID  string     `json:"scanner_id"`
	Name       string     `json:"name"`
	LastSeenAt *time.Time `json:"last_seen_at"`
	Address    string     `json:"address,omitempty"`
}

// Interface guard: the kernel's event bus is an Emitter.
var _ Emitter = (*app.Bus)(nil)

// The calls the scanners module answers, filled in by its init(); each is documented where the
// scanners module defines it (modules/scanners).
var (
	// Get loads one scanner; an app "not found" error when there is none with that id.
	Get func(ctx context.Context, db app.Querier, id string) (*Scanner, error)
	// Healthy returns the scanners among ids (nil: all) that may be given work now, by name.
	Healthy func(ctx context.Context, db app.Querier, ids []string) ([]Scanner, error)
	// GroupMembers lists the ids of a scanner group's members.
	GroupMembers func(ctx context.Context, db app.Querier, groupID string) ([]string, error)
	// CountByStatus counts the fleet by status.
	CountByStatus func(ctx context.Context, db app.Querier) (Counts, error)
	// Registrations lists every scanner's registration time, by name.
	Registrations func(ctx context.Context, db app.Querier) ([]RegisteredAt, error)

	// Authenticate checks one request of a scanner and returns its identity, or a *Refusal.
	Authenticate func(ctx context.Context, db app.Querier, asn *ASNDatabase, presentedKey string, source netip.Addr) (*Identity, error)
	// Register exchanges a provisioning token for a new scanner and its API key; a *Refusal
	// when the token or the source is refused.
	Register func(ctx context.Context, pool app.ConfigDB, asn *ASNDatabase, r Registration, now time.Time) (*Registered, error)
	// Heartbeat records a scanner's heartbeat and answers whether it came back online.
	Heartbeat func(ctx context.Context, pool app.ConfigDB, events Emitter, id string, hb HeartbeatReport, now time.Time) (cameOnline bool, err error)
	// HeartbeatSeconds is the heartbeat interval ingest tells scanners.
	HeartbeatSeconds func(c *app.Config) int
)
