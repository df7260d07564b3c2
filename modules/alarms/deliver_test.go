package alarms

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// loopbackCert is a self-signed certificate for 127.0.0.1 and its PEM, for the TLS receivers.
func loopbackCert(t *testing.T) (tls.Certificate, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "receiver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// smtpReceiver is a real SMTP server (emersion/go-smtp) requiring STARTTLS and AUTH PLAIN.
type smtpReceiver struct {
	mu   sync.Mutex
	mail []*mail.Message
	from []string
}

type smtpSession struct {
	r      *smtpReceiver
	from   string
	authed bool
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "alerts" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(m.Body)
	m.Body = strings.NewReader(string(body))
	s.r.mu.Lock()
	s.r.mail, s.r.from = append(s.r.mail, m), append(s.r.from, s.from)
	s.r.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T, cert tls.Certificate) (*smtpReceiver, int) {
	r := &smtpReceiver{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{r: r}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r, ln.Addr().(*net.TCPAddr).Port
}

// rfc5424 parses one message: PRI, VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID,
// STRUCTURED-DATA and MSG, with the SD parameters unescaped.
var rfc5424 = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[.*?[^\\]\]|-) (.*)$`)
var sdParam = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

type syslogMessage struct {
	pri                    int
	time                   time.Time
	host, app, msgID, text string
	sdID                   string
	params                 map[string]string
}

func parse5424(t *testing.T, line string) syslogMessage {
	m := rfc5424.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("not RFC 5424: %q", line)
	}
	pri, _ := strconv.Atoi(m[1])
	at, err := time.Parse(time.RFC3339Nano, m[2])
	if err != nil {
		t.Fatalf("timestamp %q: %v", m[2], err)
	}
	out := syslogMessage{pri: pri, time: at, host: m[3], app: m[4], msgID: m[6], text: m[8], params: map[string]string{}}
	sd := strings.TrimSuffix(strings.TrimPrefix(m[7], "["), "]")
	out.sdID, _, _ = strings.Cut(sd, " ")
	for _, p := range sdParam.FindAllStringSubmatch(sd, -1) {
		out.params[p[1]] = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\]`, `]`).Replace(p[2])
	}
	return out
}

// startSyslog is a TLS syslog receiver reading octet-counted frames.
func startSyslog(t *testing.T, cert tls.Certificate) (string, chan string) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lines := make(chan string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					n, err := br.ReadString(' ')
					if err != nil {
						return
					}
					size, _ := strconv.Atoi(strings.TrimSpace(n))
					buf := make([]byte, size)
					if _, err := io.ReadFull(br, buf); err != nil {
						return
					}
					lines <- string(buf)
				}
			}()
		}
	}()
	return ln.Addr().String(), lines
}

// Every channel kind against a real receiver: Slack-shaped HTTP, SMTP with STARTTLS and AUTH,
// syslog over TLS; each through the outbox and through the test button.
func TestChannelsDeliverToRealReceivers(t *testing.T) {
	f := newFixture(t)
	cert, certPEM := loopbackCert(t)

	var slackMu sync.Mutex
	var slack []map[string]any
	slackSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if json.NewDecoder(r.Body).Decode(&body) != nil || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		slackMu.Lock()
		slack = append(slack, body)
		slackMu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer slackSrv.Close()
	smtpRx, smtpPort := startSMTP(t, cert)
	syslogAddr, lines := startSyslog(t, cert)

	if r := f.owner.Patch("/api/v1/settings", map[string]any{"public_fqdn": "mipo.example.com"}); r.Status != http.StatusOK {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	sl := f.channel(map[string]any{"name": "slack", "kind": "slack", "slack": map[string]any{"url": slackSrv.URL + "/services/T/B/X"}})
	em := f.channel(map[string]any{"name": "mail", "kind": "email", "email": map[string]any{"host": "127.0.0.1", "port": smtpPort,
		"security": "starttls", "username": "alerts", "password": "s3cret", "from": "mipo@example.com", "to": []string{"noc@example.com"}, "ca_pem": certPEM}})
	sy := f.channel(map[string]any{"name": "siem", "kind": "syslog", "syslog": map[string]any{"address": syslogAddr, "transport": "tls", "ca_pem": certPEM}})
	if sl.Slack.URL != "" || em.Email.Password != "" {
		t.Fatalf("secrets must not come back: %+v %+v", sl.Slack, em.Email)
	}
	for _, ch := range []CreatedChannel{em, sy} {
		f.owner.Post("/api/v1/alarm-routes", map[string]any{"name": "all to " + ch.Name, "channel_id": ch.ID})
	}
	var stored string
	f.svc.DB.Config.QueryRow(t.Context(), `SELECT secret FROM alarm_channels WHERE id = $1`, em.ID).Scan(&stored)
	if stored == "" || strings.Contains(stored, "s3cret") {
		t.Fatalf("the SMTP password must be sealed at rest: %q", stored)
	}

	f.apply(ev("scanner.offline", "s1", map[string]any{"name": "edge <1>"}))
	f.deliver()

	slackMu.Lock()
	if len(slack) != 1 {
		t.Fatalf("slack got %d messages", len(slack))
	}
	text := slack[0]["blocks"].([]any)[0].(map[string]any)["text"].(map[string]any)["text"].(string)
	slackMu.Unlock()
	for _, want := range []string{"*Severity:* major", "*Component:* scanner", "edge &lt;1&gt; stopped sending heartbeats", "<https://mipo.example.com/alarms/"} {
		if !strings.Contains(text, want) {
			t.Fatalf("slack text lacks %q:\n%s", want, text)
		}
	}
	smtpRx.mu.Lock()
	if len(smtpRx.mail) != 1 || smtpRx.from[0] != "mipo@example.com" {
		t.Fatalf("mail: %d", len(smtpRx.mail))
	}
	m := smtpRx.mail[0]
	body, _ := io.ReadAll(m.Body)
	smtpRx.mu.Unlock()
	if !strings.Contains(m.Header.Get("Subject"), "[MAJOR] scanner opened") || !strings.Contains(string(body), "https://mipo.example.com/alarms/") {
		t.Fatalf("mail: %v\n%s", m.Header, body)
	}
	msg := parse5424(t, <-lines)
	if msg.pri != 16*8+3 || msg.app != "mipo" || msg.msgID != "alarm.opened" || msg.sdID != sdID ||
		msg.params["rule"] != "scanner.heartbeat.lost" || msg.params["severity"] != "major" || msg.params["transition"] != "opened" {
		t.Fatalf("syslog: %+v", msg)
	}

	// The test button sends a real message and says how it went.
	for _, ch := range []CreatedChannel{sl, em, sy} {
		var res TestResult
		r := f.owner.Post("/api/v1/alarm-channels/"+ch.ID+"/test", nil)
		r.JSON(t, &res)
		if r.Status != http.StatusOK || !res.OK {
			t.Fatalf("test %s: %d %s", ch.Kind, r.Status, r.Body)
		}
	}
	if m := parse5424(t, <-lines); m.msgID != "test" {
		t.Fatalf("syslog test: %+v", m)
	}
	var log struct{ Items []Delivery }
	f.owner.Get("/api/v1/alarm-deliveries").JSON(t, &log)
	if len(log.Items) != 6 || log.Items[0].Kind != "test" {
		t.Fatalf("delivery log: %+v", log.Items)
	}
	// A wrong password fails the test, and says so.
	f.owner.Patch("/api/v1/alarm-channels/"+em.ID, map[string]any{"email": map[string]any{"host": "127.0.0.1", "port": smtpPort,
		"security": "starttls", "username": "alerts", "password": "wrong", "from": "mipo@example.com", "to": []string{"noc@example.com"}, "ca_pem": certPEM}})
	var res TestResult
	f.owner.Post("/api/v1/alarm-channels/"+em.ID+"/test", nil).JSON(t, &res)
	if res.OK || res.Error == "" {
		t.Fatalf("a refused login must fail the test: %+v", res)
	}
}

// Bad channel input is refused naming the field, and changes nothing.
func TestChannelInputIsValidated(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "", "kind": "webhook", "webhook": map[string]any{"url": "http://x"}}, "name"},
		{map[string]any{"name": "a", "kind": "pager"}, "kind"},
		{map[string]any{"name": "a", "kind": "webhook", "webhook": map[string]any{"url": "ftp://x"}}, "webhook.url"},
		{map[string]any{"name": "a", "kind": "email", "email": map[string]any{"host": "h", "port": 25, "security": "none", "from": "x@y", "to": []string{"nope"}}}, "email.to[0]"},
		{map[string]any{"name": "a", "kind": "syslog", "syslog": map[string]any{"address": "nohost", "transport": "tcp"}}, "syslog.address"},
		{map[string]any{"name": "a", "kind": "syslog", "syslog": map[string]any{"address": "h:514", "transport": "udp"}}, "syslog.transport"},
	} {
		if r := f.owner.Post("/api/v1/alarm-channels", c.body); r.Status != http.StatusBadRequest || r.ErrorField() != c.field {
			t.Fatalf("%v: want 400 on %s, got %d %s", c.body, c.field, r.Status, r.Body)
		}
	}
	var page struct{ Items []Channel }
	f.owner.Get("/api/v1/alarm-channels").JSON(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("refused input stored a channel: %+v", page.Items)
	}
}
