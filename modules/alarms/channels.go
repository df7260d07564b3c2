package alarms

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Channel kinds.
const (
	KindWebhook = "webhook"
	KindSlack   = "slack"
	KindEmail   = "email"
	KindSyslog  = "syslog"
)

var kinds = []string{KindWebhook, KindSlack, KindEmail, KindSyslog}

// Channel is where notifications go. Its secret (webhook signing key, Slack URL, SMTP
// password) is sealed at rest and never shown again after it is set.
type Channel struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Kind           string          `json:"kind" doc:"webhook, slack, email or syslog."`
	Enabled        bool            `json:"enabled"`
	Webhook        *WebhookConfig  `json:"webhook,omitempty"`
	Slack          *SlackConfig    `json:"slack,omitempty"`
	Email          *EmailConfig    `json:"email,omitempty"`
	Syslog         *SyslogConfig   `json:"syslog,omitempty"`
	HasSecret      bool            `json:"has_secret"`
	DisabledReason string          `json:"disabled_reason" doc:"Why mipo disabled it (a webhook answering 410 Gone), if it did."`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	secret         string          // sealed
	raw            json.RawMessage // the config column
}

// WebhookConfig is an outgoing webhook signed per the Standard Webhooks specification.
type WebhookConfig struct {
	URL string `json:"url" doc:"http or https URL that receives a POST per notification."`
}

// SlackConfig is a Slack incoming webhook. The URL is the secret: it is stored sealed and shown
// only as its host.
type SlackConfig struct {
	URL     string `json:"url,omitempty" doc:"The incoming webhook URL (write only)."`
	URLHost string `json:"url_host,omitempty" doc:"The URL's host, to recognise it."`
}

// EmailConfig sends mail through an SMTP server.
type EmailConfig struct {
	Host     string   `json:"host"`
	Port     int      `json:"port" doc:"587 for STARTTLS, 465 for implicit TLS, 25 for none."`
	Security string   `json:"security" doc:"starttls, tls (implicit) or none."`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty" doc:"Write only; sealed at rest."`
	From     string   `json:"from"`
	To       []string `json:"to"`
	CAPEM    string   `json:"ca_pem,omitempty" doc:"PEM certificates to trust for the server besides the system's (a private CA)."`
}

// SyslogConfig sends RFC 5424 messages to a SIEM over TCP or TLS (octet-counted framing).
type SyslogConfig struct {
	Address   string `json:"address" doc:"host:port of the syslog receiver."`
	Transport string `json:"transport" doc:"tcp or tls."`
	CAPEM     string `json:"ca_pem,omitempty" doc:"PEM certificates to trust for TLS besides the system's."`
	AppName   string `json:"app_name,omitempty" doc:"APP-NAME of each message (default mipo)."`
}

// ChannelInput creates a channel: name, kind, and the settings of that kind.
type ChannelInput struct {
	Name    string         `json:"name"`
	Kind    string         `json:"kind"`
	Enabled *bool          `json:"enabled,omitempty"`
	Webhook *WebhookConfig `json:"webhook,omitempty"`
	Slack   *SlackConfig   `json:"slack,omitempty"`
	Email   *EmailConfig   `json:"email,omitempty"`
	Syslog  *SyslogConfig  `json:"syslog,omitempty"`
}

// ChannelUpdate changes a channel; absent fields are left as they are. A kind's settings are
// replaced whole, except a secret left empty, which is kept.
type ChannelUpdate struct {
	Name    *string        `json:"name,omitempty"`
	Enabled *bool          `json:"enabled,omitempty"`
	Webhook *WebhookConfig `json:"webhook,omitempty"`
	Slack   *SlackConfig   `json:"slack,omitempty"`
	Email   *EmailConfig   `json:"email,omitempty"`
	Syslog  *SyslogConfig  `json:"syslog,omitempty"`
}

// NewChannel is a created channel; for a webhook it carries the signing secret, shown once.
type NewChannel struct {
	Channel
	SigningSecret string `json:"signing_secret,omitempty" doc:"whsec_…: the key receivers verify webhook-signature with. Shown once."`
}

var errChannelNotFound = app.NotFound("notification channel")

const channelColumns = `id, name, kind, enabled, config, secret, disabled_reason, created_at, updated_at`

func scanChannel(row pgx.Row) (*Channel, error) {
	c := &Channel{}
	err := row.Scan(&c.ID, &c.Name, &c.Kind, &c.Enabled, &c.raw, &c.secret, &c.DisabledReason, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errChannelNotFound
	}
	if err != nil {
		return nil, err
	}
	c.HasSecret = c.secret != ""
	var target any
	switch c.Kind {
	case KindWebhook:
		c.Webhook = &WebhookConfig{}
		target = c.Webhook
	case KindSlack:
		c.Slack = &SlackConfig{}
		target = c.Slack
	case KindEmail:
		c.Email = &EmailConfig{}
		target = c.Email
	case KindSyslog:
		c.Syslog = &SyslogConfig{}
		target = c.Syslog
	}
	return c, json.Unmarshal(c.raw, target)
}

// GetChannel loads one channel.
func GetChannel(ctx context.Context, db app.Querier, id string) (*Channel, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errChannelNotFound
	}
	return scanChannel(db.QueryRow(ctx, `SELECT `+channelColumns+` FROM alarm_channels WHERE id = $1`, id))
}

func listChannels(ctx context.Context, db app.Querier) ([]*Channel, error) {
	rows, err := db.Query(ctx, `SELECT `+channelColumns+` FROM alarm_channels ORDER BY lower(name)`)
	out, err := app.Collect(rows, err, scanChannel)
	if out == nil {
		out = []*Channel{}
	}
	return out, err
}

func secretPurpose(kind string) string { return "alarms.channel." + kind + ".secret" }

// newSigningSecret is a Standard Webhooks secret: whsec_ and 32 random bytes in base64.
func newSigningSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// settingsOf validates the kind's settings and splits them into the stored config (no secret)
// and the secret. keep is the sealed secret already stored (on update), kept when no new one
// is given.
func settingsOf(kind string, in ChannelInput, box sealer, keep string) (config []byte, sealed string, shown string, err error) {
	sealed = keep
	seal := func(secret string) error {
		if secret == "" {
			return nil
		}
		sealed, err = box.Seal(secretPurpose(kind), secret)
		return err
	}
	var stored any
	switch kind {
	case KindWebhook:
		if in.Webhook == nil {
			return nil, "", "", app.Invalid("webhook", "required", "a webhook channel needs webhook.url")
		}
		if err := checkURL("webhook.url", in.Webhook.URL); err != nil {
			return nil, "", "", err
		}
		stored = WebhookConfig{URL: in.Webhook.URL}
		if keep == "" {
			shown = newSigningSecret()
			if err := seal(shown); err != nil {
				return nil, "", "", err
			}
		}
	case KindSlack:
		if in.Slack == nil || (in.Slack.URL == "" && keep == "") {
			return nil, "", "", app.Invalid("slack.url", "required", "a Slack channel needs slack.url, the incoming webhook URL")
		}
		host := ""
		if in.Slack.URL != "" {
			if err := checkURL("slack.url", in.Slack.URL); err != nil {
				return nil, "", "", err
			}
			u, _ := url.Parse(in.Slack.URL)
			host = u.Host
			if err := seal(in.Slack.URL); err != nil {
				return nil, "", "", err
			}
		}
		stored = SlackConfig{URLHost: host}
	case KindEmail:
		e := in.Email
		if e == nil {
			return nil, "", "", app.Invalid("email", "required", "an email channel needs email.host, port, security, from and to")
		}
		if err := checkEmail(e); err != nil {
			return nil, "", "", err
		}
		if err := seal(e.Password); err != nil {
			return nil, "", "", err
		}
		c := *e
		c.Password = ""
		stored = c
	case KindSyslog:
		s := in.Syslog
		if s == nil {
			return nil, "", "", app.Invalid("syslog", "required", "a syslog channel needs syslog.address and transport")
		}
		if err := checkSyslog(s); err != nil {
			return nil, "", "", err
		}
		stored = *s
	}
	config, err = json.Marshal(stored)
	return config, sealed, shown, err
}

type sealer interface {
	Seal(purpose, plaintext string) (string, error)
}

func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2000 {
		return app.Invalid(field, "invalid_url", field+" must be an http or https URL with a host")
	}
	return nil
}

func checkHostPort(field, hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return app.Invalid(field, "invalid_address", field+" must be host:port, such as siem.example.com:6514")
	}
	return nil
}

func checkPEM(field, p string) error {
	if p == "" {
		return nil
	}
	if !x509.NewCertPool().AppendCertsFromPEM([]byte(p)) {
		return app.Invalid(field, "invalid_pem", field+" holds no PEM certificate")
	}
	return nil
}

func checkEmail(e *EmailConfig) error {
	if e.Host == "" || strings.ContainsAny(e.Host, " /:") {
		return app.Invalid("email.host", "invalid_host", "email.host must be the SMTP server's host name or address, without a port")
	}
	if e.Port < 1 || e.Port > 65535 {
		return app.Invalid("email.port", "invalid_port", "email.port must be from 1 to 65535")
	}
	if !slices.Contains([]string{"starttls", "tls", "none"}, e.Security) {
		return app.Invalid("email.security", "invalid_security", "email.security must be starttls, tls or none")
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		return app.Invalid("email.from", "invalid_address", "email.from must be an email address")
	}
	if len(e.To) == 0 || len(e.To) > 50 {
		return app.Invalid("email.to", "invalid_recipients", "email.to must list 1 to 50 addresses")
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return app.Invalid("email.to["+strconv.Itoa(i)+"]", "invalid_address", strconv.Quote(to)+" is not an email address")
		}
	}
	return checkPEM("email.ca_pem", e.CAPEM)
}

func checkSyslog(s *SyslogConfig) error {
	if err := checkHostPort("syslog.address", s.Address); err != nil {
		return err
	}
	if s.Transport != "tcp" && s.Transport != "tls" {
		return app.Invalid("syslog.transport", "invalid_transport", "syslog.transport must be tcp or tls")
	}
	if len(s.AppName) > 48 || strings.ContainsAny(s.AppName, " \t\n") {
		return app.Invalid("syslog.app_name", "invalid_app_name", "syslog.app_name is at most 48 printable characters without spaces")
	}
	return checkPEM("syslog.ca_pem", s.CAPEM)
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", app.Invalid("name", "invalid_name", "name must be 1 to 100 characters")
	}
	return name, nil
}

func nameTaken(err error, what string) error {
	if app.IsUniqueViolation(err) {
		return app.Conflict("name_taken", "another "+what+" has that name")
	}
	return err
}

// createChannel stores a channel. The first channel of an install with no routes also gets
// the default route: its critical and major alarms.
func createChannel(ctx context.Context, tx pgx.Tx, box sealer, in ChannelInput, now time.Time) (*NewChannel, *Route, error) {
	name, err := checkName(in.Name)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(kinds, in.Kind) {
		return nil, nil, app.Invalid("kind", "invalid_kind", "kind must be one of "+strings.Join(kinds, ", "))
	}
	config, sealed, shown, err := settingsOf(in.Kind, in, box, "")
	if err != nil {
		return nil, nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	id := uuid.NewString()
	_, err = tx.Exec(ctx, `INSERT INTO alarm_channels (id, name, kind, enabled, config, secret, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, name, in.Kind, enabled, config, sealed, now)
	if err != nil {
		return nil, nil, nameTaken(err, "channel")
	}
	ch, err := GetChannel(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	var routes int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM alarm_routes`).Scan(&routes); err != nil {
		return nil, nil, err
	}
	var def *Route
	if routes == 0 {
		def, err = createRoute(ctx, tx, RouteInput{Name: "Critical and major alarms", ChannelID: id,
			Severities: []string{SeverityCritical, SeverityMajor}}, now)
		if err != nil {
			return nil, nil, err
		}
	}
	return &NewChannel{Channel: *ch, SigningSecret: shown}, def, nil
}

func updateChannel(ctx context.Context, tx pgx.Tx, box sealer, id string, in ChannelUpdate, now time.Time) (before, after *Channel, err error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, nil, errChannelNotFound
	}
	if before, err = scanChannel(tx.QueryRow(ctx, `SELECT `+channelColumns+` FROM alarm_channels WHERE id = $1 FOR UPDATE`, id)); err != nil {
		return nil, nil, err
	}
	name, enabled, reason := before.Name, before.Enabled, before.DisabledReason
	if in.Name != nil {
		if name, err = checkName(*in.Name); err != nil {
			return nil, nil, err
		}
	}
	if in.Enabled != nil {
		enabled = *in.Enabled
		if enabled {
			reason = ""
		}
	}
	config, sealed := []byte(before.raw), before.secret
	// A Slack channel's settings are its URL alone: without a new one there is nothing to change.
	slackKept := in.Slack != nil && in.Slack.URL == ""
	if (in.Webhook != nil || in.Slack != nil || in.Email != nil || in.Syslog != nil) && !slackKept {
		full := ChannelInput{Webhook: in.Webhook, Slack: in.Slack, Email: in.Email, Syslog: in.Syslog}
		if config, sealed, _, err = settingsOf(before.Kind, full, box, before.secret); err != nil {
			return nil, nil, err
		}
	}
	_, err = tx.Exec(ctx, `UPDATE alarm_channels SET name = $2, enabled = $3, config = $4, secret = $5, disabled_reason = $6, updated_at = $7
		WHERE id = $1`, id, name, enabled, config, sealed, reason, now)
	if err != nil {
		return nil, nil, nameTaken(err, "channel")
	}
	after, err = GetChannel(ctx, tx, id)
	return before, after, err
}

// rotateSecret gives a webhook channel a new signing secret, shown once.
func rotateSecret(ctx context.Context, tx pgx.Tx, box sealer, id string, now time.Time) (*NewChannel, error) {
	ch, err := GetChannel(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if ch.Kind != KindWebhook {
		return nil, app.Conflict("not_a_webhook", "only webhook channels have a signing secret")
	}
	secret := newSigningSecret()
	sealed, err := box.Seal(secretPurpose(KindWebhook), secret)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE alarm_channels SET secret = $2, updated_at = $3 WHERE id = $1`, id, sealed, now); err != nil {
		return nil, err
	}
	ch.UpdatedAt = now
	return &NewChannel{Channel: *ch, SigningSecret: secret}, nil
}

func deleteChannel(ctx context.Context, tx pgx.Tx, id string) (*Channel, error) {
	ch, err := GetChannel(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM alarm_channels WHERE id = $1`, id)
	return ch, err
}

// disableChannel turns a channel off on mipo's own account (a webhook answering 410 Gone).
func disableChannel(ctx context.Context, tx pgx.Tx, id, reason string, now time.Time) (before, after *Channel, err error) {
	if before, err = GetChannel(ctx, tx, id); err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE alarm_channels SET enabled = false, disabled_reason = $2, updated_at = $3 WHERE id = $1`,
		id, reason, now); err != nil {
		return nil, nil, err
	}
	after, err = GetChannel(ctx, tx, id)
	return before, after, err
}
