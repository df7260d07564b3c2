package app

import (
	"fmt"
	"slices"
	"strings"
)

// Roles are targets: named sets of modules, as Loki's and Mimir's -target flags are.
const (
	RoleManager    = "manager"    // web UI and admin API; one instance
	RoleIngest     = "ingest"     // scanner API; run two or more
	RoleDispatcher = "dispatcher" // scan orchestration; a singleton with hot standby
	RoleBackup     = "backup"     // encrypted backup and restore
	RoleAll        = "all"        // every role in one process
)

// Roles lists the roles a process can run, in the order they are documented.
var Roles = []string{RoleManager, RoleIngest, RoleDispatcher, RoleBackup}

// Topology is mipo's role graph, in one place: the modules each role runs. A role also runs
// everything those modules require (each module's Requires, in its module.go), each started
// after what it requires; `mipo serve --list-roles` prints the whole graph.
var Topology = map[string][]string{
	RoleManager:    {"webui", "rbac", "audit", "settings", "config", "scanners", "scans", "results", "alarms", "tls", "oidc", "backup", "discovery", "findings", "health", "health-report", "home"},
	RoleIngest:     {"ingest", "tls-serve", "health-report"},
	RoleDispatcher: {"dispatcher", "notifier", "health-report"},
	RoleBackup:     {"backup", "health-report"},
}

// ParseRoles reads a comma list such as "manager,dispatcher"; "all" means every role that
// runs something. A role that runs no module yet is refused, saying so.
func ParseRoles(list string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(list, ",") {
		r = strings.ToLower(strings.TrimSpace(r))
		switch {
		case r == "":
			continue
		case r == RoleAll:
			return slices.DeleteFunc(slices.Clone(Roles), func(r string) bool { return len(Topology[r]) == 0 }), nil
		case slices.Contains(Roles, r) && len(Topology[r]) == 0:
			return nil, fmt.Errorf("role %q runs no module yet (its module is not built); valid roles today are %s and %s", r, strings.Join(runnable(), ", "), RoleAll)
		case slices.Contains(Roles, r):
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		default:
			return nil, fmt.Errorf("unknown role %q; valid roles are %s and %s", r, strings.Join(Roles, ", "), RoleAll)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no role given; valid roles are %s and %s", strings.Join(Roles, ", "), RoleAll)
	}
	return out, nil
}

func runnable() []string {
	return slices.DeleteFunc(slices.Clone(Roles), func(r string) bool { return len(Topology[r]) == 0 })
}
