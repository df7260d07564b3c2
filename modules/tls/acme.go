package tls

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/certificate"
	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/challenge/dns01"
	"github.com/go-acme/lego/v4/lego"
	"github.com/go-acme/lego/v4/registration"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/settings/settingsapi"
)

// ACME is the ACME configuration as the API shows it: the credentials never, only whether
// they are set (reading them is a separate, audited call).
type ACME struct {
	Enabled        bool       `json:"enabled" doc:"Whether mipo obtains and renews its certificate by ACME."`
	DirectoryURL   string     `json:"directory_url" doc:"The ACME directory, such as https://acme-v02.api.letsencrypt.org/directory."`
	Email          string     `json:"email" doc:"The account's contact address."`
	Challenge      string     `json:"challenge" doc:"http-01 (the CA fetches a token from this mipo on port 80) or dns-01 (a TXT record through the DNS provider)."`
	DNSProvider    string     `json:"dns_provider" doc:"For dns-01: cloudflare, route53 or ovh."`
	CredentialsSet bool       `json:"credentials_set" doc:"Whether DNS provider credentials are stored (sealed)."`
	AccountURI     string     `json:"account_uri" doc:"The ACME account, once registered."`
	NextAttemptAt  *time.Time `json:"next_attempt_at" doc:"When the next issuance or renewal attempt is due."`
	Failures       int        `json:"failures" doc:"Failed attempts since the last success; retries back off."`
}

// ACMEInput configures ACME. Credentials replace the stored ones when given; null keeps them.
type ACMEInput struct {
	Enabled      bool              `json:"enabled"`
	DirectoryURL string            `json:"directory_url"`
	Email        string            `json:"email"`
	Challenge    string            `json:"challenge"`
	DNSProvider  string            `json:"dns_provider"`
	Credentials  map[string]string `json:"credentials,omitempty" doc:"cloudflare: api_token [, base_url]. route53: access_key_id, secret_access_key, region, hosted_zone_id [, endpoint]. ovh: endpoint, application_key, application_secret, consumer_key."`
}

// Attempt is one issuance or renewal attempt.
type Attempt struct {
	ID            string    `json:"id"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	OK            bool      `json:"ok"`
	Error         string    `json:"error"`
	CertificateID *string   `json:"certificate_id"`
}

// RenewalFailedPayload is the body of EventRenewalFailed.
type RenewalFailedPayload struct {
	Error         string    `json:"error"`
	Failures      int       `json:"failures"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	DirectoryURL  string    `json:"directory_url"`
	Domain        string    `json:"domain"`
}

const (
	credPurpose    = "tls.acme.credentials"
	accountPurpose = "tls.acme.account_key"
	// backoffMax caps the wait between failed attempts; the first retry comes after backoffMin.
	backoffMin = 5 * time.Minute
	backoffMax = 12 * time.Hour
)

// backoff is the wait after the n-th failure in a row: 5 minutes, doubling, at most 12 hours.
func backoff(n int) time.Duration {
	d := backoffMin
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// renewAt is two thirds into a certificate's lifetime.
func renewAt(c *x509.Certificate) time.Time {
	return c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) * 2 / 3)
}

type acmeRow struct {
	ACME
	credSealed, accountKeySealed string
}

func loadACME(ctx context.Context, db app.Querier) (*acmeRow, error) {
	var r acmeRow
	err := db.QueryRow(ctx, `SELECT enabled, directory_url, email, challenge, dns_provider, credentials_sealed, account_key_sealed,
		account_uri, next_attempt_at, failures FROM tls_acme`).Scan(&r.Enabled, &r.DirectoryURL, &r.Email, &r.Challenge, &r.DNSProvider,
		&r.credSealed, &r.accountKeySealed, &r.AccountURI, &r.NextAttemptAt, &r.Failures)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	r.CredentialsSet = r.credSealed != ""
	return &r, err
}

// acmeRunner obtains certificates with lego. One attempt runs at a time in a process; the
// HTTP-01 tokens it presents are answered by the public /.well-known/acme-challenge route.
type acmeRunner struct {
	s          *Service
	httpClient *http.Client // for the ACME directory; nil: lego's default (system roots)
	dnsOptions []dns01.ChallengeOption
	tokens     sync.Map // HTTP-01 token -> key authorization
	mu         sync.Mutex
}

// Present and CleanUp make the runner lego's HTTP-01 provider.
func (a *acmeRunner) Present(_, token, keyAuth string) error {
	a.tokens.Store(token, keyAuth)
	return nil
}
func (a *acmeRunner) CleanUp(_, token, _ string) error { a.tokens.Delete(token); return nil }

type acmeUser struct {
	email string
	key   crypto.PrivateKey
	reg   *registration.Resource
}

func (u *acmeUser) GetEmail() string                        { return u.email }
func (u *acmeUser) GetRegistration() *registration.Resource { return u.reg }
func (u *acmeUser) GetPrivateKey() crypto.PrivateKey        { return u.key }

// Due reports whether an attempt should run now: ACME is on, and the served certificate is
// not ACME's, or is two thirds through its life, and any back-off has passed.
func (a *acmeRunner) Due(ctx context.Context) (bool, error) {
	cfg, err := loadACME(ctx, a.s.m.ConfigDB)
	if err != nil || cfg == nil || !cfg.Enabled {
		return false, err
	}
	now := a.s.m.Clock.Now()
	if cfg.NextAttemptAt != nil && now.Before(*cfg.NextAttemptAt) {
		return false, nil
	}
	r, err := activeRow(ctx, a.s.m.ConfigDB)
	if err != nil {
		return false, err
	}
	if r == nil || r.Source != "acme" {
		return true, nil
	}
	chain, err := parseChain(r.ChainPEM)
	return err == nil && !now.Before(renewAt(chain[0])), err
}

// RenewIfDue is the renewal job.
func (a *acmeRunner) RenewIfDue(ctx context.Context) error {
	due, err := a.Due(ctx)
	if err != nil || !due {
		return err
	}
	_, err = a.Obtain(ctx)
	return err
}

// Obtain runs one issuance attempt and records it: on success the certificate is served; on
// failure the attempt is logged, retried after a back-off, and EventRenewalFailed emitted.
func (a *acmeRunner) Obtain(ctx context.Context) (Attempt, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.s.m
	cfg, err := loadACME(ctx, m.ConfigDB)
	if err != nil {
		return Attempt{}, err
	}
	if cfg == nil || !cfg.Enabled {
		return Attempt{}, app.Conflict("acme_disabled", "ACME is not configured and enabled")
	}
	set, err := settingsapi.Load(ctx, m.ConfigDB)
	if err != nil {
		return Attempt{}, err
	}
	domain := hostOf(set.PublicFQDN)
	at := Attempt{ID: uuid.NewString(), StartedAt: m.Clock.Now()}
	m.Log.Info("acme: attempt", "domain", domain, "directory", cfg.DirectoryURL, "challenge", cfg.Challenge)
	p, accountURI, accountKey, obtainErr := a.issue(cfg, domain)
	at.FinishedAt = m.Clock.Now()
	err = app.InTx(ctx, m.ConfigDB, func(ctx context.Context, ch *app.Change) error {
		if obtainErr == nil {
			in, err := a.s.install(ctx, ch, "acme", p, "tls.certificate.acme_issued")
			if err != nil {
				return err
			}
			at.OK, at.CertificateID = true, &in.ID
			ch.AfterCommit(func(ctx context.Context) {
				if err := m.Events.Emit(ctx, EventRenewalSucceeded, domain, map[string]string{"domain": domain, "certificate_id": in.ID}); err != nil {
					m.Log.Error("acme: emitting the success", "err", err)
				}
			})
			_, err = ch.Tx.Exec(ctx, `UPDATE tls_acme SET failures = 0, next_attempt_at = NULL, account_uri = $1, account_key_sealed = $2`, accountURI, accountKey)
			if err != nil {
				return err
			}
		} else {
			at.Error = obtainErr.Error()
			next := at.FinishedAt.Add(backoff(cfg.Failures + 1))
			if _, err := ch.Tx.Exec(ctx, `UPDATE tls_acme SET failures = failures + 1, next_attempt_at = $1`, next); err != nil {
				return err
			}
			if accountKey != "" {
				if _, err := ch.Tx.Exec(ctx, `UPDATE tls_acme SET account_uri = $1, account_key_sealed = $2`, accountURI, accountKey); err != nil {
					return err
				}
			}
			ch.AfterCommit(func(ctx context.Context) {
				payload := RenewalFailedPayload{Error: at.Error, Failures: cfg.Failures + 1, NextAttemptAt: next, DirectoryURL: cfg.DirectoryURL, Domain: domain}
				if err := m.Events.Emit(ctx, EventRenewalFailed, domain, payload); err != nil {
					m.Log.Error("acme: emitting the failure", "err", err)
				}
			})
		}
		_, err := ch.Tx.Exec(ctx, `INSERT INTO tls_acme_attempts (id, started_at, finished_at, ok, error, certificate_id) VALUES ($1, $2, $3, $4, $5, $6)`,
			at.ID, at.StartedAt, at.FinishedAt, at.OK, at.Error, at.CertificateID)
		return err
	})
	if err != nil {
		return at, err
	}
	if obtainErr != nil {
		m.Log.Warn("acme: attempt failed", "domain", domain, "err", obtainErr)
	} else {
		m.Log.Info("acme: certificate issued", "domain", domain, "serial", p.info().Serial)
	}
	return at, nil
}

// issue talks to the CA. It returns the account's URI and sealed key, new or reused, so even
// a failed attempt keeps a freshly registered account.
func (a *acmeRunner) issue(cfg *acmeRow, domain string) (p *parsed, accountURI, accountKeySealed string, err error) {
	m := a.s.m
	if domain == "" {
		return nil, "", "", errors.New("the public FQDN is not set: ACME needs the name to certify")
	}
	user := &acmeUser{email: cfg.Email}
	accountURI, accountKeySealed = cfg.AccountURI, cfg.accountKeySealed
	if cfg.accountKeySealed != "" {
		keyPEM, err := m.Secrets.Open(accountPurpose, cfg.accountKeySealed)
		if err != nil {
			return nil, "", "", err
		}
		b, _ := pem.Decode([]byte(keyPEM))
		if b == nil {
			return nil, "", "", errors.New("the stored ACME account key is not PEM")
		}
		if user.key, err = x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
			return nil, "", "", err
		}
		if cfg.AccountURI != "" {
			user.reg = &registration.Resource{URI: cfg.AccountURI}
		}
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, "", "", err
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		if accountKeySealed, err = m.Secrets.Seal(accountPurpose, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))); err != nil {
			return nil, "", "", err
		}
		user.key = k
	}
	lc := lego.NewConfig(user)
	lc.CADirURL = cfg.DirectoryURL
	lc.UserAgent = "mipo/" + app.Version
	lc.Certificate.KeyType = certcrypto.EC256
	if a.httpClient != nil {
		lc.HTTPClient = a.httpClient
	}
	client, err := lego.NewClient(lc)
	if err != nil {
		return nil, accountURI, accountKeySealed, fmt.Errorf("ACME directory %s: %w", cfg.DirectoryURL, err)
	}
	switch cfg.Challenge {
	case "http-01":
		err = client.Challenge.SetHTTP01Provider(a)
	case "dns-01":
		var creds map[string]string
		if creds, err = a.credentials(cfg); err == nil {
			var prov challenge.Provider
			if prov, err = dnsProvider(cfg.DNSProvider, creds); err == nil {
				err = client.Challenge.SetDNS01Provider(prov, a.dnsOptions...)
			}
		}
	}
	if err != nil {
		return nil, accountURI, accountKeySealed, err
	}
	if user.reg == nil {
		reg, err := client.Registration.Register(registration.RegisterOptions{TermsOfServiceAgreed: true})
		if err != nil {
			return nil, accountURI, accountKeySealed, fmt.Errorf("registering the ACME account: %w", err)
		}
		user.reg, accountURI = reg, reg.URI
	}
	res, err := client.Certificate.Obtain(certificate.ObtainRequest{Domains: []string{domain}, Bundle: true})
	if err != nil {
		return nil, accountURI, accountKeySealed, err
	}
	p, err = parsePair(string(res.Certificate), string(res.PrivateKey))
	return p, accountURI, accountKeySealed, err
}

func (a *acmeRunner) credentials(cfg *acmeRow) (map[string]string, error) {
	creds := map[string]string{}
	if cfg.credSealed == "" {
		return creds, nil
	}
	raw, err := a.s.m.Secrets.Open(credPurpose, cfg.credSealed)
	if err != nil {
		return nil, err
	}
	return creds, json.Unmarshal([]byte(raw), &creds)
}

func recentAttempts(ctx context.Context, db app.Querier, limit int) ([]Attempt, error) {
	rows, err := db.Query(ctx, `SELECT id, started_at, finished_at, ok, error, certificate_id FROM tls_acme_attempts ORDER BY started_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		if err := rows.Scan(&a.ID, &a.StartedAt, &a.FinishedAt, &a.OK, &a.Error, &a.CertificateID); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ConfigureACME validates and stores the ACME configuration, sealing the credentials, and
// audits the change (never the credentials themselves).
func (s *Service) ConfigureACME(ctx context.Context, ch *app.Change, in ACMEInput) (ACME, error) {
	before, err := loadACME(ctx, ch.Tx)
	if err != nil {
		return ACME{}, err
	}
	in.DirectoryURL, in.Email = strings.TrimSpace(in.DirectoryURL), strings.TrimSpace(in.Email)
	if u, err := url.Parse(in.DirectoryURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return ACME{}, app.Invalid("directory_url", "invalid_directory_url", "give the ACME directory's https:// URL, such as https://acme-v02.api.letsencrypt.org/directory")
	}
	if _, err := mail.ParseAddress(in.Email); err != nil || strings.ContainsAny(in.Email, "<> ") {
		return ACME{}, app.Invalid("email", "invalid_email", "give a contact address such as ops@example.com")
	}
	sealed := ""
	if before != nil {
		sealed = before.credSealed
	}
	switch in.Challenge {
	case "http-01":
		in.DNSProvider = ""
	case "dns-01":
		creds := in.Credentials
		if creds == nil && before != nil && before.DNSProvider == in.DNSProvider {
			if creds, err = s.acme.credentials(before); err != nil {
				return ACME{}, err
			}
		}
		if err := validateCredentials(in.DNSProvider, creds); err != nil {
			return ACME{}, err
		}
		raw, _ := json.Marshal(creds)
		if sealed, err = s.m.Secrets.Seal(credPurpose, string(raw)); err != nil {
			return ACME{}, err
		}
	default:
		return ACME{}, app.Invalid("challenge", "invalid_challenge", "the challenge must be http-01 or dns-01")
	}
	if in.Challenge == "http-01" {
		sealed = ""
	}
	// A new directory or contact means a new account.
	keepAccount := before != nil && before.DirectoryURL == in.DirectoryURL && before.Email == in.Email
	_, err = ch.Tx.Exec(ctx, `INSERT INTO tls_acme (enabled, directory_url, email, challenge, dns_provider, credentials_sealed, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (singleton) DO UPDATE SET enabled = $1, directory_url = $2, email = $3, challenge = $4, dns_provider = $5,
			credentials_sealed = $6, updated_at = $7, failures = 0, next_attempt_at = NULL,
			account_uri = CASE WHEN $8 THEN tls_acme.account_uri ELSE '' END,
			account_key_sealed = CASE WHEN $8 THEN tls_acme.account_key_sealed ELSE '' END`,
		in.Enabled, in.DirectoryURL, in.Email, in.Challenge, in.DNSProvider, sealed, s.m.Clock.Now(), keepAccount)
	if err != nil {
		return ACME{}, err
	}
	after, err := loadACME(ctx, ch.Tx)
	if err != nil {
		return ACME{}, err
	}
	var b any
	if before != nil {
		b = before.ACME
	}
	if err := auditapi.Record(ctx, ch.Tx, auditapi.Entry{Action: "tls.acme.configure", ResourceType: "tls_acme", Before: b, After: after.ACME}); err != nil {
		return ACME{}, err
	}
	return after.ACME, nil
}
