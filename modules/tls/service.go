package tls

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/settings/settingsapi"
)

// Events for the alarms module.
const (
	EventExpiring         = "tls.certificate.expiring" // 14 days before the served certificate expires
	EventExpired          = "tls.certificate.expired"  // the served certificate has expired
	EventRenewed          = "tls.certificate.renewed"  // a new certificate is served: resolves the two above
	EventRenewalFailed    = "acme.renewal.failed"      // an ACME issuance or renewal attempt failed
	EventRenewalSucceeded = "acme.renewal.succeeded"   // an ACME attempt succeeded: resolves the failure
)

// ServedSubject is the subject of the expiry events: an alarm is about the certificate mipo
// serves, whichever that is, so the next certificate's renewal event resolves it.
const ServedSubject = "served-certificate"

// expiryWarning is how long before expiry EventExpiring is sent.
const expiryWarning = 14 * 24 * time.Hour

const sealPurpose = "tls.certificate.key"

// Service owns the served certificate.
type Service struct {
	m     *app.Mount
	live  *app.LiveCertificate
	roots *x509.CertPool // trusted roots for upload checks; nil: the system's
	acme  *acmeRunner

	mu       sync.Mutex
	loadedID string // the stored certificate now in live
}

func newService(m *app.Mount) *Service {
	if m.Config.Certificate == nil {
		m.Config.Certificate = &app.LiveCertificate{}
	}
	s := &Service{m: m, live: m.Config.Certificate}
	s.acme = &acmeRunner{s: s}
	return s
}

// Start serves the stored certificate, storing the data directory's self-signed one first
// when the database has none (an installation from before certificates lived there).
func (s *Service) Start(ctx context.Context) error {
	err := app.InTx(ctx, s.m.ConfigDB, func(ctx context.Context, ch *app.Change) error {
		r, err := activeRow(ctx, ch.Tx)
		if err != nil || r != nil {
			return err
		}
		certPEM, keyPEM, err := app.CertificateFiles(s.m.Config.DataDir)
		if err != nil {
			return err
		}
		p, err := parsePair(string(certPEM), string(keyPEM))
		if err != nil {
			return err
		}
		_, err = s.install(ctx, ch, "self-signed", p, "tls.certificate.import")
		return err
	})
	if err != nil {
		return fmt.Errorf("tls: storing the first certificate: %w", err)
	}
	if err := s.Reload(ctx); err != nil {
		return err
	}
	// Not only on the next tick: a certificate that expired while mipo was down is reported
	// at start, and a self-signed one follows an FQDN set while it was down.
	if err := s.CheckExpiry(ctx); err != nil {
		s.m.Log.Warn("tls: checking expiry at start", "err", err)
	}
	if err := s.FollowFQDN(ctx); err != nil {
		s.m.Log.Warn("tls: following the FQDN at start", "err", err)
	}
	return nil
}

// Reload serves the stored active certificate if it is not served already. It runs every few
// seconds, so every process serving TLS follows a change made in any of them.
func (s *Service) Reload(ctx context.Context) error {
	r, err := activeRow(ctx, s.m.ConfigDB)
	if err != nil || r == nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ID == s.loadedID {
		return nil
	}
	p, err := s.open(r)
	if err != nil {
		return err
	}
	s.live.Store(&p.cert)
	s.loadedID = r.ID
	s.m.Log.Info("tls: serving a new certificate", "source", r.Source, "serial", p.info().Serial, "not_after", r.NotAfter)
	return nil
}

func (s *Service) open(r *row) (*parsed, error) {
	keyPEM, err := s.m.Secrets.Open(sealPurpose, r.KeySealed)
	if err != nil {
		return nil, err
	}
	return parsePair(r.ChainPEM, keyPEM)
}

// install stores p as the served certificate in the change's transaction, audits it, and
// serves it once the change commits.
func (s *Service) install(ctx context.Context, ch *app.Change, source string, p *parsed, action string) (Info, error) {
	before, err := s.activeInfo(ctx, ch.Tx)
	if err != nil {
		return Info{}, err
	}
	sealed, err := s.m.Secrets.Seal(sealPurpose, p.keyPEM)
	if err != nil {
		return Info{}, err
	}
	in := p.info()
	r := &row{ID: uuid.NewString(), Source: source, ChainPEM: p.chainPEM, KeySealed: sealed, NotAfter: in.NotAfter, CreatedAt: s.m.Clock.Now()}
	if err := insertActive(ctx, ch.Tx, r, in.Serial, in.Pin); err != nil {
		return Info{}, err
	}
	in.ID, in.Source, in.Active, in.CreatedAt = r.ID, source, true, r.CreatedAt
	if err := auditapi.Record(ctx, ch.Tx, auditapi.Entry{Action: action, ResourceType: "tls_certificate", ResourceID: r.ID,
		Before: before, After: in}); err != nil {
		return Info{}, err
	}
	ch.AfterCommit(func(ctx context.Context) {
		if err := s.Reload(ctx); err != nil {
			s.m.Log.Error("tls: serving the new certificate", "err", err)
		}
		// A new certificate ends any expiry alarm raised about the one it replaces.
		if before == nil {
			return
		}
		if err := s.m.Events.Emit(ctx, EventRenewed, ServedSubject, s.expiryPayload(in, source)); err != nil {
			s.m.Log.Error("tls: emitting the renewal", "err", err)
		}
	})
	return in, nil
}

// activeInfo describes the served certificate, nil when none is stored.
func (s *Service) activeInfo(ctx context.Context, db app.Querier) (*Info, error) {
	r, err := activeRow(ctx, db)
	if err != nil || r == nil {
		return nil, err
	}
	in, err := s.describe(r)
	return &in, err
}

func (s *Service) describe(r *row) (Info, error) {
	p, err := parsePair(r.ChainPEM, "")
	if err != nil { // the key is not needed to describe: read the chain alone
		chain, perr := parseChain(r.ChainPEM)
		if perr != nil {
			return Info{}, perr
		}
		p = &parsed{chain: chain}
		p.cert.Certificate = [][]byte{chain[0].Raw}
	}
	in := p.info()
	in.ID, in.Source, in.Active, in.CreatedAt = r.ID, r.Source, r.Active, r.CreatedAt
	return in, nil
}

// Upload validates and serves an uploaded chain and key.
func (s *Service) Upload(ctx context.Context, ch *app.Change, chainPEM, keyPEM string) (Info, error) {
	set, err := settingsapi.Load(ctx, ch.Tx)
	if err != nil {
		return Info{}, err
	}
	p, err := ValidateUpload(chainPEM, keyPEM, set.PublicFQDN, s.m.Clock.Now(), s.roots)
	if err != nil {
		return Info{}, err
	}
	return s.install(ctx, ch, "uploaded", p, "tls.certificate.upload")
}

// SelfSign serves a new self-signed certificate for the public FQDN, on the key of the last
// self-signed one so the pin scanners hold stays valid.
func (s *Service) SelfSign(ctx context.Context, ch *app.Change, action string) (Info, error) {
	set, err := settingsapi.Load(ctx, ch.Tx)
	if err != nil {
		return Info{}, err
	}
	var key *ecdsa.PrivateKey
	last, err := lastSelfSigned(ctx, ch.Tx)
	if err != nil {
		return Info{}, err
	}
	if last != nil {
		if p, err := s.open(last); err == nil {
			key, _ = p.cert.PrivateKey.(*ecdsa.PrivateKey)
		}
	}
	certPEM, keyPEM, err := app.SelfSignedPEM(key, set.PublicFQDN)
	if err != nil {
		return Info{}, err
	}
	p, err := parsePair(string(certPEM), string(keyPEM))
	if err != nil {
		return Info{}, err
	}
	return s.install(ctx, ch, "self-signed", p, action)
}

// FollowFQDN re-signs the self-signed certificate when it does not cover the public FQDN (the
// FQDN setting changed). Uploaded and ACME certificates are the operator's to replace.
func (s *Service) FollowFQDN(ctx context.Context) error {
	return app.InTx(ctx, s.m.ConfigDB, func(ctx context.Context, ch *app.Change) error {
		if _, err := ch.Tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('mipo.tls.follow-fqdn'))`); err != nil {
			return err
		}
		set, err := settingsapi.Load(ctx, ch.Tx)
		if err != nil || set.PublicFQDN == "" {
			return err
		}
		r, err := activeRow(ctx, ch.Tx)
		if err != nil || r == nil || r.Source != "self-signed" {
			return err
		}
		chain, err := parseChain(r.ChainPEM)
		if err != nil {
			return err
		}
		if chain[0].VerifyHostname(hostOf(set.PublicFQDN)) == nil {
			return nil
		}
		_, err = s.SelfSign(ctx, ch, "tls.certificate.self_signed_for_fqdn")
		return err
	})
}

// ExpiryPayload is the body of the expiry events.
type ExpiryPayload struct {
	CertificateID string    `json:"certificate_id"`
	Subject       string    `json:"subject"`
	Names         []string  `json:"names"`
	Source        string    `json:"source"`
	NotAfter      time.Time `json:"not_after"`
	DaysLeft      int       `json:"days_left"` // whole days until NotAfter, negative once expired
}

func (s *Service) expiryPayload(in Info, source string) ExpiryPayload {
	return ExpiryPayload{CertificateID: in.ID, Subject: in.Subject, Names: in.Names, Source: source,
		NotAfter: in.NotAfter, DaysLeft: int(math.Floor(in.NotAfter.Sub(s.m.Clock.Now()).Hours() / 24))}
}

// CheckExpiry emits EventExpiring once, 14 days before the served certificate expires, and
// EventExpired once at expiry.
func (s *Service) CheckExpiry(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.m.ConfigDB, func(tx pgx.Tx) error {
		r, err := activeRow(ctx, tx)
		if err != nil || r == nil {
			return err
		}
		now := s.m.Clock.Now()
		for _, ev := range []struct {
			typ     string
			expired bool
			due     bool
		}{
			{EventExpiring, false, !now.Before(r.NotAfter.Add(-expiryWarning))},
			{EventExpired, true, !now.Before(r.NotAfter)},
		} {
			if !ev.due {
				continue
			}
			first, err := markWarned(ctx, tx, r.ID, ev.expired)
			if err != nil {
				return err
			}
			if !first {
				continue
			}
			in, err := s.describe(r)
			if err != nil {
				return err
			}
			s.m.Log.Warn("tls: certificate expiry", "event", ev.typ, "not_after", r.NotAfter, "subject", in.Subject)
			in.ID, in.NotAfter = r.ID, r.NotAfter
			if err := s.m.Events.Emit(ctx, ev.typ, ServedSubject, s.expiryPayload(in, r.Source)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Served describes the certificate mipo serves now (nil before the first one exists), for
// the health pages. Describing needs nothing of a running Service, only the stored chain.
func Served(ctx context.Context, db app.Querier) (*Info, error) {
	return (*Service)(nil).activeInfo(ctx, db)
}
