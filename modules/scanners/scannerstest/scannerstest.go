// Package scannerstest gives tests of the scanner fleet what they need: a configuration with
// extra settings, an ASN database written with mmdbwriter, provisioning tokens made through the
// API, and scanners registered through the scanner API — everything through the real server.
package scannerstest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"mipo/app"
	"mipo/app/apptest"
)

// Config is apptest.Config with extra MIPO_* settings.
func Config(t testing.TB, dbs *apptest.DBs, extra map[string]string, roles ...string) *app.Config {
	t.Helper()
	if len(roles) == 0 {
		roles = []string{app.RoleAll}
	}
	flags := map[string]string{
		"MIPO_DATA_DIR": t.TempDir(), "MIPO_ROLE": strings.Join(roles, ","), "MIPO_TLS": "off", "MIPO_LISTEN": "127.0.0.1:0",
		"MIPO_SHUTDOWN_TIMEOUT": "2s",
		"MIPO_CONFIG_DSN":       dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN": dbs.DSN(app.DBResults), "MIPO_JOBS_DSN": dbs.DSN(app.DBJobs),
	}
	for k, v := range extra {
		flags[k] = v
	}
	cfg, err := app.LoadConfig(flags, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// ASNDatabase writes a MaxMind-format ASN database (GeoLite2-ASN's record shape) mapping each
// CIDR to an ASN, and returns its path. Reserved networks such as 127.0.0.0/8 are allowed, so
// tests on loopback can be bound to an ASN.
func ASNDatabase(t testing.TB, networks map[string]uint32) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-ASN", IncludeReservedNetworks: true, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, asn := range networks {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		err = tree.Insert(n, mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(asn),
			"autonomous_system_organization": mmdbtype.String(fmt.Sprintf("Test network AS%d", asn)),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "asn.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// NewToken is the answer to a provisioning token's creation.
type NewToken struct {
	Token struct {
		ID, Status string
	}
	Secret, Command, Server, Pin, SHA256 string
}

// Provision creates a provisioning token through the API with the given body (nil: defaults).
func Provision(t testing.TB, c *apptest.Client, body map[string]any) NewToken {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	r := c.Post("/api/v1/scanners/tokens", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating a provisioning token: %d %s", r.Status, r.Body)
	}
	var out NewToken
	r.JSON(t, &out)
	return out
}

// Registered is the scanner API's answer to a registration.
type Registered struct {
	ScannerID string `json:"scanner_id"`
	Name      string `json:"name"`
	APIKey    string `json:"api_key"`
	// HeartbeatSeconds is the interval ingest asks for.
	HeartbeatSeconds int `json:"heartbeat_seconds"`
}

// Register registers a scanner with a token through the scanner API at base.
func Register(t testing.TB, base, token, hostname string) Registered {
	t.Helper()
	r := apptest.NewClient(t, base).Post("/scanner/v1/register", map[string]any{"token": token, "hostname": hostname, "version": "test",
		"capacity": map[string]int{"max_concurrency": 100, "max_rate": 1000, "fd_limit": 1024}})
	if r.Status != http.StatusOK {
		t.Fatalf("registering: %d %s", r.Status, r.Body)
	}
	var out Registered
	r.JSON(t, &out)
	return out
}

// Scanner returns a client of the scanner API that sends key.
func Scanner(t testing.TB, base, key string) *apptest.Client {
	c := apptest.NewClient(t, base)
	c.Header.Set("Authorization", "Bearer "+key)
	return c
}

// Heartbeat is a heartbeat body with the given network counters.
func Heartbeat(rx, tx uint64) map[string]any {
	return map[string]any{"version": "test", "hostname": "scan-test",
		"capacity": map[string]int{"max_concurrency": 100, "max_rate": 1000, "fd_limit": 1024},
		"metrics": map[string]any{"load1": 0.5, "cpu_percent": 12.5, "mem_used_bytes": 1 << 30, "mem_total_bytes": 4 << 30,
			"net_rx_bytes": rx, "net_tx_bytes": tx},
		"active_jobs": []string{}}
}
