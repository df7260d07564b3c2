package rbac_test

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

// from returns a client whose connections come from a loopback address of its own, so one
// test can be several places at once.
func from(t *testing.T, srv *apptest.Server, ip string) *apptest.Client {
	c := apptest.NewClient(t, srv.URL)
	c.HTTP.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	return c
}

func login(c *apptest.Client, username, password string) *apptest.Response {
	return c.Post("/api/v1/auth/login", map[string]string{"username": username, "password": password})
}

// Strangers guessing the owner's password from their addresses slow only themselves: the
// owner, signing in from another address, is let in at once.
func TestStrangersCannotLockTheOwnerOut(t *testing.T) {
	clock := app.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	srv := start(t, clock)
	rbactest.Owner(t, srv)
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		stranger := from(t, srv, ip)
		for i := 0; i < 25; i++ {
			login(stranger, "owner", "a-wrong-guess-"+strconv.Itoa(i))
		}
		if r := login(stranger, "owner", rbactest.OwnerPassword); r.Status != http.StatusTooManyRequests {
			t.Fatalf("the stranger at %s is not slowed down: %d %s", ip, r.Status, r.Body)
		}
	}
	if r := login(from(t, srv, "127.0.0.9"), "owner", rbactest.OwnerPassword); r.Status != http.StatusOK {
		t.Fatalf("the owner from a new address after 75 strangers' failures: %d %s", r.Status, r.Body)
	}
}

// At one address, an account's failures cost nothing at first, then a delay that doubles
// with each further failure, and a success starts again from nothing.
func TestFailedSignInsBringAProgressiveDelay(t *testing.T) {
	clock := app.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	srv := start(t, clock)
	rbactest.Owner(t, srv)
	c := from(t, srv, "127.0.0.5")
	for i := 0; i < 3; i++ {
		if r := login(c, "owner", "wrong-password-here"); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	var waits []int
	for i := 0; i < 4; i++ {
		r := login(c, "owner", "wrong-password-here")
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("an attempt inside the delay: %d %s", r.Status, r.Body)
		}
		wait, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		waits = append(waits, wait)
		clock.Advance(time.Duration(wait) * time.Second)
		if r := login(c, "owner", "wrong-password-here"); r.Status != http.StatusUnauthorized {
			t.Fatalf("an attempt after the delay: %d %s", r.Status, r.Body)
		}
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] <= waits[i-1] {
			t.Fatalf("the delay does not grow: %v", waits)
		}
	}
	if waits[len(waits)-1] > 60 {
		t.Fatalf("seven failures already cost more than a minute: %v", waits)
	}
	clock.Advance(time.Minute)
	if r := login(c, "owner", rbactest.OwnerPassword); r.Status != http.StatusOK {
		t.Fatalf("the right password after the delay: %d %s", r.Status, r.Body)
	}
	if r := login(c, "owner", "wrong-password-here"); r.Status != http.StatusUnauthorized {
		t.Fatalf("a success did not clear the account's failures at this address: %d", r.Status)
	}
}
