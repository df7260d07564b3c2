package tls

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/challenge/dns01"

	"mipo/app"
	"mipo/app/apptest"
)

func setFQDN(t *testing.T, c *apptest.Client, fqdn string) {
	t.Helper()
	if r := c.Patch("/api/v1/settings", map[string]string{"public_fqdn": fqdn}); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
}

func issue(t *testing.T, c *apptest.Client) Attempt {
	t.Helper()
	var at Attempt
	r := c.Post("/api/v1/tls/acme/issue", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("issue: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &at)
	return at
}

// Against Let's Encrypt's test CA: HTTP-01 issuance served at once by the listener (a new
// connection sees the new serial while an old one finishes), a failed challenge recorded with
// its back-off and the alarm's event, and renewal two thirds into the lifetime on an injected
// clock.
func TestACMEHTTP01IssuesFailsAndRenews(t *testing.T) {
	ctx := context.Background()
	clock := app.NewFakeClock(time.Now())
	srv, owner := start(t, clock)
	p := startPebble(t, portOf(t, srv.URL))
	s := serviceOf(t, srv)
	s.acme.httpClient = p.client
	setFQDN(t, owner, "acme.example.test")
	r := owner.Do(http.MethodPut, "/api/v1/tls/acme", ACMEInput{Enabled: true, DirectoryURL: p.directory, Email: "ops@example.test", Challenge: "http-01"})
	if r.Status != http.StatusOK {
		t.Fatalf("configure: %d %s", r.Status, r.Body)
	}

	// A TLS listener on the live certificate, as `mipo serve` runs one.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", app.ServerTLSConfig(srv.App.Config.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	before, oldConn := servedSerial(t, ln.Addr().String())
	defer oldConn.Close()

	at := issue(t, owner)
	if !at.OK {
		t.Fatalf("HTTP-01 issuance failed: %s", at.Error)
	}
	issued, _ := servedSerial(t, ln.Addr().String())
	if issued == before {
		t.Fatal("a new connection still gets the old certificate")
	}
	io.WriteString(oldConn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if res, err := http.ReadResponse(bufio.NewReader(oldConn), nil); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the connection made before the switch: %v", err)
	}
	o := overview(t, owner)
	if o.Active.Source != "acme" || o.Active.Serial != issued || !strings.Contains(o.Active.Issuer, "Pebble") || o.ACME.AccountURI == "" || !o.HSTS {
		t.Fatalf("after issuance: %+v %+v", o.Active, o.ACME)
	}
	if due, err := s.acme.Due(ctx); err != nil || due {
		t.Fatalf("due right after issuance: %v %v", due, err)
	}

	// A challenge that cannot succeed: the name resolves where nothing answers.
	p.challtest(t, "/add-a", map[string]any{"host": "fail.example.test.", "addresses": []string{"127.0.0.2"}})
	setFQDN(t, owner, "fail.example.test")
	failed := issue(t, owner)
	if failed.OK || failed.Error == "" {
		t.Fatalf("a failed challenge counted as success: %+v", failed)
	}
	var events int
	srv.App.DB.Jobs.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, EventRenewalFailed).Scan(&events)
	o = overview(t, owner)
	if events != 1 || o.ACME.Failures != 1 || o.ACME.NextAttemptAt == nil || o.ACME.NextAttemptAt.Sub(failed.FinishedAt.Add(backoffMin)).Abs() > time.Millisecond ||
		len(o.Attempts) != 2 || o.Active.Serial != issued {
		t.Fatalf("after a failure: %d events, %+v, %d attempts", events, o.ACME, len(o.Attempts))
	}
	if due, _ := s.acme.Due(ctx); due {
		t.Fatal("retrying before the back-off has passed")
	}

	// Two thirds into the certificate's life, the renewal job renews.
	setFQDN(t, owner, "acme.example.test")
	leaf := srv.App.Config.Certificate.Load().Leaf
	clock.Set(renewAt(leaf).Add(-time.Minute))
	if due, _ := s.acme.Due(ctx); due {
		t.Fatal("renewal due before two thirds of the lifetime")
	}
	clock.Set(renewAt(leaf).Add(time.Minute))
	if err := s.acme.RenewIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	renewed, _ := servedSerial(t, ln.Addr().String())
	if renewed == issued {
		t.Fatal("not renewed two thirds into the lifetime")
	}
	if cfg, _ := loadACME(ctx, srv.App.DB.Config); cfg.Failures != 0 {
		t.Fatalf("failures not reset by the renewal: %d", cfg.Failures)
	}
}

// DNS-01 through the Route 53 adapter: lego's provider, pointed at a local server speaking
// Route 53's API, which publishes the TXT record in challtestsrv's DNS for pebble to check.
// The credentials are stored sealed and reading them is audited.
func TestACMEDNS01ThroughRoute53(t *testing.T) {
	srv, owner := start(t, nil)
	p := startPebble(t, 1) // no HTTP-01 here
	s := serviceOf(t, srv)
	s.acme.httpClient = p.client
	s.acme.dnsOptions = []dns01.ChallengeOption{dns01.AddRecursiveNameservers([]string{p.dns}), dns01.DisableAuthoritativeNssPropagationRequirement()}
	r53 := newRoute53Server(t, "ZMIPO", func(action, name, value string) {
		if action == "DELETE" {
			p.challtest(t, "/clear-txt", map[string]any{"host": name})
			return
		}
		p.challtest(t, "/set-txt", map[string]any{"host": name, "value": value})
	})
	setFQDN(t, owner, "dns.example.test")
	in := ACMEInput{Enabled: true, DirectoryURL: p.directory, Email: "ops@example.test", Challenge: "dns-01", DNSProvider: "route53",
		Credentials: map[string]string{"access_key_id": "AKIDMIPO", "secret_access_key": "very-secret-key", "region": "us-east-1", "hosted_zone_id": "ZMIPO", "endpoint": r53.URL}}
	if r := owner.Do(http.MethodPut, "/api/v1/tls/acme", in); r.Status != http.StatusOK || strings.Contains(string(r.Body), "very-secret-key") {
		t.Fatalf("configure: %d %s", r.Status, r.Body)
	}
	var sealed string
	srv.App.DB.Config.QueryRow(context.Background(), `SELECT credentials_sealed FROM tls_acme`).Scan(&sealed)
	if sealed == "" || strings.Contains(sealed, "very-secret-key") {
		t.Fatalf("credentials not sealed: %q", sealed)
	}
	at := issue(t, owner)
	if !at.OK {
		t.Fatalf("DNS-01 issuance failed: %s", at.Error)
	}
	log := strings.Join(r53.log(), "\n")
	if !strings.Contains(log, "UPSERT TXT _acme-challenge.dns.example.test.") || !strings.Contains(log, "DELETE TXT _acme-challenge.dns.example.test.") {
		t.Fatalf("Route 53 changes (%d):\n%s", len(r53.log()), log)
	}
	if o := overview(t, owner); o.Active.Source != "acme" || o.Active.Names[0] != "dns.example.test" {
		t.Fatalf("after DNS-01: %+v", o.Active)
	}

	var creds map[string]string
	r := owner.Get("/api/v1/tls/acme/credentials")
	r.JSON(t, &creds)
	if r.Status != http.StatusOK || creds["secret_access_key"] != "very-secret-key" {
		t.Fatalf("credentials: %d %s", r.Status, r.Body)
	}
	var audit struct{ Items []struct{ Action string } }
	owner.Get("/api/v1/audit?action=tls.acme.credentials.read").JSON(t, &audit)
	if len(audit.Items) == 0 || audit.Items[0].Action != "tls.acme.credentials.read" {
		t.Fatalf("the credentials read is not audited: %+v", audit.Items)
	}
}
