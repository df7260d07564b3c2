package rbac

import (
	"slices"
	"sort"
	"strings"
)

// Scope is one resource:action permission.
type Scope struct {
	Scope       string `json:"scope"`
	Resource    string `json:"resource"`
	Action      string `json:"action"`
	Description string `json:"description"`
}

// catalogue is every scope mipo knows, in the order the UI lists them. A new module adds its
// scopes here, and to the built-in roles below where they belong.
var catalogue = []Scope{
	{Scope: "users:view", Description: "See users and their profiles."},
	{Scope: "users:write", Description: "Create, change, disable and delete users and assign their roles."},
	{Scope: "roles:view", Description: "See roles and the scopes they grant."},
	{Scope: "roles:write", Description: "Create, change and delete custom roles."},
	{Scope: "tokens:write", Description: "Lets an API token create and revoke its user's tokens (never beyond its own scopes and expiry). Sessions need no scope for their own tokens."},
	{Scope: "audit:view", Description: "Read the audit log and verify its hash chain."},
	{Scope: "audit:export", Description: "Download the audit log."},
	{Scope: "settings:view", Description: "See system settings."},
	{Scope: "settings:write", Description: "Change system settings."},
	{Scope: "targets:view", Description: "See subnets, subnet groups and exclusions."},
	{Scope: "targets:write", Description: "Create, change and delete subnets, subnet groups and exclusions."},
	{Scope: "ports:view", Description: "See the port catalog, port lists and port list groups."},
	{Scope: "ports:write", Description: "Create, change and delete port lists and port list groups."},
	{Scope: "templates:view", Description: "See scan templates and template groups."},
	{Scope: "templates:write", Description: "Create, change and delete scan templates and template groups."},
	{Scope: "scanners:view", Description: "See scanners, their health and scanner groups."},
	{Scope: "scanners:manage", Description: "Provision, disable, re-key and bind scanners; manage scanner groups; export allowlists."},
	{Scope: "scans:view", Description: "See scans, their progress and schedules."},
	{Scope: "scans:execute", Description: "Launch and cancel scans."},
	{Scope: "scans:schedule", Description: "Create, change and delete scan schedules."},
	{Scope: "results:view", Description: "Query scan results, history and diffs."},
	{Scope: "results:export", Description: "Download scan results."},
	{Scope: "alarms:view", Description: "See alarms and the notification log."},
	{Scope: "alarms:manage", Description: "Acknowledge alarms; manage alarm rules, channels and routing."},
	{Scope: "findings:view", Description: "See baselines (expected ports), findings and their triage history."},
	{Scope: "findings:triage", Description: "Accept, mark as risk, assign and reopen findings."},
	{Scope: "baselines:write", Description: "Create, change and delete baselines of expected ports."},
	{Scope: "evidence:export", Description: "Download signed evidence packs of a scope's exposure over a period."},
	{Scope: "health:view", Description: "See the health of mipo's components."},
	{Scope: "dashboards:view", Description: "See the built-in dashboard layouts and the dashboards shared with everyone. Each widget still needs its own scope to show its data."},
	{Scope: "dashboards:write", Description: "Create, change and delete your own dashboards (never another user's)."},
	{Scope: "dashboards:share", Description: "Share your dashboards with everyone, change the ones you share, and stop sharing them."},
	{Scope: "backups:view", Description: "See backups, their manifests and the backup schedules."},
	{Scope: "backups:create", Description: "Start a backup now."},
	{Scope: "backups:restore", Description: "Restore a backup over the running installation."},
	{Scope: "backups:manage", Description: "Change backup schedules, retention and S3 replication, and read the S3 secret key."},
}

func init() {
	for i := range catalogue {
		catalogue[i].Resource, catalogue[i].Action, _ = strings.Cut(catalogue[i].Scope, ":")
	}
}

// Catalogue returns every scope.
func Catalogue() []Scope { return slices.Clone(catalogue) }

// KnownScope reports whether s is in the catalogue.
func KnownScope(s string) bool {
	for _, c := range catalogue {
		if c.Scope == s {
			return true
		}
	}
	return false
}

// The built-in roles. Their scopes follow the catalogue as the code changes: admin always
// holds every scope.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

type builtinRole struct {
	name, description string
	scopes            func() []string
}

var builtinRoles = []builtinRole{
	{RoleAdmin, "Every scope: full control of mipo.", allScopes},
	{RoleOperator, "Runs scans and looks after scanners and alarms: scan execution and scheduling, results, scanner viewing, alerting, health, and dashboards (their own and shared ones).",
		fixed("scans:view", "scans:execute", "scans:schedule", "results:view", "results:export", "scanners:view",
			"targets:view", "ports:view", "templates:view", "alarms:view", "alarms:manage", "findings:view", "findings:triage", "health:view",
			"dashboards:view", "dashboards:write", "dashboards:share")},
	{RoleViewer, "Read-only access to a safe subset: configuration, scans, results, scanners, alarms, findings, health, the built-in and shared dashboards, and the audit log (with people's names and addresses hidden); no user profiles, secrets or exports.",
		fixed("targets:view", "ports:view", "templates:view", "scanners:view", "scans:view", "results:view",
			"alarms:view", "findings:view", "health:view", "audit:view", "dashboards:view")},
}

func allScopes() []string {
	out := make([]string, len(catalogue))
	for i, c := range catalogue {
		out[i] = c.Scope
	}
	return out
}

func fixed(scopes ...string) func() []string {
	return func() []string { s := slices.Clone(scopes); sort.Strings(s); return s }
}

// normaliseScopes validates a requested scope list, removes duplicates and sorts it.
func normaliseScopes(field string, scopes []string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range scopes {
		s = strings.TrimSpace(s)
		if !KnownScope(s) {
			return nil, invalid(field, "unknown_scope", "unknown scope "+quote(s)+"; GET /api/v1/scopes lists them")
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}
