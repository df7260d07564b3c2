package app

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// The secrets generated into .mipo.env on first start. Operators never invent them.
var (
	settingSessionKey = SecretSetting("MIPO_SESSION_KEY", "Key that signs session tokens (base64, 32 bytes). Generated into .mipo.env.")
	settingSecretKey  = SecretSetting("MIPO_SECRET_KEY", "Key that encrypts secrets at rest (base64, 32 bytes). Generated into .mipo.env.")
	settingBackupKey  = SecretSetting("MIPO_BACKUP_KEY", "Key that encrypts backups (base64, 32 bytes). Generated into .mipo.env.")
	_                 = SecretSetting("MIPO_CONFIG_DB_PASSWORD", "Password of the config database, used by compose.yaml. Generated into .mipo.env.")
	_                 = SecretSetting("MIPO_RESULTS_DB_PASSWORD", "Password of the results database, used by compose.yaml. Generated into .mipo.env.")
	_                 = SecretSetting("MIPO_JOBS_DB_PASSWORD", "Password of the jobs database, used by compose.yaml. Generated into .mipo.env.")
	settingAuditKey   = SecretSetting("MIPO_AUDIT_KEY", "Key of the audit log's HMAC chain and checkpoints (base64, 32 bytes). Generated into .mipo.env; appended to an older one.")
	_                 = SecretSetting("MIPO_APP_DB_PASSWORD", "Password of mipo_app, the database role compose.yaml's serving processes use (it owns nothing). Generated into .mipo.env; appended to an older one.")
)

// EnvFileName is the secrets file kept in the data directory.
const EnvFileName = ".mipo.env"

var generatedSecrets = append([]string{
	"MIPO_SESSION_KEY", "MIPO_SECRET_KEY", "MIPO_BACKUP_KEY",
	"MIPO_CONFIG_DB_PASSWORD", "MIPO_RESULTS_DB_PASSWORD", "MIPO_JOBS_DB_PASSWORD",
}, addedSecrets...)

// addedSecrets came after the first release: a .mipo.env without them gets them appended.
// The older secrets are never invented for an existing file — a missing MIPO_SECRET_KEY must
// be restored from a backup, not replaced by one that decrypts nothing.
var addedSecrets = []string{"MIPO_AUDIT_KEY", "MIPO_APP_DB_PASSWORD"}

// EnsureEnvFile creates dir/.mipo.env (mode 0600) with fresh random secrets if it does not
// exist — it never overwrites one, only appends the secrets added since it was made — and
// returns the values it holds.
func EnsureEnvFile(dir string) (map[string]string, error) {
	path := filepath.Join(dir, EnvFileName)
	if err := createEnvFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	values, err := readEnvFile(path)
	if err != nil {
		return nil, err
	}
	for _, name := range addedSecrets {
		if _, ok := values[name]; !ok {
			if err := appendSecrets(path); err != nil {
				return nil, fmt.Errorf("appending to %s: %w", path, err)
			}
			return readEnvFile(path)
		}
	}
	return values, nil
}

// appendSecrets adds the missing added secrets at the end of the file, under an exclusive lock
// so that two processes starting at once append each secret once.
func appendSecrets(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	present, err := readEnvFile(path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			buf.WriteByte('\n')
		}
	}
	for _, name := range addedSecrets {
		if _, ok := present[name]; ok {
			continue
		}
		v, err := randomSecret()
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "%s=%s\n", name, v)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return err
	}
	return f.Sync()
}

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func createEnvFile(path string) error {
	var buf bytes.Buffer
	buf.WriteString("# mipo secrets, generated on first start. Keep this file private and backed up:\n")
	buf.WriteString("# without MIPO_SECRET_KEY the encrypted settings cannot be read, without\n")
	buf.WriteString("# MIPO_BACKUP_KEY the backups cannot be restored.\n")
	for _, name := range generatedSecrets {
		v, err := randomSecret()
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "%s=%s\n", name, v)
	}
	// O_EXCL: two processes starting at once cannot both write it, and an existing file is kept.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	values := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok || !strings.HasPrefix(k, "MIPO_") {
			return nil, fmt.Errorf("%s line %d: expected MIPO_NAME=value", path, line)
		}
		values[k] = v
	}
	return values, sc.Err()
}

// decodeKey reads a generated key: base64 of at least 32 bytes.
func decodeKey(v string) ([]byte, error) {
	if v == "" {
		return nil, errors.New("is empty; delete nothing, but restore it from your backup of .mipo.env")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return nil, errors.New("must be base64 (URL alphabet)")
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("must hold at least 32 bytes, has %d", len(b))
	}
	return b, nil
}

func checkDSN(dsn string) error {
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		// pgconn's message can quote the DSN; say what is wrong without repeating a password.
		return errors.New("is not a valid PostgreSQL connection string (expected postgres://user:password@host:5432/db)")
	}
	return nil
}

func splitHostPort(addr string) (string, string, error) { return net.SplitHostPort(addr) }

// UpdateEnvFile sets values in dir/.mipo.env (a restore on a new machine brings back the
// installation's keys), keeping the previous file as .mipo.env.before-restore. Other lines and
// comments stay as they were.
func UpdateEnvFile(dir string, values map[string]string) error {
	path := filepath.Join(dir, EnvFileName)
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".before-restore", old, 0o600); err != nil {
		return err
	}
	done := map[string]bool{}
	var buf bytes.Buffer
	for _, line := range strings.SplitAfter(string(old), "\n") {
		k, _, ok := strings.Cut(strings.TrimSpace(line), "=")
		if v, set := values[k]; ok && set {
			fmt.Fprintf(&buf, "%s=%s\n", k, v)
			done[k] = true
			continue
		}
		buf.WriteString(line)
	}
	for k, v := range values {
		if !done[k] {
			fmt.Fprintf(&buf, "%s=%s\n", k, v)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
