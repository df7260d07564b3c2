package rbac

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id cost: RFC 9106's second recommended option (for machines that cannot spare 2 GiB
// per hash): 3 passes over 64 MiB with 4 lanes.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 4
	argonKeyLen  = 32
)

// hashSlots bounds how many hashes run at once, so a burst of sign-ins cannot make the
// server allocate 64 MiB per request without limit.
var hashSlots = make(chan struct{}, 4)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := derive(password, salt, argonTime, argonMemory, argonThreads)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func derive(password string, salt []byte, t, m uint32, p uint8) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(password), salt, t, m, p, argonKeyLen)
}

// CheckPassword reports whether password matches an encoded hash, comparing in constant time.
// The hash's own parameters are used, so raising the cost later does not lock anyone out.
func CheckPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<21 || t > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) != argonKeyLen {
		return false
	}
	return subtle.ConstantTimeCompare(derive(password, salt, t, m, p), want) == 1
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// burnPasswordCheck spends the time of a real check, so a sign-in for an unknown or
// password-less account takes as long as one with a wrong password.
func burnPasswordCheck(password string) {
	dummyOnce.Do(func() { dummyHash, _ = HashPassword("mipo-timing-equaliser") })
	CheckPassword(dummyHash, password)
}

// commonPasswords are refused outright; the length rule rules out most others.
var commonPasswords = map[string]bool{
	"password1234": true, "123456789012": true, "qwertyuiopas": true, "passwordpassword": true,
	"iloveyou1234": true, "administrator": true, "letmein12345": true, "changeme1234": true,
	"welcome12345": true, "1234567890123": true, "qwerty123456": true, "password123!": true,
}

// CheckPolicy enforces the password policy: 12 to 256 characters, at least 6 different
// characters, not containing the username, and not a well-known password.
func CheckPolicy(username, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < 12:
		return invalid("password", "weak_password", "the password must be at least 12 characters long")
	case n > 256:
		return invalid("password", "weak_password", "the password must be at most 256 characters long")
	case distinctRunes(password) < 6:
		return invalid("password", "weak_password", "the password must use at least 6 different characters")
	case len(username) >= 3 && strings.Contains(strings.ToLower(password), strings.ToLower(username)):
		return invalid("password", "weak_password", "the password must not contain the username")
	case commonPasswords[strings.ToLower(password)]:
		return invalid("password", "weak_password", "that password is too well known; choose another")
	}
	return nil
}

func distinctRunes(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}
