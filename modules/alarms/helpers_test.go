package alarms

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/audit"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// fixture is a manager process on fresh databases with a clock the test moves, and an outbox
// worker the test runs by hand.
type fixture struct {
	t     *testing.T
	srv   *apptest.Server
	owner *apptest.Client
	clock *app.FakeClock
	svc   *Service
	w     *Worker
}

func newFixture(t *testing.T) *fixture { t.Helper(); return newFixtureRoles(t, "manager") }

func newFixtureRoles(t *testing.T, roles string) *fixture {
	t.Helper()
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off", "MIPO_ROLE": roles,
		"MIPO_SESSION_IDLE": "720h", "MIPO_SESSION_MAX": "720h",
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := app.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	srv := apptest.Start(t, cfg, dbs, app.Options{Clock: clock})
	svc := services[srv.App.DB.ConfigDB().Key()]
	f := &fixture{t: t, srv: srv, owner: rbactest.Owner(t, srv), clock: clock, svc: svc,
		w: &Worker{Svc: svc, Secrets: srv.App.Secrets, Clock: clock, GiveUpAfter: time.Hour, BaseBackoff: 10 * time.Second,
			MaxBackoff: 5 * time.Minute, Concurrency: 1, Poll: time.Second}}
	return f
}

// apply runs events through the rules as the event bus would.
func (f *fixture) apply(events ...app.Event) {
	f.t.Helper()
	if err := f.svc.Apply(context.Background(), events...); err != nil {
		f.t.Fatal(err)
	}
}

func ev(typ, subject string, payload map[string]any) app.Event {
	body, _ := json.Marshal(payload)
	return app.Event{Type: typ, Subject: subject, Payload: body}
}

// deliver routes every transition and sends every due notification.
func (f *fixture) deliver() {
	f.t.Helper()
	ctx := context.Background()
	// The manager's own relay runs beside this one; wait until every transition is routed,
	// whichever of the two routed it.
	apptest.WaitFor(f.t, 10*time.Second, "every transition routed", func() bool {
		if _, err := f.svc.Relay(ctx); err != nil {
			f.t.Fatal(err)
		}
		var n int
		f.svc.DB.Config.QueryRow(ctx, `SELECT count(*) FROM alarm_transitions WHERE NOT queued`).Scan(&n)
		return n == 0
	})
	for {
		sent, err := f.w.DeliverOne(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if !sent {
			return
		}
	}
}

// alarms lists alarms matching a query string.
func (f *fixture) alarms(query string) []Alarm {
	f.t.Helper()
	var page struct{ Items []Alarm }
	r := f.owner.Get("/api/v1/alarms?" + query)
	if r.Status != http.StatusOK {
		f.t.Fatalf("alarms: %d %s", r.Status, r.Body)
	}
	r.JSON(f.t, &page)
	return page.Items
}

func (f *fixture) channel(body map[string]any) CreatedChannel {
	f.t.Helper()
	r := f.owner.Post("/api/v1/alarm-channels", body)
	if r.Status != http.StatusCreated {
		f.t.Fatalf("channel: %d %s", r.Status, r.Body)
	}
	var ch CreatedChannel
	r.JSON(f.t, &ch)
	return ch
}

// received is one request a test receiver got.
type received struct {
	ID      string
	Message Message
	Header  http.Header
	Body    []byte
}

// webhookReceiver is an HTTP receiver that verifies every request with the Standard Webhooks
// project's own Go library (not mipo's signing code) and answers with the status next() gives.
type webhookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	bad    int
	status func() int
	secret string
	hold   chan struct{} // when set, each request waits on it before answering
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{status: func() int { return http.StatusNoContent }}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		secret, hold := r.secret, r.hold
		r.mu.Unlock()
		if secret != "" {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil || wh.Verify(body, req.Header) != nil {
				r.mu.Lock()
				r.bad++
				r.mu.Unlock()
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		var m Message
		json.Unmarshal(body, &m)
		r.mu.Lock()
		h := req.Header.Clone()
		h.Set("X-Remote", req.RemoteAddr)
		r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Message: m, Header: h, Body: body})
		r.mu.Unlock()
		if hold != nil {
			<-hold
		}
		w.WriteHeader(r.status())
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *webhookReceiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// forRule is what the receiver got about one rule's alarms.
func (r *webhookReceiver) forRule(rule string) []received {
	var out []received
	for _, g := range r.all() {
		if g.Message.Data.Alarm != nil && g.Message.Data.Alarm.RuleID == rule {
			out = append(out, g)
		}
	}
	return out
}

func kindsOf(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Message.Type
	}
	return out
}
