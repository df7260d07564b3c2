package discovery

import (
	"context"
	"path"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/compute/v1"
	"google.golang.org/api/option"
)

// fetchGCP reads a project's subnetworks (primary, secondary and IPv6 ranges) and external
// addresses through the Compute Engine API, signing in with a service account key.
func fetchGCP(ctx context.Context, f *fetch) ([]Proposed, []RowError, error) {
	s := f.src.Settings
	jwt, err := google.JWTConfigFromJSON([]byte(f.secret), compute.ComputeReadonlyScope)
	if err != nil {
		return nil, nil, err
	}
	client := jwt.Client(context.WithValue(ctx, oauth2.HTTPClient, f.client))
	opts := []option.ClientOption{option.WithHTTPClient(client)}
	if s.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(s.Endpoint, "/")+"/compute/v1/"))
	}
	svc, err := compute.NewService(ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	var out []Proposed
	err = svc.Subnetworks.AggregatedList(s.Project).Pages(ctx, func(page *compute.SubnetworkAggregatedList) error {
		for _, scoped := range page.Items {
			for _, sn := range scoped.Subnetworks {
				o := f.origin(s.Project, path.Base(sn.Region), sn.SelfLink, nil)
				name := path.Base(sn.Network) + "/" + sn.Name
				cidrs := []string{sn.IpCidrRange, sn.Ipv6CidrRange, sn.ExternalIpv6Prefix}
				for _, r := range sn.SecondaryIpRanges {
					cidrs = append(cidrs, r.IpCidrRange)
				}
				for _, c := range cidrs {
					if err := add(&out, c, name, o); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = svc.Addresses.AggregatedList(s.Project).Pages(ctx, func(page *compute.AddressAggregatedList) error {
		for _, scoped := range page.Items {
			for _, a := range scoped.Addresses {
				if a.AddressType != "EXTERNAL" {
					continue
				}
				if err := add(&out, a.Address, a.Name, f.origin(s.Project, path.Base(a.Region), a.SelfLink, a.Labels)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, nil, nil
}
