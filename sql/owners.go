package migrations

// Owners names the one module that owns each table: only its code names the table in SQL;
// every other module goes through its Go functions (TestModulesNameOnlyTheirOwnTables).
// "kernel" is app/: the event queue. A new table gets its line here in the same change as its
// migration.
var Owners = map[string]string{
	// config database
	"audit_log":             "audit",
	"users":                 "rbac",
	"roles":                 "rbac",
	"user_roles":            "rbac",
	"sessions":              "rbac",
	"api_tokens":            "rbac",
	"login_throttle":        "rbac",
	"settings":              "settings",
	"config_objects":        "config",
	"config_versions":       "config",
	"config_refs":           "config",
	"scanners":              "scanners",
	"scanner_groups":        "scanners",
	"scanner_group_members": "scanners",
	"scanner_tokens":        "scanners",
	"scanner_connections":   "scanners",
	"scanner_heartbeats":    "scanners",
	"scans":                 "scans",
	"scan_stalls":           "scans",
	"schedules":             "scans",
	"alarms":                "alarms",
	"alarm_transitions":     "alarms",
	"alarm_channels":        "alarms",
	"alarm_routes":          "alarms",
	"alarm_snoozes":         "alarms",
	"alarm_rule_overrides":  "alarms",
	"tls_certificates":      "tls",
	"oidc_providers":        "oidc",
	"oidc_logins":           "oidc",
	"oidc_sessions":         "oidc",
	"backup_schedules":      "backup",
	"backup_replication":    "backup",
	"discovery_sources":     "discovery",
	"discovery_subnets":     "discovery",
	"discovery_runs":        "discovery",
	"tls_acme":              "tls",
	"tls_acme_attempts":     "tls",
	// results database
	"observations":   "results",
	"result_batches": "results",
	"job_coverage":   "results",
	// jobs database
	"jobs":                  "jobs",
	"audit_checkpoints":     "audit",
	"notification_outbox":   "alarms",
	"notification_attempts": "alarms",
	"ingest_nodes":          "ingest",
	"events":                "kernel",
	"event_deliveries":      "kernel",
	"event_subscribers":     "kernel",
}
