package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"go4.org/netipx"
)

// netboxObject is the part of a NetBox prefix or IP range that discovery reads.
type netboxObject struct {
	ID           int    `json:"id"`
	Prefix       string `json:"prefix"`
	StartAddress string `json:"start_address"`
	EndAddress   string `json:"end_address"`
	Description  string `json:"description"`
	Site         *struct{ Slug, Name string }
	Scope        *struct{ Slug, Name string }
	Tenant       *struct{ Slug, Name string }
	Tags         []struct{ Slug, Name string }
}

type netboxPage struct {
	Next    string         `json:"next"`
	Results []netboxObject `json:"results"`
}

// fetchNetBox reads prefixes and IP ranges through NetBox's REST API, filtered by tag, site
// and tenant; an IP range becomes the fewest CIDRs that cover it exactly.
func fetchNetBox(ctx context.Context, f *fetch) ([]Proposed, []RowError, error) {
	s := f.src.Settings
	q := url.Values{"limit": {"500"}}
	for k, v := range map[string]string{"tag": s.Tag, "site": s.Site, "tenant": s.Tenant} {
		if v != "" {
			q.Set(k, v)
		}
	}
	base := strings.TrimRight(s.URL, "/")
	var out []Proposed
	for _, kind := range []string{"prefixes", "ip-ranges"} {
		next := base + "/api/ipam/" + kind + "/?" + q.Encode()
		for next != "" {
			page, err := netboxGet(ctx, f, next)
			if err != nil {
				return nil, nil, err
			}
			for _, o := range page.Results {
				if err := netboxAdd(f, kind, o, &out); err != nil {
					return nil, nil, err
				}
			}
			next = page.Next
		}
	}
	return out, nil, nil
}

func netboxGet(ctx context.Context, f *fetch, u string) (*netboxPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if f.secret != "" {
		req.Header.Set("Authorization", "Token "+f.secret)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("netbox answered %s for %s", resp.Status, req.URL.Path)
	}
	var page netboxPage
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 64<<20)).Decode(&page); err != nil {
		return nil, fmt.Errorf("netbox answer is not a page of results: %w", err)
	}
	return &page, nil
}

func netboxAdd(f *fetch, kind string, o netboxObject, out *[]Proposed) error {
	var tags map[string]string
	for _, t := range o.Tags {
		if tags == nil {
			tags = map[string]string{}
		}
		tags[t.Slug] = t.Name
	}
	var site, tenant string
	if o.Site != nil {
		site = o.Site.Slug
	} else if o.Scope != nil {
		site = o.Scope.Slug
	}
	if o.Tenant != nil {
		tenant = o.Tenant.Slug
	}
	origin := f.origin(tenant, site, kind+"/"+strconv.Itoa(o.ID), tags)
	if kind == "prefixes" {
		return add(out, o.Prefix, o.Description, origin)
	}
	first, err1 := rangeEnd(o.StartAddress)
	last, err2 := rangeEnd(o.EndAddress)
	r := netipx.IPRangeFrom(first, last)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("netbox ip range %d has addresses that are not addresses", o.ID)
	}
	if !r.IsValid() {
		return fmt.Errorf("netbox ip range %d runs backwards", o.ID)
	}
	for _, p := range r.Prefixes() {
		if err := add(out, p.String(), o.Description, origin); err != nil {
			return err
		}
	}
	return nil
}

// rangeEnd reads a NetBox range end, which NetBox writes with its mask (10.0.0.10/24).
func rangeEnd(s string) (netip.Addr, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr().Unmap(), nil
	}
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err
}
