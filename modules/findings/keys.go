package findings

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

const keyPurpose = "evidence.signing-key"

// SigningKey is the public half of the key evidence packs are signed with.
type SigningKey struct {
	ID          string    `json:"id" doc:"The first 16 hex digits of the SHA-256 of the public key: what a person compares."`
	PublicKey   string    `json:"public_key" doc:"The Ed25519 public key, base64."`
	Fingerprint string    `json:"fingerprint" doc:"The SHA-256 of the public key, hex."`
	CreatedAt   time.Time `json:"created_at"`
}

func keyOfPublic(pub ed25519.PublicKey, at time.Time) SigningKey {
	sum := sha256.Sum256(pub)
	fp := hex.EncodeToString(sum[:])
	return SigningKey{ID: fp[:16], PublicKey: base64.StdEncoding.EncodeToString(pub), Fingerprint: fp, CreatedAt: at}
}

// signingKey returns mipo's evidence key, generating it on first use; its private half is
// stored sealed with the SecretBox, as every other secret is.
func signingKey(ctx context.Context, db app.ConfigDB, box *app.SecretBox, now time.Time) (SigningKey, ed25519.PrivateKey, error) {
	if box == nil {
		return SigningKey{}, nil, errors.New("evidence: no secret box to seal the signing key with")
	}
	load := func() (SigningKey, ed25519.PrivateKey, error) {
		var pubB64, sealed string
		var at time.Time
		err := db.QueryRow(ctx, `SELECT public_key, private_key, created_at FROM evidence_keys WHERE id = 'current'`).Scan(&pubB64, &sealed, &at)
		if err != nil {
			return SigningKey{}, nil, err
		}
		seed, err := box.Open(keyPurpose, sealed)
		if err != nil {
			return SigningKey{}, nil, fmt.Errorf("evidence signing key: %w", err)
		}
		raw, err := base64.StdEncoding.DecodeString(seed)
		if err != nil || len(raw) != ed25519.SeedSize {
			return SigningKey{}, nil, errors.New("evidence signing key: stored seed is malformed")
		}
		priv := ed25519.NewKeyFromSeed(raw)
		return keyOfPublic(priv.Public().(ed25519.PublicKey), at), priv, nil
	}
	k, priv, err := load()
	if !errors.Is(err, pgx.ErrNoRows) {
		return k, priv, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, nil, err
	}
	sealed, err := box.Seal(keyPurpose, base64.StdEncoding.EncodeToString(priv.Seed()))
	if err != nil {
		return SigningKey{}, nil, err
	}
	// Two processes generating at once: the first insert wins and both use it.
	if _, err := db.Exec(ctx, `INSERT INTO evidence_keys (id, public_key, private_key, created_at) VALUES ('current', $1, $2, $3)
		ON CONFLICT (id) DO NOTHING`, base64.StdEncoding.EncodeToString(pub), sealed, now); err != nil {
		return SigningKey{}, nil, err
	}
	return load()
}
