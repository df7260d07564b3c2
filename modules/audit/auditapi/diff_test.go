package auditapi

import "testing"

type sample struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	Key    string   `json:"signing_key" audit:"secret"`
	Hidden string   `json:"-"`
}

func TestDiffShowsChangedFieldsAndMasksSecrets(t *testing.T) {
	d := Diff(sample{Name: "a", Scopes: []string{"x"}, Key: "k1", Hidden: "h"}, sample{Name: "b", Scopes: []string{"x"}, Key: "k2", Hidden: "i"})
	if len(d) != 2 || d[0].Field != "name" || d[0].Old != "a" || d[0].New != "b" || d[1].Field != "signing_key" || d[1].Old != Redacted || d[1].New != Redacted {
		t.Fatalf("diff %+v", d)
	}
	created := Diff(nil, &sample{Name: "n", Key: "secret-value"})
	for _, c := range created {
		if c.New == "secret-value" {
			t.Fatal("a secret leaked into a creation diff")
		}
	}
	if len(Diff(sample{Name: "same"}, sample{Name: "same"})) != 0 {
		t.Fatal("no change must give an empty diff")
	}
	if d := Diff(map[string]any{"password": "a"}, map[string]any{"password": "b"}); d[0].New != Redacted {
		t.Fatal("fields named password are masked whatever their type")
	}
}
