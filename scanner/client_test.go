package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func pinOf(ts *httptest.Server) string {
	sum := sha256.Sum256(ts.Certificate().RawSubjectPublicKeyInfo)
	return "sha256//" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestPinning(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer msk_test" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"server_time": "2026-11-23T11:20:00Z", "heartbeat_seconds": 30}`))
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	ts.StartTLS()
	defer ts.Close()
	// httptest's servers all share one built-in certificate: make another key.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(spki)
	otherPin := "sha256//" + base64.StdEncoding.EncodeToString(sum[:])

	hb := func(pin string) error {
		c, err := newClient(ts.URL, pin, "msk_test", false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Heartbeat(context.Background(), heartbeatRequest{})
		return err
	}
	if err := hb(pinOf(ts)); err != nil {
		t.Fatalf("right pin: %v", err)
	}
	if err := hb(otherPin); err == nil || !strings.Contains(err.Error(), "does not match the pin") {
		t.Fatalf("wrong pin: %v", err)
	}
	if err := hb(""); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("no pin, self-signed certificate: %v", err)
	}
	// The server moved from the pinned self-signed certificate to one the roots trust: a
	// stale pin must not strand the scanner.
	serverRoots = x509.NewCertPool()
	serverRoots.AddCert(ts.Certificate())
	defer func() { serverRoots = nil }()
	if err := hb(otherPin); err != nil {
		t.Fatalf("stale pin, certificate trusted by the roots: %v", err)
	}
}

func TestClientRefusals(t *testing.T) {
	cases := []struct {
		server, pin string
		insecure    bool
		want        string
	}{
		{"http://127.0.0.1:1", "", false, "--insecure-http"},
		{"http://127.0.0.1:1", "sha256//" + strings.Repeat("A", 43) + "=", true, "needs an https"},
		{"ftp://127.0.0.1", "", false, "scheme"},
		{"127.0.0.1:443", "", false, "not a URL"},
		{"https://127.0.0.1", "sha1//abc", false, "sha256//"},
		{"https://127.0.0.1", "sha256//AAAA", false, "32 bytes"},
	}
	for _, c := range cases {
		if _, err := newClient(c.server, c.pin, "", c.insecure); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want an error saying %q", c.server, c.pin, err, c.want)
		}
	}
	if _, err := newClient("http://127.0.0.1:1", "", "", true); err != nil {
		t.Fatalf("http with --insecure-http: %v", err)
	}
}

// The client goes to the configured server only: a redirect elsewhere is
// not followed, and an error body is decoded into mipo's error shape.
func TestClientNoRedirectsAndErrors(t *testing.T) {
	hits := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer elsewhere.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/heartbeat") {
			http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(`{"error": {"code": "missing_batches", "message": "batch 2 has not arrived", "detail": {"missing": [2]}}}`))
	}))
	defer ts.Close()
	c, _ := newClient(ts.URL, "", "k", true)
	if _, err := c.Heartbeat(context.Background(), heartbeatRequest{}); err == nil || hits != 0 {
		t.Fatalf("redirect: err %v, %d hits elsewhere", err, hits)
	}
	_, err := c.doRaw(context.Background(), callTimeout, "/scanner/v1/jobs/x/complete", []byte(`{}`), nil)
	ae, ok := err.(*APIError)
	if !ok || ae.Status != 409 || ae.Code != "missing_batches" || string(ae.Detail) != `{"missing": [2]}` {
		t.Fatalf("error %#v", err)
	}
}
