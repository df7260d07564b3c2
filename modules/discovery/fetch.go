package discovery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"mipo/app"
)

// A fetcher asks one kind of source what it holds. It returns the proposed subnets and, for
// exports, the rows it could not read; an error means the source as a whole failed.
type fetcher func(ctx context.Context, f *fetch) ([]Proposed, []RowError, error)

var fetchers = map[string]fetcher{"aws": fetchAWS, "azure": fetchAzure, "gcp": fetchGCP, "netbox": fetchNetBox, "cmdb": fetchCMDB}

// fetch is one run's view of its source: settings, the opened secret, an HTTP client that
// trusts the source's CA, and an uploaded export when there is one.
type fetch struct {
	src    *Source
	secret string
	upload string
	client *http.Client
}

func newFetch(src *Source, secret, upload string) (*fetch, error) {
	client, err := httpClient(src.Settings.CACert)
	if err != nil {
		return nil, err
	}
	return &fetch{src: src, secret: secret, upload: upload, client: client}, nil
}

// httpClient trusts the system's roots and, when given, a source's own CA certificates.
func httpClient(caPEM string) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caPEM != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, app.Invalid("settings.ca_cert", "invalid_ca_cert", "ca_cert holds no PEM certificate")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t, Timeout: 2 * time.Minute}, nil
}

// origin starts an origin for this source.
func (f *fetch) origin(account, region, ref string, tags map[string]string) Origin {
	return Origin{Source: f.src.Name, Kind: f.src.Kind, Account: account, Region: region, Ref: ref, Tags: tags}
}

// prefix reads a CIDR a provider reported, normalised; a bare address is its /32 or /128.
func prefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// add appends a proposal for a CIDR the provider reported; blank values are skipped, and a
// value that is not a network is an error (the provider's answer is not what we understood).
func add(out *[]Proposed, cidr, name string, o Origin) error {
	if cidr == "" {
		return nil
	}
	p, err := prefix(cidr)
	if err != nil {
		return err
	}
	*out = append(*out, Proposed{CIDR: p.String(), Name: name, Origin: o})
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
