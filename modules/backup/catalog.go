package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// List reads every backup's manifest in the folder, oldest first. Manifests are read without
// the key, so a listing works for backups of any key; verification checks the signature.
func (s *Service) List() ([]*Manifest, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, err := readManifest(filepath.Join(s.Dir, e.Name()), nil)
		if err != nil {
			continue // a folder that is not a backup
		}
		out = append(out, m)
	}
	sortManifests(out)
	return out, nil
}

func sortManifests(ms []*Manifest) {
	sort.Slice(ms, func(i, j int) bool {
		if !ms[i].CreatedAt.Equal(ms[j].CreatedAt) {
			return ms[i].CreatedAt.Before(ms[j].CreatedAt)
		}
		return ms[i].ID < ms[j].ID
	})
}

// ErrNotFound is returned for a backup id that is not in the catalog.
var ErrNotFound = errors.New("no such backup")

// Get returns one backup's manifest, unverified.
func (s *Service) Get(id string) (*Manifest, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	m, err := readManifest(filepath.Join(s.Dir, id), nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return m, err
}

// validID keeps an id from naming anything outside the backup folder.
func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "/\\") && !strings.HasPrefix(id, ".")
}

// chainOf returns the backups a restore of m replays: its full backup, then each incremental
// up to m itself.
func chainOf(all []*Manifest, m *Manifest) ([]*Manifest, error) {
	byID := map[string]*Manifest{}
	for _, x := range all {
		byID[x.ID] = x
	}
	chain := []*Manifest{m}
	for cur := m; cur.Incremental; {
		p, ok := byID[cur.Parent]
		if !ok {
			return nil, fmt.Errorf("backup %s follows %s, which is missing: the chain cannot be replayed", cur.ID, cur.Parent)
		}
		chain = append([]*Manifest{p}, chain...)
		cur = p
		if len(chain) > 10000 {
			return nil, errors.New("the incremental chain loops")
		}
	}
	return chain, nil
}
