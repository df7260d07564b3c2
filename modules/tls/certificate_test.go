package tls

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"mipo/app"
)

// Each refused upload names the check that failed, with its own code, so an operator knows
// what to fix.
func TestUploadChecksEachSayWhatFailed(t *testing.T) {
	now := time.Now()
	ca := newTestCA(t)
	leaf, key := ca.leaf(t, now, "mipo.example.test")
	_, otherKey := ca.leaf(t, now, "mipo.example.test")
	old, oldKey := ca.leaf(t, now.AddDate(-1, 0, 0), "mipo.example.test")
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(weak)}))

	good := pemChain(leaf, ca.inter)
	cases := []struct {
		name, chain, key, fqdn, code string
	}{
		{"good chain", good, key, "mipo.example.test:8443", ""},
		{"good chain with its root", pemChain(leaf, ca.inter, ca.root), key, "mipo.example.test", ""},
		{"no FQDN set: any name", good, key, "", ""},
		{"key does not match", good, otherKey, "mipo.example.test", "key_mismatch"},
		{"chain out of order", pemChain(ca.inter, leaf), key, "mipo.example.test", "chain_out_of_order"},
		{"intermediate before leaf swapped", pemChain(leaf, ca.root, ca.inter), key, "mipo.example.test", "chain_out_of_order"},
		{"intermediate missing", pemChain(leaf), key, "mipo.example.test", "chain_incomplete"},
		{"expired", pemChain(old, ca.inter), oldKey, "mipo.example.test", "certificate_expired"},
		{"name does not cover the FQDN", good, key, "other.example.test", "name_mismatch"},
		{"not PEM", "hello", key, "", "invalid_certificate_pem"},
		{"key not PEM", good, "hello", "", "invalid_key_pem"},
		{"weak key", good, weakPEM, "", "weak_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ValidateUpload(c.chain, c.key, c.fqdn, now, ca.pool())
			var ae *app.Error
			switch {
			case c.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.code != "" && !errors.As(err, &ae):
				t.Fatalf("want %s, got %v", c.code, err)
			case c.code != "" && ae.Code != c.code:
				t.Fatalf("want %s, got %s: %s", c.code, ae.Code, ae.Message)
			}
		})
	}
}

func FuzzValidateUpload(f *testing.F) {
	ca := newTestCA(f)
	leaf, key := ca.leaf(f, time.Now(), "a.test")
	f.Add(pemChain(leaf, ca.inter), key, "a.test")
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "", "")
	f.Fuzz(func(t *testing.T, chain, key, fqdn string) {
		p, err := ValidateUpload(chain, key, fqdn, time.Now(), ca.pool())
		var ae *app.Error
		if err != nil && !errors.As(err, &ae) {
			t.Fatalf("not a 4xx error: %v", err)
		}
		if err == nil && len(p.chain) == 0 {
			t.Fatal("accepted without a certificate")
		}
	})
}
