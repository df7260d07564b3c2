package alarms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// sendEmail sends the message as a plain-text mail through the channel's SMTP server, built and
// sent by go-mail (MIME, encodings, STARTTLS, implicit TLS and SMTP AUTH are its business, not
// ours). STARTTLS is mandatory when asked for: a server that does not offer it is a failure,
// never a silent downgrade.
func sendEmail(ctx context.Context, c *EmailConfig, password string, n Notification) Result {
	msg := gomail.NewMsg()
	if err := msg.From(c.From); err != nil {
		return Result{Error: "from: " + err.Error()}
	}
	if err := msg.To(c.To...); err != nil {
		return Result{Error: "to: " + err.Error()}
	}
	msg.Subject(headline(n.Message))
	msg.SetMessageIDWithValue(n.ID + "@mipo")
	msg.SetGenHeader("X-Mipo-Alarm", n.Message.Data.Alarm.ID)
	msg.SetBodyString(gomail.TypeTextPlain, emailBody(n.Message))
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTimeout(sendTimeout), gomail.WithTLSConfig(tlsConfig(c.Host, c.CAPEM))}
	switch c.Security {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(c.Username), gomail.WithPassword(password))
	}
	client, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return Result{Error: err.Error()}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		res := Result{Error: err.Error()}
		var se *gomail.SendError
		if errors.As(err, &se) {
			res.Status = se.ErrorCode()
		}
		return res
	}
	return Result{OK: true, Status: 250}
}

func emailBody(m Message) string {
	a := m.Data.Alarm
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", headline(m))
	if m.Type != "test" {
		fmt.Fprintf(&b, "Severity:   %s\nComponent:  %s\nRule:       %s (%s)\nState:      %s\nSeen:       %d times, first %s, last %s\n",
			a.Severity, a.Component, m.Data.RuleName, a.RuleID, a.State, a.Count, a.FirstSeenAt.Format("2006-01-02 15:04:05 MST"),
			a.LastSeenAt.Format("2006-01-02 15:04:05 MST"))
		if t := m.Data.Transition; t.Comment != "" || t.Actor != "" {
			fmt.Fprintf(&b, "By:         %s\n", t.Actor)
			if t.Comment != "" {
				fmt.Fprintf(&b, "Comment:    %s\n", t.Comment)
			}
		}
	}
	if m.Data.URL != "" {
		fmt.Fprintf(&b, "\n%s\n", m.Data.URL)
	}
	return b.String()
}
