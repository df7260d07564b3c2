package discovery

import (
	"slices"
	"testing"
)

func origin(account, region, ref string, tags map[string]string) Origin {
	return Origin{Source: "cmdb", Kind: "cmdb", Account: account, Region: region, Ref: ref, Tags: tags}
}

func TestCSVExportReportsBadRowsByLineAndColumn(t *testing.T) {
	csv := "Network,Label,Owner\n10.0.0.0/24,office,it\nnot-a-net,broken,it\n10.0.1.5/24,hostbits,it\n,empty,it\n\"10.0.2.0/24,quote\n"
	got, bad, err := parseExport("csv", []byte(csv), Mapping{CIDR: "Network", Name: "Label", Account: "Owner"}, origin)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].CIDR != "10.0.0.0/24" || got[0].Name != "office" || got[0].Origin.Account != "it" {
		t.Fatalf("good rows: %+v", got)
	}
	var where [][2]any
	for _, b := range bad {
		where = append(where, [2]any{b.Line, b.Column})
	}
	want := [][2]any{{3, "Network"}, {4, "Network"}, {5, "Network"}, {6, "(row)"}}
	if !slices.Equal(where, want) {
		t.Fatalf("bad rows at %v, want %v (%+v)", where, want, bad)
	}
}

func TestJSONExportReportsBadRowsByLineAndKey(t *testing.T) {
	doc := "[\n  {\"subnet\": \"10.5.0.0/16\", \"tags\": [\"env=prod\", \"pci\"]},\n  {\"subnet\": \"10.5.300.0/24\"},\n  7\n]\n"
	got, bad, err := parseExport("json", []byte(doc), Mapping{CIDR: "subnet"}, origin)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Origin.Tags["env"] != "prod" {
		t.Fatalf("good rows: %+v", got)
	}
	if len(bad) != 2 || bad[0].Line != 3 || bad[0].Column != "subnet" || bad[1].Line != 4 {
		t.Fatalf("bad rows: %+v", bad)
	}
}
