package app

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

// Credentials are bearer secrets mipo hands out once: API tokens (mipo_…), scanner keys
// (msk_…) and provisioning tokens (mpt_…). Each is prefix_lookup_secret: the lookup part finds
// the row, and only a SHA-256 of the random secret part is stored, compared in constant time.
// The secret has 256 bits of entropy, so a fast hash is enough.

var lookupEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewCredential returns a new credential, its lookup part and the hash to store.
func NewCredential(prefix string) (token, lookup string, hash []byte) {
	lb := make([]byte, 10)
	sb := make([]byte, 32)
	rand.Read(lb) // crypto/rand never fails on supported platforms
	rand.Read(sb)
	lookup = lookupEncoding.EncodeToString(lb)
	secret := base64.RawURLEncoding.EncodeToString(sb)
	sum := sha256.Sum256([]byte(secret))
	return prefix + "_" + lookup + "_" + secret, lookup, sum[:]
}

// ParseCredential splits a presented credential into its lookup part and the hash of its
// secret. ok is false when it does not have the shape of a credential with this prefix.
func ParseCredential(prefix, token string) (lookup string, hash []byte, ok bool) {
	rest, found := strings.CutPrefix(token, prefix+"_")
	if !found {
		return "", nil, false
	}
	lookup, secret, found := strings.Cut(rest, "_")
	if !found || len(lookup) != 16 || len(secret) != 43 {
		return "", nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	return lookup, sum[:], true
}

// CredentialMatches compares a stored hash with a presented one in constant time.
func CredentialMatches(stored, presented []byte) bool {
	return len(stored) == sha256.Size && subtle.ConstantTimeCompare(stored, presented) == 1
}

// CredentialPrefixOf returns the displayable start of a credential (prefix and lookup), which
// identifies it in lists without revealing the secret.
func CredentialPrefixOf(prefix, lookup string) string { return prefix + "_" + lookup }
