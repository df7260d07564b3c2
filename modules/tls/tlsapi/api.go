// Package tlsapi is the tls module's contract with the other modules: the served certificate
// as the health pages describe it. It holds no SQL: the tls module fills in the call from its
// init() (main.go links every module in), so a module that reads the certificate does not build
// the tls module's store code into itself (house_test.go TestModulesBuildNoOtherModulesStoreCode).
package tlsapi

import (
	"context"
	"time"

	"mipo/app"
)

// Info is a certificate as the TLS page shows it.
type Info struct {
	ID          string      `json:"id"`
	Source      string      `json:"source" doc:"self-signed, uploaded or acme."`
	Active      bool        `json:"active" doc:"Whether mipo serves this certificate now."`
	Subject     string      `json:"subject"`
	Names       []string    `json:"names" doc:"The DNS names and addresses the certificate covers."`
	Issuer      string      `json:"issuer"`
	Serial      string      `json:"serial" doc:"Serial number, hexadecimal."`
	NotBefore   time.Time   `json:"not_before"`
	NotAfter    time.Time   `json:"not_after"`
	Fingerprint string      `json:"fingerprint" doc:"SHA-256 of the leaf certificate, hexadecimal."`
	Pin         string      `json:"pin" doc:"sha256//BASE64 of the public key: what scanners pin while the certificate is self-signed."`
	SelfSigned  bool        `json:"self_signed"`
	Chain       []ChainLink `json:"chain" doc:"The leaf first, then each issuer the chain carries."`
	CreatedAt   time.Time   `json:"created_at"`
}

// ChainLink is one certificate of a chain.
type ChainLink struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
}

// Served describes the certificate mipo serves now (nil before the first one exists), for the
// health pages. The tls module fills it in from its init().
var Served func(ctx context.Context, db app.Querier) (*Info, error)
