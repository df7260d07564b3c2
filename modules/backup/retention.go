package backup

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// expired returns the backups of a kind made more than days ago, except those a kept backup
// still needs to replay its chain: a full backup stays while an incremental built on it is kept.
func expired(all []*Manifest, kind string, days int, now time.Time) []*Manifest {
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	needed := map[string]bool{}
	for _, m := range all {
		if m.Kind != kind || m.CreatedAt.Before(cutoff) {
			continue
		}
		chain, err := chainOf(all, m)
		if err != nil {
			continue
		}
		for _, c := range chain {
			needed[c.ID] = true
		}
	}
	var out []*Manifest
	for _, m := range all {
		if m.Kind == kind && m.CreatedAt.Before(cutoff) && !needed[m.ID] {
			out = append(out, m)
		}
	}
	return out
}

// Prune deletes the local backups of a kind older than days; it returns their ids.
func (s *Service) Prune(kind string, days int) ([]string, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range expired(all, kind, days, s.now()) {
		if err := os.RemoveAll(filepath.Join(s.Dir, m.ID)); err != nil {
			return ids, err
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// PruneRemote deletes the backups of a kind older than days from the bucket.
func (s *Service) PruneRemote(ctx context.Context, c S3, kind string, days int) ([]string, error) {
	all, err := s.ListRemote(ctx, c)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range expired(all, kind, days, s.now()) {
		if err := s.deleteRemote(ctx, c, m); err != nil {
			return ids, err
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}
