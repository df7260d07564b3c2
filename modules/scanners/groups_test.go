package scanners_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"

	_ "mipo/modules/audit"
	_ "mipo/modules/config" // deleting a scanner asks config which templates name it (configapi)
	_ "mipo/modules/ingest" // scanners register and report through the scanner API
	_ "mipo/modules/rbac"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
)

func TestScannerGroups(t *testing.T) {
	e := scannerstest.Start(t, nil)
	a, _ := e.Scanner(t, "fra-1")
	b, _ := e.Scanner(t, "fra-2")
	r := e.Owner.Post("/api/v1/scanner-groups", map[string]any{"name": "Frankfurt DMZ", "location": "dmz-fra", "scanner_ids": []string{b.ScannerID, a.ScannerID}})
	var g scanners.Group
	r.JSON(t, &g)
	if r.Status != http.StatusCreated || len(g.Scanners) != 2 || g.Scanners[0].Name != "fra-1" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	ids, err := scanners.GroupMembers(context.Background(), e.Srv.App.DB.Config, g.ID)
	if err != nil || len(ids) != 2 || ids[0] != a.ScannerID {
		t.Fatalf("members %v %v", ids, err)
	}
	scannerstest.WantError(t, "a taken name", e.Owner.Post("/api/v1/scanner-groups", map[string]any{"name": "frankfurt dmz"}), http.StatusConflict, "name_taken")
	r = e.Owner.Post("/api/v1/scanner-groups", map[string]any{"name": "x", "scanner_ids": []string{uuid.NewString()}})
	if r.Status != http.StatusBadRequest || r.ErrorField() != "scanner_ids[0]" {
		t.Fatalf("an unknown member: %d %s", r.Status, r.Body)
	}
	e.Owner.Patch("/api/v1/scanner-groups/"+g.ID, map[string]any{"scanner_ids": []string{a.ScannerID}}).JSON(t, &g)
	var s scanners.Scanner
	e.Owner.Get("/api/v1/scanners/"+a.ScannerID).JSON(t, &s)
	if len(g.Scanners) != 1 || len(s.Groups) != 1 || s.Groups[0].Name != "Frankfurt DMZ" {
		t.Fatalf("after update: %+v, scanner groups %+v", g, s.Groups)
	}
	var list struct{ Items []scanners.Scanner }
	e.Owner.Get("/api/v1/scanners?group="+g.ID).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ScannerID {
		t.Fatalf("filtered by group: %+v", list.Items)
	}
	if r := e.Owner.Delete("/api/v1/scanner-groups/" + g.ID); r.Status != http.StatusNoContent {
		t.Fatal(r.Status, string(r.Body))
	}
	if _, err := scanners.GroupMembers(context.Background(), e.Srv.App.DB.Config, g.ID); err == nil {
		t.Fatal("members of a deleted group")
	}
	// A token's groups are joined at registration.
	var grp scanners.Group
	e.Owner.Post("/api/v1/scanner-groups", map[string]any{"name": "Berlin"}).JSON(t, &grp)
	tok := scannerstest.Provision(t, e.Owner, map[string]any{"group_ids": []string{grp.ID}, "name": "ber-1"})
	reg := scannerstest.Register(t, e.Srv.URL, tok.Secret, "whatever")
	e.Owner.Get("/api/v1/scanners/"+reg.ScannerID).JSON(t, &s)
	if s.Name != "ber-1" || len(s.Groups) != 1 || s.Groups[0].ID != grp.ID {
		t.Fatalf("registered from a token with a group: %+v", s)
	}
}
