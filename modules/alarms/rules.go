package alarms

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"mipo/app"
)

// Severities, least to most urgent. Escalation moves an alarm one step to the right.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityMinor    = "minor"
	SeverityMajor    = "major"
	SeverityCritical = "critical"
)

// Severities lists every severity, least urgent first.
var Severities = []string{SeverityInfo, SeverityWarning, SeverityMinor, SeverityMajor, SeverityCritical}

// escalated is the next severity up; critical stays critical.
func escalated(s string) string {
	i := slices.Index(Severities, s)
	if i < 0 || i == len(Severities)-1 {
		return SeverityCritical
	}
	return Severities[i+1]
}

// Events the module's own checks emit (checks.go), and those that later parts of mipo emit
// (TLS, ACME, backups, DNS): the rules below listen for them by these names.
const (
	EventPoolSaturated     = "database.pool.saturated"
	EventPoolRelieved      = "database.pool.relieved"
	EventScannerPressure   = "scanner.pressure"
	EventScannerRelieved   = "scanner.pressure.cleared"
	EventDispatcherAbsent  = "dispatcher.absent"
	EventDispatcherPresent = "dispatcher.present"
	EventIngestSilent      = "ingest.node.silent"
	EventIngestReporting   = "ingest.node.reporting"
	EventChannelFailing    = "notification.channel.failing"
	EventChannelDelivered  = "notification.channel.delivered"
)

// DatabaseEvent is the event type of a database's reachability: database.config.unreachable.
func DatabaseEvent(db string, reachable bool) string {
	if reachable {
		return "database." + db + ".reachable"
	}
	return "database." + db + ".unreachable"
}

// A Rule maps events to an alarm. Fire events open (or bump) the alarm with the key
// rule id + ":" + subject; Resolve events resolve it. The built-in rules are code, so they
// cannot be deleted; operators change them through overrides (severity, thresholds,
// escalation window, disabled).
type Rule struct {
	ID            string             `json:"id"`
	Name          string             `json:"name"`
	Component     string             `json:"component" doc:"The part of mipo the alarm is about: database, scanner, dispatcher, ingest, tls, backup, dns, notifications."`
	Description   string             `json:"description"`
	Fire          []string           `json:"fire_on" doc:"Event types that open the alarm, or bump it if it is open."`
	Resolve       []string           `json:"resolve_on" doc:"Event types that resolve it."`
	Severity      string             `json:"default_severity"`
	Thresholds    map[string]float64 `json:"default_thresholds"`
	EscalateAfter time.Duration      `json:"-"`

	// applies says whether a firing event counts under the thresholds (nil: always).
	applies func(e app.Event, th map[string]float64) bool
	// severityOf may raise the severity for one event (an expired certificate is worse than an
	// expiring one).
	severityOf func(e app.Event, sev string) string
	// subjectOf is the part of the key after the rule id (default: the event's subject).
	subjectOf func(e app.Event) string
	summary   func(e app.Event) string
}

// payload reads the event's payload as a map; a payload that is not an object reads as empty.
func payload(e app.Event) map[string]any {
	var m map[string]any
	_ = e.Decode(&m)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func str(m map[string]any, k string) string {
	if v, ok := m[k]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

func num(m map[string]any, k string) (float64, bool) {
	f, ok := m[k].(float64)
	return f, ok
}

// nameOr is the payload's "name", or the event's subject.
func nameOr(e app.Event) string {
	if n := str(payload(e), "name"); n != "" {
		return n
	}
	return e.Subject
}

func databaseRule(db string) Rule {
	return Rule{ID: "database." + db + ".unreachable", Name: "The " + db + " database is unreachable", Component: "database",
		Description: "mipo pings its " + db + " database every few seconds; this opens when a ping fails and resolves when one succeeds.",
		Fire:        []string{DatabaseEvent(db, false)}, Resolve: []string{DatabaseEvent(db, true)}, Severity: SeverityCritical,
		summary: func(e app.Event) string {
			return "the " + db + " database does not answer: " + str(payload(e), "error")
		}}
}

// builtinRules are mipo's rules, in the order the UI lists them.
var builtinRules = []Rule{
	databaseRule(app.DBConfig),
	databaseRule(app.DBResults),
	databaseRule(app.DBJobs),
	{ID: "database.pool.saturated", Name: "A database connection pool is saturated", Component: "database",
		Description: "More than percent of a pool's connections are in use, so requests queue for a connection.",
		Fire:        []string{EventPoolSaturated}, Resolve: []string{EventPoolRelieved}, Severity: SeverityMajor,
		Thresholds: map[string]float64{"percent": 90},
		summary: func(e app.Event) string {
			p := payload(e)
			return fmt.Sprintf("the %s pool has %s of %s connections in use", e.Subject, str(p, "in_use"), str(p, "max"))
		}},
	{ID: "scanner.heartbeat.lost", Name: "Scanner heartbeat lost", Component: "scanner",
		Description: "A scanner sent no heartbeat for 2 minutes and was marked offline; resolves when it is heard from again (or is disabled).",
		Fire:        []string{"scanner.offline"}, Resolve: []string{"scanner.online", "scanner.disabled"}, Severity: SeverityMajor,
		EscalateAfter: time.Hour,
		summary:       func(e app.Event) string { return "scanner " + nameOr(e) + " stopped sending heartbeats" }},
	{ID: "scanner.resource.pressure", Name: "Scanner under resource pressure", Component: "scanner",
		Description: "A scanner's last heartbeat reports CPU, memory or file-descriptor use over the thresholds (percent).",
		Fire:        []string{EventScannerPressure}, Resolve: []string{EventScannerRelieved, "scanner.offline", "scanner.disabled"},
		Severity: SeverityWarning, Thresholds: map[string]float64{"cpu_percent": 90, "mem_percent": 90, "fd_percent": 90},
		EscalateAfter: time.Hour,
		summary: func(e app.Event) string {
			return "scanner " + nameOr(e) + " is under pressure: " + str(payload(e), "reason")
		}},
	{ID: "job.stalled", Name: "Scan job stalled", Component: "dispatcher",
		Description: "A job's progress went silent; the dispatcher re-queued it. Resolves when the job completes.",
		Fire:        []string{"job.stalled"}, Resolve: []string{"job.recovered"}, Severity: SeverityMinor, EscalateAfter: 2 * time.Hour,
		summary: func(e app.Event) string {
			return "job " + e.Subject + " of scan " + str(payload(e), "scan_id") + " stalled on scanner " + str(payload(e), "scanner_id")
		}},
	{ID: "scan.failed", Name: "Scan failed", Component: "dispatcher",
		Description: "A scan ended failed. One alarm per template; the template's next completed scan resolves it.",
		Fire:        []string{"scan.failed"}, Resolve: []string{"scan.completed"}, Severity: SeverityMajor,
		subjectOf: func(e app.Event) string {
			if t := str(payload(e), "template"); t != "" {
				return t
			}
			return e.Subject
		},
		summary: func(e app.Event) string {
			p := payload(e)
			return "a scan of template " + str(p, "template") + " failed: " + str(p, "detail")
		}},
	{ID: "dispatcher.none.active", Name: "No active dispatcher", Component: "dispatcher",
		Description: "No process holds the dispatcher's lock, so no scan is dispatched and no stalled job recovered.",
		Fire:        []string{EventDispatcherAbsent}, Resolve: []string{EventDispatcherPresent}, Severity: SeverityCritical,
		Thresholds: map[string]float64{"grace_seconds": 30},
		summary: func(e app.Event) string {
			return "no dispatcher process has held the dispatcher lock for " + str(payload(e), "seconds") + " seconds"
		}},
	{ID: "ingest.node.silent", Name: "Ingest node silent", Component: "ingest",
		Description: "An ingest process stopped writing its throughput (it does every 10 seconds while it runs).",
		Fire:        []string{EventIngestSilent}, Resolve: []string{EventIngestReporting}, Severity: SeverityMajor,
		Thresholds: map[string]float64{"seconds": 60},
		summary: func(e app.Event) string {
			return "ingest node " + e.Subject + " has not reported since " + str(payload(e), "updated_at")
		}},
	{ID: "tls.certificate.expiry", Name: "TLS certificate expiring or expired", Component: "tls",
		Description: "The serving certificate expires within days (major), or has expired (critical). Resolves when it is renewed.",
		Fire:        []string{"tls.certificate.expiring", "tls.certificate.expired"}, Resolve: []string{"tls.certificate.renewed"},
		Severity: SeverityMajor, Thresholds: map[string]float64{"days": 14},
		applies: func(e app.Event, th map[string]float64) bool {
			left, ok := num(payload(e), "days_left")
			return e.Type == "tls.certificate.expired" || !ok || left <= th["days"]
		},
		severityOf: func(e app.Event, sev string) string {
			if e.Type == "tls.certificate.expired" {
				return SeverityCritical
			}
			return sev
		},
		summary: func(e app.Event) string {
			p := payload(e)
			if e.Type == "tls.certificate.expired" {
				return "the TLS certificate " + str(p, "subject") + " expired at " + str(p, "not_after")
			}
			return "the TLS certificate " + str(p, "subject") + " expires in " + str(p, "days_left") + " days"
		}},
	{ID: "acme.renewal.failed", Name: "ACME renewal failed", Component: "tls",
		Description: "Renewing the certificate with the ACME provider failed; resolves on the next successful renewal.",
		Fire:        []string{"acme.renewal.failed"}, Resolve: []string{"acme.renewal.succeeded"}, Severity: SeverityMajor,
		summary: func(e app.Event) string {
			return "ACME renewal for " + e.Subject + " failed: " + str(payload(e), "error")
		}},
	{ID: "backup.failed", Name: "Backup missed or failed", Component: "backup",
		Description: "A scheduled backup did not run in its window, or failed; resolves on the next successful backup of the same database.",
		Fire:        []string{"backup.failed", "backup.missed"}, Resolve: []string{"backup.succeeded"}, Severity: SeverityMajor,
		summary: func(e app.Event) string {
			if e.Type == "backup.missed" {
				return "the " + e.Subject + " backup missed its schedule"
			}
			return "the " + e.Subject + " backup failed: " + str(payload(e), "error")
		}},
	{ID: "backup.replication.failed", Name: "Backup replication failed", Component: "backup",
		Description: "Copying a backup to its S3-compatible store failed; resolves on the next successful copy.",
		Fire:        []string{"backup.replication.failed"}, Resolve: []string{"backup.replication.succeeded"}, Severity: SeverityMinor,
		summary: func(e app.Event) string {
			return "replicating the " + e.Subject + " backup failed: " + str(payload(e), "error")
		}},
	{ID: "dns.resolution.failed", Name: "Public FQDN does not resolve", Component: "dns",
		Description: "Resolving the public FQDN (the one scanners are given) failed; resolves when it resolves again.",
		Fire:        []string{"dns.resolution.failed"}, Resolve: []string{"dns.resolution.succeeded"}, Severity: SeverityMajor,
		summary: func(e app.Event) string { return "resolving " + e.Subject + " failed: " + str(payload(e), "error") }},
	{ID: "discovery.source.failed", Name: "Discovery source failed", Component: "discovery",
		Description: "An asset discovery source could not be read or its export was refused; nothing was changed. Resolves when the source runs cleanly again.",
		Fire:        []string{"discovery.failed"}, Resolve: []string{"discovery.recovered"}, Severity: SeverityMinor,
		summary: func(e app.Event) string {
			return "discovery source " + str(payload(e), "source") + " failed: " + str(payload(e), "error")
		}},
	{ID: "findings.detected", Name: "Unexpected open ports found", Component: "findings",
		Description: "A scan found open ports its baseline does not allow, or ports that had closed came back: one alarm per scan, listing them, with a link to the findings page filtered to that scan.",
		Fire:        []string{"findings.detected"}, Resolve: []string{}, Severity: SeverityMinor,
		summary: func(e app.Event) string { return findingsSummary(e, "scan "+e.Subject+" found") }},
	{ID: "findings.acceptance.expired", Name: "Finding acceptance expired", Component: "findings",
		Description: "Accepted findings whose acceptance ran out are open again: one alarm per sweep, listing them.",
		Fire:        []string{"findings.acceptance_expired"}, Resolve: []string{}, Severity: SeverityMinor,
		summary: func(e app.Event) string { return findingsSummary(e, "acceptance expired for") }},
	{ID: "notification.channel.failing", Name: "Notification channel failing", Component: "notifications",
		Description: "A channel could not deliver a notification within the give-up time, or answered 410 Gone and was disabled.",
		Fire:        []string{EventChannelFailing}, Resolve: []string{EventChannelDelivered}, Severity: SeverityMajor,
		summary: func(e app.Event) string {
			return "channel " + nameOr(e) + " cannot deliver: " + str(payload(e), "error")
		}},
}

// findingsSummary lists the findings of a findings event in one line: a scan's findings go
// out as one message, not one per port.
func findingsSummary(e app.Event, lead string) string {
	p := payload(e)
	list, _ := p["findings"].([]any)
	var parts []string
	for _, f := range list {
		if m, ok := f.(map[string]any); ok {
			item := str(m, "address") + ":" + str(m, "port")
			if k := str(m, "kind"); k == "reopened" {
				item += " (reopened)"
			}
			parts = append(parts, item)
		}
	}
	count := str(p, "count")
	if len(parts) < len(list) || count == "" {
		count = fmt.Sprint(len(parts))
	}
	more := ""
	if n, ok := num(p, "count"); ok && int(n) > len(parts) {
		more = fmt.Sprintf(" and %d more", int(n)-len(parts))
	}
	return fmt.Sprintf("%s %s unexpected open port(s): %s%s — %s", lead, count, strings.Join(parts, ", "), more, str(p, "link"))
}

// ruleByID finds a built-in rule.
func ruleByID(id string) (Rule, bool) {
	for _, r := range builtinRules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// eventTypes is every event type a rule listens for, each once: the module subscribes to them.
func eventTypes() []string {
	var out []string
	for _, r := range builtinRules {
		for _, t := range append(slices.Clone(r.Fire), r.Resolve...) {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// keyOf is the alarm key an event has under a rule.
func (r Rule) keyOf(e app.Event) (key, subject string) {
	subject = e.Subject
	if r.subjectOf != nil {
		subject = r.subjectOf(e)
	}
	return r.ID + ":" + subject, subject
}
