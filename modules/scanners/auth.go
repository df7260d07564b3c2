package scanners

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Refusal codes.
const (
	CodeInvalidKey          = "invalid_key"
	CodeDisabled            = "scanner_disabled"
	CodeBindingMismatch     = "binding_mismatch"
	CodeBindingUnverifiable = "binding_unverifiable"
	CodeInvalidToken        = "invalid_token"
)

// Authenticate checks one request of a scanner: the presented API key (its secret compared in
// constant time with the stored hash), that the scanner is not disabled, and that source is
// inside its binding. It returns the scanner's identity, or a *Refusal; any other error is
// trouble that may pass (the database), to be answered with a 5xx.
func Authenticate(ctx context.Context, db app.Querier, asn *ASNDatabase, presentedKey string, source netip.Addr) (*Identity, error) {
	src := source.Unmap().String()
	lookup, presented, ok := app.ParseCredential(KeyPrefix, presentedKey)
	if !ok {
		return nil, &Refusal{Status: http.StatusUnauthorized, Code: CodeInvalidKey, Source: src,
			Message: "send the scanner's API key as 'Authorization: Bearer msk_…'"}
	}
	var id Identity
	var hash []byte
	var disabled bool
	err := db.QueryRow(ctx, `SELECT id, name, binding, key_hash, disabled FROM scanners WHERE key_lookup = $1`, lookup).
		Scan(&id.ID, &id.Name, &id.Binding, &hash, &disabled)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !app.CredentialMatches(hash, presented) {
		return nil, &Refusal{Status: http.StatusUnauthorized, Code: CodeInvalidKey, Source: src,
			Message: "the API key is unknown or was rotated; put the scanner's current key in its key file"}
	}
	if err != nil {
		return nil, err
	}
	refuse := func(code, msg string) (*Identity, error) {
		return nil, &Refusal{Status: http.StatusForbidden, Code: code, Message: msg, ScannerID: id.ID, ScannerName: id.Name, Source: src}
	}
	if disabled {
		return refuse(CodeDisabled, "scanner "+id.Name+" is disabled; an operator can enable it again")
	}
	b, err := ParseBinding("binding", id.Binding)
	if err != nil {
		return refuse(CodeBindingUnverifiable, "scanner "+id.Name+"'s binding "+id.Binding+" cannot be read; set it again")
	}
	allowed, err := b.Allows(source, asn)
	if err != nil {
		return refuse(CodeBindingUnverifiable, fmt.Sprintf("scanner %s is bound to %s, which cannot be checked here: %v", id.Name, b, err))
	}
	if !allowed {
		return refuse(CodeBindingMismatch, fmt.Sprintf("source address %s is outside this scanner's binding %s", src, b))
	}
	return &id, nil
}
