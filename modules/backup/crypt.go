package backup

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"

	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
)

// segmentSize is the ciphertext segment of the streaming AEAD: each 1 MiB is authenticated on
// its own, so a part decrypts in constant memory however large it is.
const segmentSize = 1 << 20

// Keys holds what MIPO_BACKUP_KEY derives: the streaming AEAD for parts, the manifest's MAC
// key, and a short public id that tells a wrong key from a damaged backup.
type Keys struct {
	aead *subtle.AESGCMHKDF
	mac  []byte
	ID   string
}

// ErrWrongKey is returned when a backup was made under another MIPO_BACKUP_KEY.
var ErrWrongKey = errors.New("this backup was made with a different MIPO_BACKUP_KEY: restore the key the backup was made with (mipo backup export-key prints the current one)")

// NewKeys derives the backup keys from the master key of .mipo.env.
func NewKeys(master []byte) (*Keys, error) {
	if len(master) < 32 {
		return nil, errors.New("MIPO_BACKUP_KEY must hold at least 32 bytes")
	}
	derive := func(purpose string) []byte {
		k, _ := hkdf.Key(sha256.New, master, nil, purpose, 32)
		return k
	}
	aead, err := subtle.NewAESGCMHKDF(derive("mipo backup parts v1"), "SHA256", 32, segmentSize, 0)
	if err != nil {
		return nil, err
	}
	id := derive("mipo backup key id v1")
	return &Keys{aead: aead, mac: derive("mipo backup manifest v1"), ID: hex.EncodeToString(id[:8])}, nil
}

// encrypt wraps w: what is written is encrypted for the part (backup id and part name bound
// as associated data). Close writes the final segment; without it the part does not decrypt.
func (k *Keys) encrypt(w io.Writer, backupID, part string) (io.WriteCloser, error) {
	return k.aead.NewEncryptingWriter(w, []byte(backupID+"/"+part))
}

// decrypt reads a part. A damaged, truncated or misplaced part yields an error, never data.
func (k *Keys) decrypt(r io.Reader, backupID, part string) (io.Reader, error) {
	return k.aead.NewDecryptingReader(r, []byte(backupID+"/"+part))
}

// sign returns the manifest's MAC over its canonical bytes.
func (k *Keys) sign(body []byte) string {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte("mipo backup manifest v1\x00"))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func (k *Keys) verify(body []byte, sig string) bool {
	got, err := hex.DecodeString(sig)
	want, _ := hex.DecodeString(k.sign(body))
	return err == nil && hmac.Equal(got, want)
}
