package app

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// A Module is one domain of mipo. It registers itself in its package's init():
//
//	func init() {
//		app.Register(app.Module{
//			Name:      "audit",
//			Requires:  []string{"rbac"},
//			Provision: provision,
//		})
//	}
//
// Which roles run it is not the module's to say: the role graph is in one place (Topology).
// Provision declares the module's routes, jobs, event handlers and start/stop hooks on the
// Mount it is given. It must not touch the databases: that happens in OnStart, so the route
// table can be built (for tests and the OpenAPI document) without a database.
type Module struct {
	Name      string
	Requires  []string // modules that must be mounted, and started, before this one
	Databases []string // the databases it reads and writes: DBConfig, DBResults, DBJobs
	Provision func(m *Mount) error
}

// Registry holds modules and the roles that run them. The process-wide one is filled by init()
// functions and runs the roles of Topology; tests build their own.
type Registry struct {
	mu      sync.Mutex
	modules map[string]Module
	roles   map[string][]string // role → the modules it runs
}

// NewRegistry returns an empty registry whose roles run nothing until Role says what.
func NewRegistry() *Registry {
	return &Registry{modules: map[string]Module{}, roles: map[string][]string{}}
}

var defaultRegistry = func() *Registry {
	r := NewRegistry()
	for role, modules := range Topology {
		r.Role(role, modules...)
	}
	return r
}()

// Role says which modules a role runs (beside what they require). It panics on an unknown role.
func (r *Registry) Role(role string, modules ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(Roles, role) {
		panic(fmt.Sprintf("app: unknown role %q (roles: %s)", role, strings.Join(Roles, ", ")))
	}
	r.roles[role] = append(r.roles[role], modules...)
}

// Register adds a module to the process-wide registry. It panics on an empty or duplicate
// name, so a mistake fails the first test that imports the module.
func Register(m Module) { defaultRegistry.Register(m) }

// DefaultRegistry is the registry that init() functions fill.
func DefaultRegistry() *Registry { return defaultRegistry }

// Register adds a module; see the package-level Register.
func (r *Registry) Register(m Module) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if strings.TrimSpace(m.Name) == "" {
		panic("app: module registered without a name")
	}
	if _, dup := r.modules[m.Name]; dup {
		panic(fmt.Sprintf("app: module %q registered twice", m.Name))
	}
	r.modules[m.Name] = m
}

// Requires returns what a registered module requires.
func (r *Registry) Requires(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.modules[name].Requires)
}

// Names lists the registered modules, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.modules))
	for n := range r.modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Resolve returns the modules the given roles run, each after everything it requires.
// Unknown requirements and dependency cycles are errors that name them.
func (r *Registry) Resolve(roles []string) ([]Module, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(); err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	var add func(name string)
	add = func(name string) {
		if wanted[name] {
			return
		}
		wanted[name] = true
		for _, dep := range r.modules[name].Requires {
			add(dep)
		}
	}
	for _, role := range roles {
		for _, name := range r.roles[role] {
			// A test binary links in only the modules it tests; the mipo binary links in every
			// one (TestTopologyNamesRegisteredModules), so nothing is silently left out there.
			if _, ok := r.modules[name]; ok {
				add(name)
			}
		}
	}
	// Kahn's algorithm over the wanted set, ties broken by name so the order is stable.
	var order []Module
	done := map[string]bool{}
	for len(order) < len(wanted) {
		progressed := false
		for _, name := range r.sortedNames() {
			if !wanted[name] || done[name] {
				continue
			}
			ready := true
			for _, dep := range r.modules[name].Requires {
				ready = ready && done[dep]
			}
			if ready {
				done[name] = true
				order = append(order, r.modules[name])
				progressed = true
			}
		}
		if !progressed {
			return nil, fmt.Errorf("module dependency cycle among: %s", strings.Join(r.remaining(wanted, done), ", "))
		}
	}
	return order, nil
}

// check validates the whole registry: every requirement exists and there is no cycle.
func (r *Registry) check() error {
	for _, name := range r.sortedNames() {
		for _, dep := range r.modules[name].Requires {
			if _, ok := r.modules[dep]; !ok {
				return fmt.Errorf("module %q requires %q, which is not registered (is its package imported in main.go?)", name, dep)
			}
		}
	}
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			i := slices.Index(path, name)
			return fmt.Errorf("module dependency cycle: %s -> %s", strings.Join(path[i:], " -> "), name)
		case 2:
			return nil
		}
		state[name] = 1
		path = append(path, name)
		for _, dep := range r.modules[name].Requires {
			if err := visit(dep); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[name] = 2
		return nil
	}
	for _, name := range r.sortedNames() {
		if err := visit(name); err != nil {
			return err
		}
	}
	return nil
}

func (r *Registry) sortedNames() []string {
	names := make([]string, 0, len(r.modules))
	for n := range r.modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *Registry) remaining(wanted, done map[string]bool) []string {
	var out []string
	for _, n := range r.sortedNames() {
		if wanted[n] && !done[n] {
			out = append(out, n)
		}
	}
	return out
}
