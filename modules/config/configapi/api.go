// Package configapi is the config module's contract with the other modules: the types they
// share with it and the calls they may make. It holds no SQL: the config module fills in the
// calls from its init() (main.go links every module in), so a module that uses config does not
// build the config module's store code into itself (house_test.go
// TestModulesBuildNoOtherModulesStoreCode). The pure subpackages netset, portset and catalog
// may be imported directly.
package configapi

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// Kinds of the objects another module may name, resolve and register users of (a findings
// baseline names a subnet, a subnet group, port lists and port list groups; a schedule
// launches a template or a template group), as config_objects.kind spells them.
const (
	KindSubnet        = "subnet"
	KindSubnetGroup   = "subnet_group"
	KindPortList      = "port_list"
	KindPortListGroup = "port_list_group"
	KindTemplate      = "template"
	KindTemplateGroup = "template_group"
)

// Scope is exactly what a template meant at one moment, resolved: the scans module freezes it
// into each scan, so it is plain data and round-trips through JSON.
type Scope struct {
	TemplateID      string    `json:"template_id"`
	TemplateVersion int       `json:"template_version"`
	TemplateName    string    `json:"template_name"`
	At              time.Time `json:"at" doc:"The moment the scope was resolved for."`
	// Targets are the addresses to scan: the template's subnets and (nested) subnet groups,
	// minus its exclusions and every global exclusion, as merged intervals.
	Targets netset.Set `json:"targets"`
	// Ports are the template's port lists and the lists of its port list groups, merged.
	Ports              portset.Set `json:"ports"`
	ScannerMode        string      `json:"scanner_mode" doc:"pool or vantage."`
	ScannerIDs         []string    `json:"scanner_ids"`
	ScannerGroupIDs    []string    `json:"scanner_group_ids"`
	RateLimit          int         `json:"rate_limit"`
	TimeoutMS          int         `json:"timeout_ms"`
	Retries            int         `json:"retries"`
	MaxDurationSeconds int         `json:"max_duration_seconds"`
}

// SubnetSpec is a subnet another module writes through Managed: the config module validates
// it as it does one the API takes.
type SubnetSpec struct {
	Name        string
	Description string
	CIDR        string
	Tags        []string
}

// SubnetGroupSpec is a subnet group another module writes through Managed.
type SubnetGroupSpec struct {
	Name        string
	Description string
	Subnets     []string
}

// Managed writes subnets and subnet groups on behalf of another module (discovery keeps a
// group per source in step with what the source reports). Every write goes through the same
// code as the API: validated, versioned, and audited as the context's principal, in the
// caller's transaction. Callers never touch the config tables themselves.
type Managed interface {
	// PutSubnet creates the subnet with this id, or changes it to spec (a new version only
	// when something differs). It reports whether it created the subnet.
	PutSubnet(ctx context.Context, tx pgx.Tx, id string, spec SubnetSpec) (created bool, err error)
	// PutSubnetGroup creates or changes a subnet group, like PutSubnet.
	PutSubnetGroup(ctx context.Context, tx pgx.Tx, id string, spec SubnetGroupSpec) (created bool, err error)
	// RemoveSubnet deletes a subnet. A subnet something else still uses is refused with a
	// 409 app.Error naming the users; callers may leave it.
	RemoveSubnet(ctx context.Context, tx pgx.Tx, id string) error
}

// UsersFunc names what, in another module, uses a configuration object, such as
// `schedule "nightly"`; nil when nothing does. It runs in the deleting transaction.
type UsersFunc func(ctx context.Context, db app.Querier, id string) ([]string, error)

var (
	usersMu  sync.Mutex
	usersFns = map[string][]UsersFunc{}
)

// RegisterUsers lets another module keep a configuration object it uses from being deleted:
// the scans module registers its schedules as users of templates and template groups, so
// deleting a scheduled template is refused naming the schedule. Call it from init().
func RegisterUsers(kind string, fn UsersFunc) {
	switch kind {
	case KindSubnet, KindSubnetGroup, KindPortList, KindPortListGroup, KindTemplate, KindTemplateGroup:
	default:
		panic("configapi.RegisterUsers: unknown kind " + strconv.Quote(kind))
	}
	usersMu.Lock()
	defer usersMu.Unlock()
	usersFns[kind] = append(usersFns[kind], fn)
}

// UsersElsewhere names what the other modules registered as using an object (RegisterUsers):
// the config module refuses to delete it while any does.
func UsersElsewhere(ctx context.Context, db app.Querier, kind, id string) ([]string, error) {
	usersMu.Lock()
	fns := usersFns[kind]
	usersMu.Unlock()
	var out []string
	for _, fn := range fns {
		names, err := fn(ctx, db, id)
		if err != nil {
			return nil, err
		}
		out = append(out, names...)
	}
	return out, nil
}

// The launch limit (connection attempts, addresses × ports) belongs to the scans module, which
// refuses a larger scan when it starts; it tells the config module the limit so a template
// that could never launch is refused when it is saved, and flagged while it is edited. Zero (a
// process without the scans module) checks nothing.
var launchLimit atomic.Int64

// ProvideLaunchLimit sets the largest scope a template may hold, in connection attempts.
func ProvideLaunchLimit(probes int64) { launchLimit.Store(probes) }

// LaunchLimit is the limit ProvideLaunchLimit set; zero checks nothing.
func LaunchLimit() int64 { return launchLimit.Load() }

// The calls the config module answers, filled in by its init().
var (
	// NewManaged returns a writer whose versions carry times from clock.
	NewManaged func(clock app.Clock) Managed
	// SubnetExists reports whether a subnet with this id is live.
	SubnetExists func(ctx context.Context, db app.Querier, id string) (bool, error)
	// Exists reports whether an object of the kind exists now.
	Exists func(ctx context.Context, db app.Querier, kind, id string) (bool, error)
	// Prefixes returns the CIDRs of subnets and of subnet groups (nested to any depth) as they
	// are now, no exclusions subtracted. A missing object is an error.
	Prefixes func(ctx context.Context, db app.Querier, subnetIDs, groupIDs []string) ([]netip.Prefix, error)
	// Ports returns the ports of port lists and of the lists in port list groups, as they are now.
	Ports func(ctx context.Context, db app.Querier, listIDs, groupIDs []string) (portset.Set, error)
	// SubnetGroupCIDRs returns the CIDRs of every subnet in a subnet group as it is now, nested
	// groups included. An unknown group is a 400 naming field.
	SubnetGroupCIDRs func(ctx context.Context, db app.Querier, groupID, field string) ([]string, error)
	// TemplatesUsingScanners returns the names of the templates that name a scanner or scanner
	// group id, sorted.
	TemplatesUsingScanners func(ctx context.Context, db app.Querier, scannerOrGroupID string) ([]string, error)
	// ResolveScope returns the scope a template meant at the moment at (a template that did not
	// exist then is a 404 *app.Error). Pass a REPEATABLE READ transaction to read one snapshot
	// of the present.
	ResolveScope func(ctx context.Context, db app.Querier, templateID string, at time.Time) (*Scope, error)
	// TemplateGroupMembers returns the ids of the templates in a template group, in the
	// group's order, as the group is now.
	TemplateGroupMembers func(ctx context.Context, db app.Querier, groupID string) ([]string, error)
)
