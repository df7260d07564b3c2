package scans

import (
	"slices"
	"testing"

	"github.com/google/uuid"
)

// Scans and jobs get time-ordered ids (UUIDv7): each new row's id sorts after the last, so their
// primary keys and the results indexes that start with them take inserts at the end instead of
// all over the index.
func TestScanAndJobIDsAreTimeOrdered(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("scanner-a", 1000)
	b := f.scanner("scanner-b", 1000)
	g := f.create("/api/v1/scanner-groups", map[string]any{"name": "views", "scanner_ids": []string{a.id, b.id}})
	tmpl := f.template("web", "127.0.0.0/28", "22,80", "vantage", g)
	var scanIDs, jobIDs []string
	for range 3 {
		s := f.launch(map[string]any{"template_id": tmpl})[0]
		f.tick()
		scanIDs = append(scanIDs, s.ID)
		for _, j := range f.detail(s.ID).Jobs {
			jobIDs = append(jobIDs, j.ID)
		}
	}
	if len(jobIDs) != 6 {
		t.Fatalf("3 vantage scans of 2 scanners made %d jobs", len(jobIDs))
	}
	for _, ids := range [][]string{scanIDs, jobIDs} {
		for _, id := range ids {
			if u, err := uuid.Parse(id); err != nil || u.Version() != 7 {
				t.Errorf("id %s is not a UUIDv7 (%v)", id, err)
			}
		}
	}
	if !slices.IsSorted(scanIDs) {
		t.Errorf("scan ids do not sort in launch order: %v", scanIDs)
	}
	// Jobs of one scan are made together; across scans they follow the launches.
	for i := 2; i < len(jobIDs); i += 2 {
		if slices.Max(jobIDs[i-2:i]) >= slices.Min(jobIDs[i:i+2]) {
			t.Errorf("a later scan's jobs sort before an earlier scan's: %v", jobIDs)
		}
	}
}
