package tls

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/challenge/dns01"
	"github.com/miekg/dns"
)

// zoneDNS is a real DNS server, on loopback UDP, that is authoritative for one zone: lego's
// Cloudflare and OVH providers ask it for the zone's SOA before calling the provider's API.
func zoneDNS(t *testing.T, zone string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if q := r.Question[0]; q.Qtype == dns.TypeSOA && strings.EqualFold(q.Name, zone) {
			m.Answer = append(m.Answer, &dns.SOA{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
				Ns: "ns1." + zone, Mbox: "hostmaster." + zone, Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 60})
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	// lego keeps its resolvers in a package variable that this option sets.
	if err := dns01.AddRecursiveNameservers([]string{pc.LocalAddr().String()})(nil); err != nil {
		t.Fatal(err)
	}
}

// apiLog records the calls a fake provider API received, "METHOD path body".
type apiLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *apiLog) add(r *http.Request, body string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, r.Method+" "+r.URL.Path+" "+body)
}

func (l *apiLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.calls, "\n")
}

func presentAndCleanUp(t *testing.T, provider string, creds map[string]string) {
	t.Helper()
	p, err := dnsProvider(provider, creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Present("mipo.example.test", "token", "key-authorization"); err != nil {
		t.Fatalf("%s Present: %v", provider, err)
	}
	if err := p.CleanUp("mipo.example.test", "token", "key-authorization"); err != nil {
		t.Fatalf("%s CleanUp: %v", provider, err)
	}
}

// Each DNS-01 adapter, through lego's provider with its endpoint pointed at a local server
// that speaks the provider's API: the TXT record is created with the right name and value,
// authenticated as the provider requires, then deleted.
func TestDNSProvidersSpeakTheirAPIs(t *testing.T) {
	zoneDNS(t, "example.test.")
	txt := dns01.GetChallengeInfo("mipo.example.test", "key-authorization").Value

	t.Run("cloudflare", func(t *testing.T) {
		var log apiLog
		mux := http.NewServeMux()
		auth := func(h http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				log.add(r, strings.TrimSpace(string(body)))
				if r.Header.Get("Authorization") != "Bearer cf-token" {
					w.WriteHeader(http.StatusForbidden)
					io.WriteString(w, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}`)
					return
				}
				h(w, r)
			}
		}
		mux.HandleFunc("GET /zones", auth(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("name") != "example.test" {
				io.WriteString(w, `{"success":true,"result":[]}`)
				return
			}
			io.WriteString(w, `{"success":true,"result":[{"id":"zone-1","name":"example.test"}]}`)
		}))
		mux.HandleFunc("POST /zones/zone-1/dns_records", auth(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"success":true,"result":{"id":"rec-1","type":"TXT","name":"_acme-challenge.mipo.example.test"}}`)
		}))
		mux.HandleFunc("DELETE /zones/zone-1/dns_records/rec-1", auth(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"success":true,"result":{"id":"rec-1"}}`)
		}))
		api := httptest.NewServer(mux)
		defer api.Close()
		presentAndCleanUp(t, "cloudflare", map[string]string{"api_token": "cf-token", "base_url": api.URL})
		got := log.String()
		for _, want := range []string{"GET /zones", `POST /zones/zone-1/dns_records {"name":"_acme-challenge.mipo.example.test","ttl":120,"type":"TXT","content":"\"` + txt + `\""}`,
			"DELETE /zones/zone-1/dns_records/rec-1"} {
			if !strings.Contains(got, want) {
				t.Fatalf("missing %q in:\n%s", want, got)
			}
		}
	})

	t.Run("route53", func(t *testing.T) {
		r53 := newRoute53Server(t, "ZONE53", nil)
		presentAndCleanUp(t, "route53", map[string]string{"access_key_id": "AKID", "secret_access_key": "secret", "region": "eu-west-1",
			"hosted_zone_id": "ZONE53", "endpoint": r53.URL})
		got := strings.Join(r53.log(), "\n")
		want := `UPSERT TXT _acme-challenge.mipo.example.test. "` + txt + `"`
		if !strings.Contains(got, want) || !strings.Contains(got, "DELETE TXT _acme-challenge.mipo.example.test.") {
			t.Fatalf("want %s and its DELETE in:\n%s", want, got)
		}
	})

	t.Run("ovh", func(t *testing.T) {
		var log apiLog
		var base string
		// OVH signs each call: $1$ + SHA-1 of secret+consumer+method+URL+body+timestamp.
		signed := func(h http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				log.add(r, string(body))
				sum := sha1.Sum([]byte(fmt.Sprintf("app-secret+consumer-key+%s+%s+%s+%s", r.Method, base+r.URL.Path, body, r.Header.Get("X-Ovh-Timestamp"))))
				if r.Header.Get("X-Ovh-Application") != "app-key" || r.Header.Get("X-Ovh-Signature") != fmt.Sprintf("$1$%x", sum) {
					w.WriteHeader(http.StatusForbidden)
					io.WriteString(w, `{"message":"Invalid signature"}`)
					return
				}
				h(w, r)
			}
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /auth/time", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, time.Now().Unix()) })
		mux.HandleFunc("POST /domain/zone/example.test/record", signed(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"id": 42, "fieldType": "TXT", "subDomain": "_acme-challenge.mipo", "target": txt, "ttl": 120})
		}))
		mux.HandleFunc("POST /domain/zone/example.test/refresh", signed(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "null") }))
		mux.HandleFunc("DELETE /domain/zone/example.test/record/42", signed(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "null") }))
		api := httptest.NewServer(mux)
		defer api.Close()
		base = api.URL
		presentAndCleanUp(t, "ovh", map[string]string{"endpoint": api.URL, "application_key": "app-key", "application_secret": "app-secret", "consumer_key": "consumer-key"})
		got := log.String()
		for _, want := range []string{`"subDomain":"_acme-challenge.mipo"`, `"target":"` + txt + `"`, "DELETE /domain/zone/example.test/record/42", "POST /domain/zone/example.test/refresh"} {
			if !strings.Contains(got, want) {
				t.Fatalf("missing %q in:\n%s", want, got)
			}
		}
	})
}

// Missing and unknown credential fields are refused by name.
func TestDNSCredentialsAreChecked(t *testing.T) {
	for _, c := range []struct {
		provider string
		creds    map[string]string
		field    string
	}{
		{"cloudflare", map[string]string{}, "credentials.api_token"},
		{"route53", map[string]string{"access_key_id": "a", "secret_access_key": "b", "region": "c"}, "credentials.hosted_zone_id"},
		{"ovh", map[string]string{"endpoint": "ovh-eu", "application_key": "a", "application_secret": "b", "consumer_key": "c", "extra": "x"}, "credentials.extra"},
		{"gandi", nil, "dns_provider"},
	} {
		err := validateCredentials(c.provider, c.creds)
		if err == nil || !strings.Contains(fmt.Sprintf("%+v", err), c.field) {
			t.Errorf("%s %v: want an error on %s, got %v", c.provider, c.creds, c.field, err)
		}
	}
}
