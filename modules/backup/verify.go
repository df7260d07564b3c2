package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"

	"mipo/app"
)

// A DamagedError names the part of a backup that failed a check and why.
type DamagedError struct {
	Backup, Part, Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("backup %s, part %s: %s; nothing was restored", e.Backup, e.Part, e.Reason)
}

// Check reads a backup's chain (the full backup and the incrementals up to it) and checks each
// manifest's signature, that this mipo can restore it, and every part's size and SHA-256. It
// decrypts nothing; Verify does.
func (s *Service) Check(id string) ([]*Manifest, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	m, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	chain, err := chainOf(all, m)
	if err != nil {
		return nil, err
	}
	for i, c := range chain {
		if chain[i], err = readManifest(filepath.Join(s.Dir, c.ID), s.Keys); err != nil {
			if errors.Is(err, ErrWrongKey) {
				return nil, fmt.Errorf("backup %s: %w", c.ID, err)
			}
			return nil, &DamagedError{c.ID, manifestFile, err.Error()}
		}
		for _, db := range chain[i].Databases {
			latest, err := app.LatestMigration(db.Name)
			if err != nil {
				return nil, err
			}
			if db.Migration > latest {
				return nil, fmt.Errorf("backup %s holds the %s database at migration %d; this mipo knows up to %d: restore with mipo %s or newer",
					c.ID, db.Name, db.Migration, latest, chain[i].MipoVersion)
			}
		}
		for _, t := range chain[i].Parts() {
			if err := checkPart(filepath.Join(s.Dir, c.ID, t.Part), t); err != nil {
				return nil, &DamagedError{c.ID, t.Part, err.Error()}
			}
		}
	}
	return chain, nil
}

func checkPart(path string, t Table) error {
	f, err := os.Open(path)
	if err != nil {
		return errors.New("the file is missing")
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if n != t.Bytes {
		return fmt.Errorf("the file has %d bytes, the manifest says %d: it was truncated or extended", n, t.Bytes)
	}
	if hex.EncodeToString(h.Sum(nil)) != t.SHA256 {
		return errors.New("its SHA-256 does not match the manifest: the file was altered")
	}
	return nil
}

// openPart returns the plaintext COPY stream of a part; reading it fails on any damage.
func (s *Service) openPart(m *Manifest, t Table) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(s.Dir, m.ID, t.Part))
	if err != nil {
		return nil, err
	}
	dec, err := s.Keys.decrypt(bufio.NewReaderSize(f, 1<<20), m.ID, t.Part)
	if err != nil {
		f.Close()
		return nil, &DamagedError{m.ID, t.Part, "it cannot be decrypted: " + err.Error()}
	}
	zr, err := zstd.NewReader(dec)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &partReader{zr: zr, f: f, backup: m.ID, part: t.Part}, nil
}

type partReader struct {
	zr           *zstd.Decoder
	f            *os.File
	backup, part string
}

func (p *partReader) Read(b []byte) (int, error) {
	n, err := p.zr.Read(b)
	if err != nil && err != io.EOF {
		return n, &DamagedError{p.backup, p.part, "it does not decrypt or decompress: " + err.Error()}
	}
	return n, err
}

func (p *partReader) Close() error { p.zr.Close(); return p.f.Close() }

// Verify checks a backup's chain as Check does, then decrypts and decompresses every part and
// counts its rows against the manifest, without restoring anything.
func (s *Service) Verify(ctx context.Context, id string) ([]*Manifest, error) {
	chain, err := s.Check(id)
	if err != nil {
		return nil, err
	}
	for _, m := range chain {
		for _, t := range m.Parts() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r, err := s.openPart(m, t)
			if err != nil {
				return nil, err
			}
			rows, err := countLines(r)
			r.Close()
			if err != nil {
				return nil, err
			}
			if rows != t.Rows {
				return nil, &DamagedError{m.ID, t.Part, fmt.Sprintf("it holds %d rows, the manifest says %d", rows, t.Rows)}
			}
		}
	}
	return chain, nil
}

// countLines counts rows of a COPY text stream: one line each (newlines in values are escaped).
func countLines(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<16)
	var n int64
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
