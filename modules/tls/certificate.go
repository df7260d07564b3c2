package tls

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	stdtls "crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"mipo/app"
)

// parsed is a validated certificate chain with its key, ready to serve and to store.
type parsed struct {
	cert     stdtls.Certificate
	chain    []*x509.Certificate
	chainPEM string
	keyPEM   string
}

func (p *parsed) leaf() *x509.Certificate { return p.chain[0] }

// info describes a parsed certificate.
func (p *parsed) info() Info {
	leaf := p.leaf()
	sum := sha256.Sum256(leaf.Raw)
	pin, _ := app.CertificatePin(p.cert)
	in := Info{Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(), Serial: leaf.SerialNumber.Text(16),
		NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(), Fingerprint: hex.EncodeToString(sum[:]), Pin: pin,
		SelfSigned: app.SelfSigned(p.cert), Names: append([]string{}, leaf.DNSNames...)}
	for _, ip := range leaf.IPAddresses {
		in.Names = append(in.Names, ip.String())
	}
	for _, c := range p.chain {
		in.Chain = append(in.Chain, ChainLink{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotAfter: c.NotAfter.UTC()})
	}
	return in
}

// parsePair reads a stored or freshly issued chain and key without the upload's checks.
func parsePair(chainPEM, keyPEM string) (*parsed, error) {
	cert, err := stdtls.X509KeyPair([]byte(chainPEM), []byte(keyPEM))
	if err != nil {
		return nil, err
	}
	p := &parsed{cert: cert, chainPEM: chainPEM, keyPEM: keyPEM}
	for _, der := range cert.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		p.chain = append(p.chain, c)
	}
	p.cert.Leaf = p.chain[0]
	return p, nil
}

// ValidateUpload checks an uploaded chain and key in the order an operator would fix them,
// and says which check failed: each refusal has its own code. fqdn may be empty (no name
// check); roots nil means the system roots.
func ValidateUpload(chainPEM, keyPEM, fqdn string, now time.Time, roots *x509.CertPool) (*parsed, error) {
	chain, err := parseChain(chainPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if err := acceptableKey(key); err != nil {
		return nil, err
	}
	leaf := chain[0]
	pub := key.(interface{ Public() crypto.PublicKey }).Public() // every accepted key type has it
	if !publicEqual(pub, leaf.PublicKey) {
		for i, c := range chain[1:] {
			if publicEqual(pub, c.PublicKey) {
				return nil, app.Invalid("certificate", "chain_out_of_order",
					fmt.Sprintf("the key belongs to certificate %d of the chain: put the server certificate first, then each issuer", i+2))
			}
		}
		return nil, app.Invalid("key", "key_mismatch", "the private key does not belong to the first certificate of the chain (the server certificate)")
	}
	if err := chainOrder(chain); err != nil {
		return nil, err
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, app.Invalid("certificate", "certificate_expired", fmt.Sprintf("the certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339)))
	case now.Before(leaf.NotBefore):
		return nil, app.Invalid("certificate", "certificate_not_yet_valid", fmt.Sprintf("the certificate is valid only from %s", leaf.NotBefore.UTC().Format(time.RFC3339)))
	}
	if err := chainComplete(chain, now, roots); err != nil {
		return nil, err
	}
	if host := hostOf(fqdn); host != "" {
		if err := leaf.VerifyHostname(host); err != nil {
			return nil, app.Invalid("certificate", "name_mismatch",
				fmt.Sprintf("the certificate's names (%s) do not cover the public FQDN %s", strings.Join(namesOf(leaf), ", "), host))
		}
	}
	return parsePair(chainPEM, keyPEM)
}

func parseChain(chainPEM string) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	rest := []byte(chainPEM)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, app.Invalid("certificate", "invalid_certificate_pem", fmt.Sprintf("the chain holds a %q block; give only CERTIFICATE blocks, the server certificate first", b.Type))
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, app.Invalid("certificate", "invalid_certificate_pem", fmt.Sprintf("certificate %d of the chain cannot be read: %v", len(chain)+1, err))
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, app.Invalid("certificate", "invalid_certificate_pem", "no PEM certificate found: paste the chain starting with -----BEGIN CERTIFICATE-----")
	}
	return chain, nil
}

func parseKey(keyPEM string) (crypto.PrivateKey, error) {
	b, _ := pem.Decode([]byte(keyPEM))
	if b == nil {
		return nil, app.Invalid("key", "invalid_key_pem", "no PEM private key found: paste the key starting with -----BEGIN PRIVATE KEY-----")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	return nil, app.Invalid("key", "invalid_key_pem", "the private key is not an unencrypted PKCS#8, PKCS#1 or EC key")
}

// acceptableKey allows RSA of 2048 bits or more, ECDSA on P-256, P-384 or P-521, and Ed25519.
func acceptableKey(key crypto.PrivateKey) error {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return app.Invalid("key", "weak_key", fmt.Sprintf("the RSA key has %d bits; at least 2048 are required", k.N.BitLen()))
		}
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return app.Invalid("key", "weak_key", "the ECDSA key's curve is not P-256, P-384 or P-521")
		}
	case ed25519.PrivateKey:
	default:
		return app.Invalid("key", "weak_key", fmt.Sprintf("key type %T is not accepted: use RSA (2048 bits or more), ECDSA or Ed25519", key))
	}
	return nil
}

func publicEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// chainOrder wants each certificate signed by the next one. When the certificates are all
// there but shuffled, it says so rather than calling the chain incomplete.
func chainOrder(chain []*x509.Certificate) error {
	for i := 0; i+1 < len(chain); i++ {
		if chain[i].CheckSignatureFrom(chain[i+1]) == nil {
			continue
		}
		for j := range chain {
			if j != i+1 && j != i && chain[i].CheckSignatureFrom(chain[j]) == nil {
				return app.Invalid("certificate", "chain_out_of_order",
					fmt.Sprintf("certificate %d (%s) is followed by one that did not sign it; its issuer is certificate %d: order the chain server certificate first, then each issuer", i+1, chain[i].Subject.CommonName, j+1))
			}
		}
		return app.Invalid("certificate", "chain_incomplete",
			fmt.Sprintf("certificate %d (%s) was not signed by the next one in the chain: its issuer %s is missing", i+1, chain[i].Subject.CommonName, chain[i].Issuer.CommonName))
	}
	return nil
}

// chainComplete wants the chain to reach a root: either the chain carries a self-signed last
// certificate, or the trusted roots hold the last one's issuer.
func chainComplete(chain []*x509.Certificate, now time.Time, roots *x509.CertPool) error {
	last := chain[len(chain)-1]
	if bytes.Equal(last.RawIssuer, last.RawSubject) && last.CheckSignatureFrom(last) == nil {
		return nil
	}
	if len(chain) == 1 && bytes.Equal(last.RawIssuer, last.RawSubject) {
		return nil // a self-signed leaf: its own root
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Intermediates: inter, Roots: roots, CurrentTime: now})
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return app.Invalid("certificate", "chain_incomplete",
			fmt.Sprintf("the chain ends at %s, whose issuer %s is not among the trusted roots: add the intermediate certificates", last.Subject.CommonName, last.Issuer.CommonName))
	}
	return nil // other verification problems (names, usage) are checked on their own
}

// hostOf drops a port from an FQDN setting.
func hostOf(fqdn string) string {
	if h, _, err := net.SplitHostPort(fqdn); err == nil {
		return h
	}
	return fqdn
}

func namesOf(c *x509.Certificate) []string {
	out := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 {
		out = append(out, "none")
	}
	return out
}
