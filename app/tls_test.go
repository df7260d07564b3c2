package app

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"testing"
)

// The generated certificate is a self-signed leaf (not a CA): it must count as self-signed, or
// provisioning commands and `mipo serve` lose the pin scanners trust it by.
func TestGeneratedCertificateIsSelfSignedWithAPin(t *testing.T) {
	cert, err := EnsureCertificate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !SelfSigned(cert) {
		t.Fatal("the generated certificate does not count as self-signed")
	}
	if pin, err := CertificatePin(cert); err != nil || len(pin) != len("sha256//")+44 {
		t.Fatalf("pin %q %v", pin, err)
	}
}

func liveFromPEM(t *testing.T, certPEM, keyPEM []byte) *tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// A swapped certificate reaches new connections at once, while a connection made before the
// swap keeps working on the old one: a reload drops no request and needs no restart.
func TestLiveCertificateSwapsWithoutDroppingConnections(t *testing.T) {
	live := &LiveCertificate{}
	live.Store(selfSigned(t, nil, "old.test"))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerTLSConfig(live))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))

	serial := func(c *tls.Conn) string { return c.ConnectionState().PeerCertificates[0].SerialNumber.String() }
	dial := func() *tls.Conn {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	get := func(c *tls.Conn) {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("request on the old connection after the swap: %v", err)
		}
		resp.Body.Close()
	}
	old := dial()
	defer old.Close()
	get(old)
	oldSerial := serial(old)

	live.Store(selfSigned(t, nil, "new.test"))
	fresh := dial()
	defer fresh.Close()
	if serial(fresh) == oldSerial {
		t.Fatal("a new connection still got the old certificate")
	}
	get(old) // the old connection finishes its work on the old certificate
	if serial(old) != oldSerial {
		t.Fatal("the old connection changed certificate")
	}
	if live.Trusted() {
		t.Fatal("a self-signed certificate counts as trusted: HSTS would lock browsers out")
	}
}

// Re-signing the same key for new names keeps the pin, so scanners provisioned before an FQDN
// change keep trusting the server.
func TestSelfSignedForNewNamesKeepsThePin(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a := selfSigned(t, key, "a.test")
	b := selfSigned(t, key, "b.test:8443")
	pa, _ := CertificatePin(*a)
	pb, _ := CertificatePin(*b)
	if pa != pb {
		t.Fatalf("pin changed: %s then %s", pa, pb)
	}
	leaf, _ := x509.ParseCertificate(b.Certificate[0])
	if err := leaf.VerifyHostname("b.test"); err != nil {
		t.Fatal(err)
	}
}

func selfSigned(t *testing.T, key *ecdsa.PrivateKey, names ...string) *tls.Certificate {
	t.Helper()
	c, k, err := SelfSignedPEM(key, names...)
	if err != nil {
		t.Fatal(err)
	}
	return liveFromPEM(t, c, k)
}
