package scannersapi

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"

	"mipo/app"
)

var settingASNDatabase = app.StringSetting("MIPO_ASN_DATABASE", "",
	"Path of a MaxMind-format ASN database (such as GeoLite2-ASN.mmdb) for scanner bindings to an autonomous system (AS64500). Empty: ASN bindings are refused. The file is re-read when it changes.")

// ASNDatabase answers which autonomous system an address belongs to, from a MaxMind-format
// database (GeoLite2-ASN or compatible: records with autonomous_system_number). The file is
// re-opened when its modification time or size changes, checked at most every 30 seconds, so
// the operator's monthly update needs no restart.
type ASNDatabase struct {
	path string

	mu        sync.Mutex
	reader    *maxminddb.Reader
	stamp     string // mtime and size of the open file
	checkedAt time.Time
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// OpenASNDatabase opens the database at path. An empty path returns nil, nil: no ASN database.
func OpenASNDatabase(path string) (*ASNDatabase, error) {
	if path == "" {
		return nil, nil
	}
	d := &ASNDatabase{path: path}
	if err := d.reload(); err != nil {
		return nil, err
	}
	return d, nil
}

// ASNDatabaseFromConfig opens the database MIPO_ASN_DATABASE names (nil when it is empty).
func ASNDatabaseFromConfig(cfg *app.Config) (*ASNDatabase, error) {
	d, err := OpenASNDatabase(settingASNDatabase.Get(cfg))
	if err != nil {
		return nil, &app.ConfigError{Variable: settingASNDatabase.Name(), Reason: err.Error()}
	}
	return d, nil
}

func fileStamp(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%d", st.ModTime().UnixNano(), st.Size()), nil
}

// reload opens the file if it changed since it was last opened.
func (d *ASNDatabase) reload() error {
	stamp, err := fileStamp(d.path)
	if err != nil {
		return fmt.Errorf("ASN database %s: %w", d.path, err)
	}
	if stamp == d.stamp && d.reader != nil {
		return nil
	}
	r, err := maxminddb.Open(d.path)
	if err != nil {
		return fmt.Errorf("ASN database %s: %w", d.path, err)
	}
	if d.reader != nil {
		// Lookups in flight hold d.mu, so nothing reads the old reader now.
		d.reader.Close()
	}
	d.reader, d.stamp = r, stamp
	return nil
}

func (d *ASNDatabase) current() (*maxminddb.Reader, error) {
	if time.Since(d.checkedAt) > 30*time.Second {
		d.checkedAt = time.Now()
		if err := d.reload(); err != nil && d.reader == nil {
			return nil, err
		}
	}
	return d.reader, nil
}

// Lookup returns the ASN of an address, 0 when the database does not know it.
func (d *ASNDatabase) Lookup(a netip.Addr) (uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.current()
	if err != nil {
		return 0, err
	}
	var rec asnRecord
	if err := r.Lookup(a.Unmap()).Decode(&rec); err != nil {
		return 0, fmt.Errorf("ASN database %s: %w", d.path, err)
	}
	return rec.Number, nil
}

// Prefixes lists the networks the database gives to an ASN (for firewall exports). limit bounds
// the answer; truncated is true when there were more.
func (d *ASNDatabase) Prefixes(asn uint32, limit int) (out []netip.Prefix, truncated bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.current()
	if err != nil {
		return nil, false, err
	}
	for res := range r.Networks() {
		var rec asnRecord
		if err := res.Decode(&rec); err != nil {
			return nil, false, fmt.Errorf("ASN database %s: %w", d.path, err)
		}
		if rec.Number != asn {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		p := res.Prefix()
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	return out, false, nil
}
