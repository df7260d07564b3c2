package config

import (
	"context"
	"fmt"
	"net/netip"

	"mipo/app"
	"mipo/modules/config/portset"
)

// Prefixes returns the CIDRs of subnets and of subnet groups (nested to any depth) as they are
// now. Exclusions are a template's business, so none is subtracted: what a subnet is does not
// depend on what a scan leaves out. A missing object is an error.
func Prefixes(ctx context.Context, db app.Querier, subnetIDs, groupIDs []string) ([]netip.Prefix, error) {
	s := snapshotNow(db)
	ids, err := s.subnetsIn(ctx, subnetIDs, groupIDs)
	if err != nil {
		return nil, err
	}
	cidrs, err := s.cidrs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		if out[i], err = netip.ParsePrefix(c); err != nil {
			return nil, fmt.Errorf("config: stored CIDR %q: %w", c, err)
		}
	}
	return out, nil
}

// Ports returns the ports of port lists and of the lists in port list groups, as they are now.
func Ports(ctx context.Context, db app.Querier, listIDs, groupIDs []string) (portset.Set, error) {
	texts, err := snapshotNow(db).ports(ctx, listIDs, groupIDs)
	if err != nil {
		return portset.Set{}, err
	}
	return computePorts(texts)
}

// Exists reports whether an object of the kind exists now.
func Exists(ctx context.Context, db app.Querier, kind, id string) (bool, error) {
	if !isUUID(id) {
		return false, nil
	}
	var ok bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM config_objects WHERE id = $1 AND kind = $2)`, id, kind).Scan(&ok)
	return ok, err
}
