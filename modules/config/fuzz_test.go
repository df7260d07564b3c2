package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/config/portset"
)

// The parsers of request bodies, fuzzed: a body is decoded exactly as a request's is
// (app.BindJSON, strict) over the spec a create starts from, then checked as every create and
// change is. Whatever the input, the answer is either a spec that is normalised (checking it
// again changes nothing) and within bounds, or a 400 that names what is wrong.

func parseBody[S any, P spec[S]](body []byte, fresh S) (S, error) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	s := fresh
	if err := app.BindJSON(c, &s); err != nil {
		return s, err
	}
	return s, checkSpec[S, P](&s)
}

// checkOutcome holds whatever parsed to its promises and whatever failed to a named error.
func checkOutcome[S any, P spec[S]](t *testing.T, body []byte, fresh S, valid func(S) error) {
	s, err := parseBody[S, P](body, fresh)
	if err != nil {
		var e *app.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Message == "" || e.Code == "" {
			t.Fatalf("%q: the error is not a 400 in the one shape: %#v", body, err)
		}
		if wholeBody := e.Code == "invalid_json" || e.Code == "invalid_type"; e.Field == "" && !wholeBody {
			t.Fatalf("%q: %s names no field", body, e.Message)
		}
		return
	}
	if err := valid(s); err != nil {
		t.Fatalf("%q was accepted as %+v: %v", body, s, err)
	}
	once, _ := json.Marshal(s)
	again, err := parseBody[S, P](once, fresh)
	if err != nil {
		t.Fatalf("%q was accepted as %s, which is then refused: %v", body, once, err)
	}
	if twice, _ := json.Marshal(again); !bytes.Equal(once, twice) {
		t.Fatalf("%q: normalising is not stable: %s, then %s", body, once, twice)
	}
}

func FuzzSubnetBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"core","cidr":"10.0.0.0/24"}`, `{"name":"core","cidr":"10.0.0.1/24"}`, `{"name":"v6","cidr":"2001:DB8::/32","tags":["b","a","a"]}`,
		`{"name":"m","cidr":"::ffff:10.0.0.0/104"}`, `{"name":"z","cidr":"fe80::1%eth0/64"}`, `{"name":"","cidr":""}`, `{"cidr":"0.0.0.0/0"}`,
		`{"name":"x","cidr":"10.0.0.0/8","extra":1}`, `[]`, `{"name":"\u0000","cidr":"10.0.0.0/8"}`, `{"name":"t","cidr":"10.0.0.0/08"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkOutcome[SubnetSpec](t, body, SubnetSpec{}, func(s SubnetSpec) error {
			p, err := netip.ParsePrefix(s.CIDR)
			if err != nil || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				return errors.New("the stored CIDR is not canonical")
			}
			return nil
		})
	})
}

func FuzzPortListBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"web","ports":"80,443,8000-8100"}`, `{"name":"w","ports":" 443, 22,80-81,81"}`, `{"name":"w","ports":"0"}`,
		`{"name":"w","ports":"65535-1"}`, `{"name":"w","ports":"1-"}`, `{"name":"w","ports":",,"}`, `{"name":"w","ports":"22;80"}`,
		`{"name":"w","ports":"1-65535"}`, `{"name":"w","ports":"99999999999999999999"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkOutcome[PortListSpec](t, body, PortListSpec{}, func(s PortListSpec) error {
			set, err := portset.Parse(s.Ports)
			if err != nil || set.String() != s.Ports || set.IsEmpty() {
				return errors.New("the stored ports are not normalised")
			}
			return nil
		})
	})
}

func FuzzTemplateBody(f *testing.F) {
	id := "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
	for _, seed := range []string{
		`{"name":"t","subnets":["` + id + `"],"port_lists":["` + id + `"]}`,
		`{"name":"t","subnet_groups":["` + id + `","` + id + `"],"port_list_groups":["` + id + `"],"timing":{"rate_limit":0,"retries":10}}`,
		`{"name":"t","subnets":["` + id + `"],"port_lists":["` + id + `"],"scanners":{"mode":"vantage","scanner_group_ids":["` + id + `"]}}`,
		`{"name":"t","subnets":["` + id + `"],"port_lists":["` + id + `"],"scanners":{"mode":"pool","scanner_group_ids":["` + id + `"]}}`,
		`{"name":"t","subnets":["x"],"port_lists":["` + id + `"]}`,
		`{"name":"t","subnets":["` + id + `"],"port_lists":["` + id + `"],"timing":{"timeout_ms":49}}`,
		`{"name":"t","subnets":["` + id + `"],"port_lists":["` + id + `"],"timing":{"max_duration_seconds":-1}}`,
		`{"name":"t","subnets":["` + id + `"],"port_lists":["` + id + `"],"timing":{"rate_limit":1e3}}`,
		`{"name":"t","subnets":["` + strUpper(id) + `"],"port_lists":["` + id + `"],"scanners":null,"timing":null}`,
		`{"name":"t"}`, `{}`, `null`, `{"name":"t","timing":{"bogus":1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkOutcome[TemplateSpec](t, body, newTemplateSpec(), func(s TemplateSpec) error {
			tm := s.Timing
			switch {
			case tm.RateLimit < 0 || tm.RateLimit > maxRateLimit || tm.TimeoutMS < minTimeoutMS || tm.TimeoutMS > maxTimeoutMS ||
				tm.Retries < 0 || tm.Retries > maxRetries || tm.MaxDurationSeconds < 0 || tm.MaxDurationSeconds > maxDurationSec:
				return errors.New("timing out of bounds")
			case len(s.Subnets)+len(s.SubnetGroups) == 0 || len(s.PortLists)+len(s.PortListGroups) == 0:
				return errors.New("nothing to scan")
			case s.Scanners.Mode == ModePool && len(s.Scanners.ScannerGroupIDs) > 0,
				s.Scanners.Mode == ModeVantage && (len(s.Scanners.ScannerIDs) > 0 || len(s.Scanners.ScannerGroupIDs) == 0),
				s.Scanners.Mode != ModePool && s.Scanners.Mode != ModeVantage:
				return errors.New("scanners do not fit the mode")
			}
			for _, r := range s.references() {
				if canonical, err := checkIDs(r.field, r.ids); err != nil || !slices.Equal(canonical, r.ids) {
					return errors.New("ids not canonical and unique")
				}
			}
			return nil
		})
	})
}

func strUpper(s string) string { return string(bytes.ToUpper([]byte(s))) }
