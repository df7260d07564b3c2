package alarms

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// sdID is the structured-data id of mipo's parameters. 32473 is the private enterprise number
// RFC 5612 sets aside for documentation and examples; mipo has none of its own.
const sdID = "mipo@32473"

// facilityLocal0 is the syslog facility mipo's messages carry (local use 0).
const facilityLocal0 = 16

// syslogSeverity maps an alarm to a syslog severity; a resolution is a notice.
func syslogSeverity(m Message) int {
	if m.Data.Transition.Kind == TransitionResolved || m.Type == "test" {
		return 5
	}
	switch m.Data.Alarm.Severity {
	case SeverityCritical:
		return 2
	case SeverityMajor:
		return 3
	case SeverityMinor, SeverityWarning:
		return 4
	default:
		return 6
	}
}

// sdEscape escapes a structured-data parameter value (RFC 5424 section 6.3.3).
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

// syslogLine is one RFC 5424 message: header, structured data with the alarm's fields, and
// the headline as the free-form message.
func syslogLine(m Message, appName, host string, now time.Time) string {
	a := m.Data.Alarm
	if appName == "" {
		appName = "mipo"
	}
	if host == "" {
		host = "-"
	}
	pri := facilityLocal0*8 + syslogSeverity(m)
	params := [][2]string{{"alarm_id", a.ID}, {"key", a.Key}, {"rule", a.RuleID}, {"component", a.Component},
		{"severity", a.Severity}, {"state", a.State}, {"transition", m.Data.Transition.Kind}, {"count", strconv.FormatInt(a.Count, 10)}}
	if m.Data.URL != "" {
		params = append(params, [2]string{"url", m.Data.URL})
	}
	var sd strings.Builder
	sd.WriteString("[" + sdID)
	for _, p := range params {
		fmt.Fprintf(&sd, ` %s="%s"`, p[0], sdEscape(p[1]))
	}
	sd.WriteString("]")
	msgID := strings.ReplaceAll(m.Type, " ", "_")
	return fmt.Sprintf("<%d>1 %s %s %s %d %s %s %s", pri, now.UTC().Format(time.RFC3339Nano), host, appName, os.Getpid(), msgID,
		sd.String(), headline(m))
}

// sendSyslog writes one octet-counted frame (RFC 6587 section 3.4.1) over TCP, or TLS (RFC 5425).
func sendSyslog(ctx context.Context, c *SyslogConfig, n Notification) Result {
	d := &net.Dialer{Timeout: sendTimeout}
	var conn net.Conn
	var err error
	if c.Transport == "tls" {
		host, _, _ := net.SplitHostPort(c.Address)
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConfig(host, c.CAPEM)}).DialContext(ctx, "tcp", c.Address)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.Address)
	}
	if err != nil {
		return Result{Error: err.Error()}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	host, _ := os.Hostname()
	line := syslogLine(n.Message, c.AppName, host, time.Now())
	if _, err := fmt.Fprintf(conn, "%d %s", len(line), line); err != nil {
		return Result{Error: err.Error()}
	}
	return Result{OK: true}
}
