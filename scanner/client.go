package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client speaks the scanner protocol to one ingest server and nowhere else:
// no proxy, no redirects.
type Client struct {
	base   string // server URL without a trailing slash
	apiKey string
	ua     string
	hc     *http.Client
	log    *slog.Logger // nil: slog.Default()

	// refusal is ingest's last 401 or 403 to an authenticated call, until a
	// call succeeds again (see refused).
	authMu    sync.Mutex
	refusal   *APIError
	reenabled chan struct{} // closed when the refusal ends
}

// APIError is mipo's error shape, with the HTTP status it came with.
type APIError struct {
	Status  int             `json:"-"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Field   string          `json:"field"`
	Detail  json.RawMessage `json:"detail,omitempty"`

	RetryAfter time.Duration `json:"-"` // the answer's Retry-After; 0 when absent
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("server answered %d", e.Status)
	}
	if e.Field != "" {
		return fmt.Sprintf("server answered %d %s (%s): %s", e.Status, e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// parsePin reads "sha256//BASE64" (curl's --pinnedpubkey form) into the
// 32-byte digest of a SubjectPublicKeyInfo.
func parsePin(pin string) ([]byte, error) {
	b64, ok := strings.CutPrefix(pin, "sha256//")
	if !ok {
		return nil, fmt.Errorf("pin %q does not start with sha256//", pin)
	}
	sum, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("pin %q: want sha256// followed by the base64 of 32 bytes", pin)
	}
	return sum, nil
}

// newClient checks the server URL and builds the TLS policy: with a pin, the
// server key whose SPKI hashes to it (chain and name are not checked: the pin
// is the trust), or else a certificate the system roots trust for the
// server's name; without one, the system roots. Plain
// http:// is refused unless insecureHTTP, which exists for tests.
func newClient(server, pin, apiKey string, insecureHTTP bool) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server %q is not a URL like https://mipo.example.org", server)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && insecureHTTP:
		if pin != "" {
			return nil, fmt.Errorf("a pin needs an https:// server, not %s", server)
		}
	case u.Scheme == "http":
		return nil, fmt.Errorf("server %s is plain http: refused (--insecure-http allows it, for tests only)", server)
	default:
		return nil, fmt.Errorf("server %s: scheme must be https", server)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if pin != "" {
		want, err := parsePin(pin)
		if err != nil {
			return nil, err
		}
		tc.InsecureSkipVerify = true // replaced by the pin-or-roots check below
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].RawSubjectPublicKeyInfo)
			if subtle.ConstantTimeCompare(got[:], want) == 1 {
				return nil
			}
			// Not the pinned key: the server may have moved from its self-signed certificate
			// to a trusted one. Accept it if the system roots (or $SSL_CERT_FILE's CA) verify
			// it for the server's name, so a certificate change never strands a scanner.
			if verifyChain(cs, u.Hostname()) == nil {
				return nil
			}
			return fmt.Errorf("server key sha256//%s does not match the pin, and the system roots do not trust its certificate", base64.StdEncoding.EncodeToString(got[:]))
		}
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 15 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &Client{
		base:   strings.TrimRight(u.String(), "/"),
		apiKey: apiKey,
		ua:     "mipo-scanner/" + version,
		hc: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// serverRoots is what verifyChain trusts; nil means the system roots, which
// honour $SSL_CERT_FILE and $SSL_CERT_DIR. Tests set their own.
var serverRoots *x509.CertPool

// verifyChain checks a server's chain for host, as the default TLS
// verification would.
func verifyChain(cs tls.ConnectionState, host string) error {
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter, Roots: serverRoots})
	return err
}

// do POSTs body as JSON to path and decodes a 2xx answer into out (if not
// nil). A non-2xx answer is an *APIError. A 204 leaves out untouched and
// returns status 204.
func (c *Client) do(ctx context.Context, timeout time.Duration, path string, body, out any) (int, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	return c.doRaw(ctx, timeout, path, raw, out)
}

func (c *Client) doRaw(ctx context.Context, timeout time.Duration, path string, raw []byte, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.ua)
	// The scanner's clock as it sends: ingest measures how far it is from mipo's and puts what
	// the scanner observed on mipo's clock (docs/scanner-protocol.md, "Clocks").
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error APIError `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		e.Error.Status = resp.StatusCode
		e.Error.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if path != "/scanner/v1/register" {
			c.noteAuth(&e.Error)
		}
		return resp.StatusCode, &e.Error
	}
	c.noteAuth(nil)
	if resp.StatusCode == http.StatusNoContent || out == nil {
		return resp.StatusCode, nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s: answer is not the expected JSON: %v", path, err)
	}
	return resp.StatusCode, nil
}

const callTimeout = 30 * time.Second

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
// Anything else, or a time already past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// isRefusal says whether ingest refused the scanner itself: 401 (the key is
// unknown or revoked) or 403 (the scanner is disabled, or outside its
// binding). Nothing the scanner sends will be accepted until an operator
// acts, so it stops sending instead of asking again and again.
func isRefusal(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// noteAuth records an authenticated call's outcome: a 401 or 403 starts a
// refusal, said loudly once; any 2xx ends it. Other errors change nothing.
func (c *Client) noteAuth(e *APIError) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	log := c.log
	if log == nil {
		log = slog.Default()
	}
	switch {
	case e == nil && c.refusal != nil:
		c.refusal = nil
		close(c.reenabled)
		log.Warn("ingest accepts this scanner again; sending resumes")
	case e != nil && isRefusal(e.Status) && c.refusal == nil:
		c.refusal = e
		c.reenabled = make(chan struct{})
		log.Error("INGEST REFUSES THIS SCANNER: results are kept in the spool and nothing is sent or leased until an operator fixes it "+
			"(401: put the scanner's current API key in its key file and restart it; 403: enable the scanner, or fix its binding). "+
			"Only the heartbeat goes on, at its interval, to notice the fix",
			"status", e.Status, "code", e.Code, "message", e.Message)
	case e != nil && isRefusal(e.Status):
		c.refusal = e
	}
}

// refused returns ingest's standing refusal of the scanner (nil when there
// is none) and a channel closed once a call succeeds again.
func (c *Client) refused() (*APIError, <-chan struct{}) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	return c.refusal, c.reenabled
}

func (c *Client) Register(ctx context.Context, r registerRequest) (*registerResponse, error) {
	var out registerResponse
	if _, err := c.do(ctx, callTimeout, "/scanner/v1/register", r, &out); err != nil {
		return nil, err
	}
	if out.APIKey == "" || out.ScannerID == "" {
		return nil, errors.New("register: the answer has no api_key or scanner_id")
	}
	return &out, nil
}

func (c *Client) Heartbeat(ctx context.Context, r heartbeatRequest) (*heartbeatResponse, error) {
	var out heartbeatResponse
	_, err := c.do(ctx, callTimeout, "/scanner/v1/heartbeat", r, &out)
	return &out, err
}

// Lease long-polls for a job; it returns nil data when none came.
func (c *Client) Lease(ctx context.Context, wait time.Duration) ([]byte, error) {
	var data []byte
	status, err := c.do(ctx, wait+callTimeout, "/scanner/v1/jobs/lease", leaseRequest{WaitSeconds: int(wait / time.Second)}, &data)
	if status == http.StatusNoContent {
		return nil, nil
	}
	return data, err
}

func (c *Client) Progress(ctx context.Context, jobID string, p progressRequest) (*progressResponse, error) {
	var out progressResponse
	_, err := c.do(ctx, callTimeout, "/scanner/v1/jobs/"+jobID+"/progress", p, &out)
	return &out, err
}

// isGone says whether err is ingest's 410 job_gone.
func isGone(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusGone
}
