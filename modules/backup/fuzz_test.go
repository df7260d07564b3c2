package backup

import (
	"testing"
)

// A manifest comes from a folder or a bucket anyone may have written to: whatever it holds,
// parsing answers an error or a manifest whose signature was checked, and never panics.
func FuzzParseManifest(f *testing.F) {
	k, _ := NewKeys(make([]byte, 32))
	m := &Manifest{Format: 1, ID: "20261130T000000Z-config-abcdef", Kind: KindConfig, KeyID: k.ID,
		Databases: []Database{{Name: "config", Migration: 70, Tables: []Table{{Name: "users", Rows: 1, Total: 1, Part: "config.users.zst.enc", Bytes: 10, SHA256: "00"}}}}}
	f.Add(m.seal(k))
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":2,"key_id":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseManifest(b, k)
		if err == nil && !k.verify(got.body(), got.Signature) {
			t.Fatal("accepted a manifest whose signature does not verify")
		}
		if got, err := parseManifest(b, nil); err == nil {
			got.Parts()
			got.Size()
			if _, err := chainOf([]*Manifest{got}, got); err == nil && got.Incremental && got.Parent != got.ID {
				t.Fatal("a chain with a missing parent was accepted")
			}
		}
	})
}
