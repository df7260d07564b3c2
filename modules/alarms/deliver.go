package alarms

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"time"

	"mipo/app"
)

// sendTimeout bounds one attempt on every channel kind.
const sendTimeout = 10 * time.Second

// Send makes one attempt to deliver n through ch, with its secret opened from the box.
func Send(ctx context.Context, box *app.SecretBox, ch *Channel, n Notification) Result {
	secret := ""
	if ch.secret != "" {
		var err error
		if secret, err = box.Open(secretPurpose(ch.Kind), ch.secret); err != nil {
			return Result{Error: err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	start := time.Now()
	var res Result
	switch ch.Kind {
	case KindWebhook:
		res = sendWebhook(ctx, ch.Webhook, secret, n)
	case KindSlack:
		res = sendSlack(ctx, secret, n)
	case KindEmail:
		res = sendEmail(ctx, ch.Email, secret, n)
	case KindSyslog:
		res = sendSyslog(ctx, ch.Syslog, n)
	default:
		res = Result{Error: "unknown channel kind " + ch.Kind}
	}
	res.Latency = time.Since(start)
	return res
}

// httpClient never follows redirects: a notification goes to the URL the operator gave, and a
// redirect is reported as the failure it is.
var httpClient = &http.Client{
	Timeout:       sendTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// post sends a JSON body and reads the answer into a Result: 2xx delivered, 410 gone.
func post(ctx context.Context, url string, body []byte, header http.Header) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return Result{Error: err.Error()}
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mipo/"+app.Version)
	resp, err := httpClient.Do(req)
	if err != nil {
		return Result{Error: err.Error()}
	}
	defer resp.Body.Close()
	res := Result{Status: resp.StatusCode, OK: resp.StatusCode/100 == 2, Gone: resp.StatusCode == http.StatusGone}
	if !res.OK {
		res.Error = fmt.Sprintf("the receiver answered %s", resp.Status)
	}
	return res
}

// tlsConfig trusts the system's roots and the PEM certificates given (a private CA).
func tlsConfig(serverName, caPEM string) *tls.Config {
	c := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if caPEM != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pool.AppendCertsFromPEM([]byte(caPEM))
		c.RootCAs = pool
	}
	return c
}

// headline is the one-line summary every human-facing channel starts with.
func headline(m Message) string {
	a := m.Data.Alarm
	if m.Type == "test" {
		return "mipo test notification"
	}
	return fmt.Sprintf("[%s] %s %s: %s", strings.ToUpper(a.Severity), a.Component, m.Data.Transition.Kind, a.Summary)
}

// testMessage is what the channel test button sends: a well-formed message about no alarm.
func testMessage(now time.Time) Message {
	a := &Alarm{ID: "00000000-0000-0000-0000-000000000000", Key: "test", RuleID: "test", Component: "notifications",
		Severity: SeverityInfo, State: StateOpen, Summary: "a test message from mipo: this channel works", Detail: []byte("{}"),
		Count: 1, FirstSeenAt: now, LastSeenAt: now}
	return Message{Type: "test", Timestamp: now, Data: MessageData{Alarm: a, RuleName: "test",
		Transition: Transition{AlarmID: a.ID, At: now, Kind: TransitionOpened, Severity: SeverityInfo, Actor: "test"}}}
}
