package app

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// TLS files in the data directory. A self-signed certificate is generated on first start so
// mipo is encrypted from day one; an uploaded certificate or ACME replaces it later.
const (
	tlsCertFile = "tls/cert.pem"
	tlsKeyFile  = "tls/key.pem"
)

// EnsureCertificate loads the data directory's certificate, generating a self-signed one on
// first start. It never overwrites an existing certificate.
func EnsureCertificate(dataDir string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dataDir, tlsCertFile), filepath.Join(dataDir, tlsKeyFile)
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		if err := generateSelfSigned(certPath, keyPath); err != nil {
			return tls.Certificate{}, fmt.Errorf("generating the self-signed certificate: %w", err)
		}
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading %s: %w", certPath, err)
	}
	return cert, nil
}

// CertificateFiles returns the data directory's certificate chain and key as PEM, generating a
// self-signed pair on first start.
func CertificateFiles(dataDir string) (certPEM, keyPEM []byte, err error) {
	if _, err := EnsureCertificate(dataDir); err != nil {
		return nil, nil, err
	}
	if certPEM, err = os.ReadFile(filepath.Join(dataDir, tlsCertFile)); err != nil {
		return nil, nil, err
	}
	keyPEM, err = os.ReadFile(filepath.Join(dataDir, tlsKeyFile))
	return certPEM, keyPEM, err
}

func generateSelfSigned(certPath, keyPath string) error {
	host, _ := os.Hostname()
	certPEM, keyPEM, err := SelfSignedPEM(nil, host)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return err
	}
	if err := writeFileExcl(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFileExcl(certPath, certPEM, 0o644)
}

// SelfSignedPEM makes a two-year self-signed certificate for localhost, the loopback addresses
// and the given names (host names or addresses; a ":port" is dropped). With a non-nil key it
// signs that key again, so the pin — a hash of the public key — survives a renamed
// certificate and provisioned scanners keep trusting it.
func SelfSignedPEM(key *ecdsa.PrivateKey, names ...string) (certPEM, keyPEM []byte, err error) {
	if key == nil {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, nil, err
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mipo", Organization: []string{"mipo self-signed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, n := range names {
		if h, _, err := net.SplitHostPort(n); err == nil {
			n = h
		}
		switch ip := net.ParseIP(n); {
		case n == "" || n == "localhost":
		case ip != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if len(names) > 0 && names[0] != "" {
		tmpl.Subject.CommonName = tmpl.DNSNames[len(tmpl.DNSNames)-1]
		if ip := net.ParseIP(names[0]); ip != nil {
			tmpl.Subject.CommonName = ip.String()
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// LiveCertificate is the certificate a listener serves, replaceable while it runs: each new
// handshake reads the current one through GetCertificate, while connections already made keep
// the certificate they were made with, so a swap drops no request.
type LiveCertificate struct{ p atomic.Pointer[liveCert] }

type liveCert struct {
	cert       *tls.Certificate
	selfSigned bool // worked out once per Store: HSTS asks on every request
}

// Load returns the certificate now served, or nil before the first Store.
func (l *LiveCertificate) Load() *tls.Certificate {
	if c := l.p.Load(); c != nil {
		return c.cert
	}
	return nil
}

// Store makes c the certificate of every handshake from now on.
func (l *LiveCertificate) Store(c *tls.Certificate) {
	l.p.Store(&liveCert{cert: c, selfSigned: SelfSigned(*c)})
}

// Trusted reports whether a certificate is loaded that is not self-signed: one a browser can
// verify, so HSTS may be sent without locking browsers out.
func (l *LiveCertificate) Trusted() bool {
	c := l.p.Load()
	return c != nil && !c.selfSigned
}

// GetCertificate is tls.Config.GetCertificate.
func (l *LiveCertificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := l.p.Load(); c != nil {
		return c.cert, nil
	}
	return nil, errors.New("no certificate loaded yet")
}

// ServerTLSConfig is the listener's TLS policy: TLS 1.2 at least, and under 1.2 only AEAD
// suites with forward secrecy (TLS 1.3's suites are all of that kind and not configurable).
func ServerTLSConfig(live *LiveCertificate) *tls.Config {
	return &tls.Config{
		GetCertificate: live.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

func writeFileExcl(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CertificatePin is the curl --pinnedpubkey form of a certificate's public key:
// sha256//<base64 of the SHA-256 of its SubjectPublicKeyInfo>. Scanners trust a self-signed
// server by this pin.
func CertificatePin(cert tls.Certificate) (string, error) {
	if len(cert.Certificate) == 0 {
		return "", errors.New("no certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return "sha256//" + base64.StdEncoding.EncodeToString(sum[:]), nil
}

// SelfSigned reports whether a certificate signed itself.
func SelfSigned(cert tls.Certificate) bool {
	if len(cert.Certificate) == 0 {
		return false
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	// Not CheckSignatureFrom: it refuses a parent that is not a CA, and the generated
	// certificate is a leaf (IsCA false), so it would never count as self-signed.
	return err == nil && bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
}
