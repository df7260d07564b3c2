package app

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// SecretBox encrypts secrets at rest (webhook signing keys, SMTP passwords, OIDC client
// secrets, S3 keys) with AES-256-GCM under a key derived from MIPO_SECRET_KEY. The purpose
// string is bound in as additional data, so a ciphertext cannot be moved to another field.
type SecretBox struct{ aead cipher.AEAD }

const sealedPrefix = "v1:"

// NewSecretBox derives the encryption key from the master key.
func NewSecretBox(master []byte) (*SecretBox, error) {
	key, err := hkdf.Key(sha256.New, master, nil, "mipo secrets at rest v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead}, nil
}

// Seal encrypts plaintext for a purpose (such as "channel.webhook.secret").
func (b *SecretBox) Seal(purpose, plaintext string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(purpose))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal produced for the same purpose.
func (b *SecretBox) Open(purpose, sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, sealedPrefix))
	if err != nil || !strings.HasPrefix(sealed, sealedPrefix) || len(raw) < b.aead.NonceSize() {
		return "", errors.New("secret is not in mipo's sealed form")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return "", errors.New("secret cannot be decrypted: wrong MIPO_SECRET_KEY, or the value was altered")
	}
	return string(plain), nil
}
