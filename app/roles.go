package app

import (
	"fmt"
	"slices"
	"strings"
)

// Roles are targets: named sets of modules. A module names the roles that mount it; a role
// runs those modules and everything they require.
const (
	RoleManager    = "manager"    // web UI and admin API; one instance
	RoleIngest     = "ingest"     // scanner API; run two or more
	RoleDispatcher = "dispatcher" // scan orchestration; a singleton with hot standby
	RoleBackup     = "backup"     // encrypted backup and restore
	RoleAll        = "all"        // every role in one process
)

// Roles lists the roles a process can run, in the order they are documented.
var Roles = []string{RoleManager, RoleIngest, RoleDispatcher, RoleBackup}

// ParseRoles reads a comma list such as "manager,dispatcher"; "all" means every role.
func ParseRoles(list string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(list, ",") {
		r = strings.ToLower(strings.TrimSpace(r))
		switch {
		case r == "":
			continue
		case r == RoleAll:
			return slices.Clone(Roles), nil
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
