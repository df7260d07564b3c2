package discovery

import (
	"net/netip"
	"testing"
)

// FuzzParseExport: any export yields proposals that are valid, masked networks, and row errors
// that name a line; it never panics.
func FuzzParseExport(f *testing.F) {
	f.Add(true, []byte("cidr,name\n10.0.0.0/24,a\nbad,b\n"))
	f.Add(true, []byte("\"cidr\nx"))
	f.Add(false, []byte(`[{"cidr":"10.0.0.0/8","tags":["a=b"]},{"cidr":null},3]`))
	f.Add(false, []byte(`{"items":[{"cidr":"2001:db8::/32"}]}`))
	f.Fuzz(func(t *testing.T, csv bool, data []byte) {
		format := "json"
		if csv {
			format = "csv"
		}
		got, bad, err := parseExport(format, data, Mapping{}, origin)
		if err != nil {
			return
		}
		for _, p := range got {
			q, perr := netip.ParsePrefix(p.CIDR)
			if perr != nil || q != q.Masked() {
				t.Fatalf("proposal %q is not a network", p.CIDR)
			}
		}
		for _, b := range bad {
			if b.Line < 1 {
				t.Fatalf("row error without a line: %+v", b)
			}
		}
	})
}
