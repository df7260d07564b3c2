package audit_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/audit"
	"mipo/modules/rbac/rbactest"
)

// Each record keeps its resource's name as it was at the time of the change: a rename shows
// the new name on the update and the old one on the creation, and a deleted role's records
// still name it.
func TestRecordsKeepTheResourcesNameAtTheTime(t *testing.T) {
	srv, owner := start(t)
	var role struct{ ID string }
	owner.Post("/api/v1/roles", map[string]any{"name": "night-shift", "scopes": []string{}}).JSON(t, &role)
	owner.Patch("/api/v1/roles/"+role.ID, map[string]any{"name": "day-shift"})
	owner.Delete("/api/v1/roles/" + role.ID)
	var u struct{ ID string }
	owner.Post("/api/v1/users", map[string]any{"username": "ingrid", "display_name": "Ingrid", "password": "a-long-enough-passphrase"}).JSON(t, &u)

	var p page
	owner.Get("/api/v1/audit?resource_type=role&resource_id="+role.ID).JSON(t, &p)
	got := map[string]string{}
	for _, it := range p.Items {
		got[it.Action] = it.ResourceName
	}
	if len(p.Items) != 3 || got["role.create"] != "night-shift" || got["role.update"] != "day-shift" || got["role.delete"] != "day-shift" {
		t.Fatalf("role records must keep the name of their time: %v", got)
	}
	owner.Get("/api/v1/audit?resource_type=user&resource_id="+u.ID).JSON(t, &p)
	if len(p.Items) != 1 || p.Items[0].ResourceName != "ingrid" {
		t.Fatalf("a user's record is named by the username: %+v", p.Items)
	}
	// A reader who may not see people sees that there is a name, not whose.
	viewer := rbactest.UserWithScopes(t, srv, owner, "audit:view")
	viewer.Get("/api/v1/audit?resource_type=user&resource_id="+u.ID).JSON(t, &p)
	if len(p.Items) != 1 || p.Items[0].ResourceName != audit.Hidden {
		t.Fatalf("a user's name reached a reader without users:view: %+v", p.Items)
	}
	viewer.Get("/api/v1/audit?resource_type=role&resource_id="+role.ID).JSON(t, &p)
	if len(p.Items) != 3 || p.Items[0].ResourceName != "day-shift" {
		t.Fatalf("a role's name is no person's: %+v", p.Items)
	}

	// Both exports carry the name.
	r := owner.Get("/api/v1/audit/export?format=jsonl&resource_type=role&resource_id=" + role.ID)
	var first audit.AuditRecord
	if err := json.Unmarshal([]byte(strings.SplitN(string(r.Body), "\n", 2)[0]), &first); err != nil || first.ResourceName != "night-shift" {
		t.Fatalf("jsonl export: %+v %v", first, err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(owner.Get("/api/v1/audit/export?format=csv&resource_type=role&resource_id=" + role.ID).Body))).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][11] != "resource_name" || rows[1][11] != "night-shift" || rows[3][11] != "day-shift" {
		t.Fatalf("csv export: %v %v", rows, err)
	}
	if v, err := audit.Verify(context.Background(), chainOf(srv)); err != nil || !v.OK {
		t.Fatalf("named records must verify: %+v %v", v, err)
	}
}

// A superuser who changes a record's name — renames it, blanks it, or gives a name to a record
// that had none — is caught at that record, even with every later hash recomputed.
func TestVerifyCatchesAChangedName(t *testing.T) {
	for _, tc := range []struct{ what, pick, set string }{
		{"renamed", `resource_name = 'nameme2'`, `'someone-else'`},
		{"blanked", `resource_name = 'nameme2'`, `''`},
		{"named", `resource_name = '' AND action = 'setup.complete'`, `'invented'`},
	} {
		t.Run(tc.what, func(t *testing.T) {
			srv, owner := start(t)
			for _, n := range []string{"nameme1", "nameme2", "nameme3"} {
				owner.Post("/api/v1/roles", map[string]any{"name": n, "scopes": []string{}})
			}
			ctx := context.Background()
			if v, err := audit.Verify(ctx, chainOf(srv)); err != nil || !v.OK {
				t.Fatalf("an untouched log must verify: %+v %v", v, err)
			}
			su := superuser(t, srv, "config")
			var victim int64
			if err := su.QueryRow(ctx, `SELECT id FROM audit_log WHERE `+tc.pick+` ORDER BY id LIMIT 1`).Scan(&victim); err != nil {
				t.Fatal(err)
			}
			if _, err := su.Exec(ctx, `UPDATE audit_log SET resource_name = `+tc.set+` WHERE id = $1`, victim); err != nil {
				t.Fatal(err)
			}
			v, err := audit.Verify(ctx, chainOf(srv))
			if err != nil || v.OK || v.FirstBadID == nil || *v.FirstBadID != victim {
				t.Fatalf("a %s record must be named (%d): %+v %v", tc.what, victim, v, err)
			}
			if err := audit.Rechain(ctx, su, victim, nil); err != nil {
				t.Fatal(err)
			}
			if v, _ := audit.Verify(ctx, chainOf(srv)); v.OK || *v.FirstBadID != victim {
				t.Fatalf("a %s record with the chain recomputed must be named (%d): %+v", tc.what, victim, v)
			}
		})
	}
}

// Records written before names were kept have none, and their hashes never covered one: they
// verify beside named records.
func TestRecordsWithoutANameStillVerify(t *testing.T) {
	dbs := apptest.Databases(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	chain := audit.Chain{Config: dbs.Config, Jobs: dbs.Jobs, Key: key}
	ctx := app.WithAuditKey(app.WithPrincipal(context.Background(), app.System("t")), key)
	if err := audit.Checkpoint(ctx, chain); err != nil {
		t.Fatal(err)
	}
	for _, e := range []audit.Entry{
		{Action: "thing.write", ResourceType: "thing", ResourceID: "1"},
		{Action: "thing.write", ResourceType: "thing", ResourceID: "2", ResourceName: "named"},
		{Action: "thing.write", ResourceType: "thing", ResourceID: "3", After: map[string]any{"name": "from-after"}},
		{Action: "thing.write", ResourceType: "thing", ResourceID: "4"},
	} {
		if err := audit.RecordNow(ctx, dbs.ConfigDB(), e); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	rows, _ := dbs.Config.Query(ctx, `SELECT resource_name FROM audit_log ORDER BY id`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if strings.Join(names, ",") != ",named,from-after," {
		t.Fatalf("names recorded: %q", names)
	}
	if v, err := audit.Verify(ctx, chain); err != nil || !v.OK || v.Checked != 4 {
		t.Fatalf("records with and without a name must verify together: %+v %v", v, err)
	}
}
