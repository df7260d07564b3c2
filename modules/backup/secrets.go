package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
)

const secretsPart = "install.env.zst.enc"

// writeSecrets stores the installation's keys (MIPO_SECRET_KEY, which opens the encrypted
// settings; the audit key; …) as a part of a config backup, so a restore on a new machine with
// only the backup and MIPO_BACKUP_KEY gets an installation that can read its own secrets.
func (s *Service) writeSecrets(dir, backupID string) (*Table, error) {
	if len(s.Secrets) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(s.Secrets))
	for k := range s.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	f, err := os.OpenFile(filepath.Join(dir, secretsPart), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sum := sha256.New()
	counted := &countWriter{w: io.MultiWriter(f, sum)}
	enc, err := s.Keys.encrypt(counted, backupID, secretsPart)
	if err != nil {
		return nil, err
	}
	zw, _ := zstd.NewWriter(enc)
	for _, k := range names {
		fmt.Fprintf(zw, "%s=%s\n", k, s.Secrets[k])
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return &Table{Name: "secrets", Rows: int64(len(names)), Total: int64(len(names)), Part: secretsPart, Bytes: counted.n,
		SHA256: hex.EncodeToString(sum.Sum(nil))}, nil
}

// ReadSecrets returns the keys a config backup carries (after Check has passed).
func (s *Service) ReadSecrets(_ context.Context, m *Manifest) (map[string]string, error) {
	if m.Secrets == nil {
		return nil, nil
	}
	r, err := s.openPart(m, *m.Secrets)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.HasPrefix(k, "MIPO_") {
			out[k] = v
		}
	}
	return out, sc.Err()
}
