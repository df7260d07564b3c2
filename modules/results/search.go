package results

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"mipo/app"
	"mipo/modules/config/catalog"
)

// Search kinds: what the top bar's search box understood.
const (
	SearchAddress = "address" // one address: its host page
	SearchSubnet  = "subnet"  // a CIDR: what is open now inside it
	SearchPort    = "port"    // a port number: where it is open now
	SearchService = "service" // a service name: its port, where it is open now
)

// Search is a parsed search: what was typed, what it means, and the UI page that answers it.
type Search struct {
	Query   string `json:"query"`
	Kind    string `json:"kind" doc:"address, subnet, port or service."`
	Address string `json:"address,omitempty"`
	Subnet  string `json:"subnet,omitempty"`
	Port    int    `json:"port,omitempty"`
	Service string `json:"service,omitempty"`
	Path    string `json:"path" doc:"The UI page that answers it: a host page, or open now filtered."`
}

// serviceAliases are names people type that the port catalog spells otherwise.
var serviceAliases = map[string]uint16{
	"dns": 53, "postgres": 5432, "pg": 5432, "rdp": 3389, "mssql": 1433, "mongo": 27017, "redis": 6379,
	"www": 80, "web": 80, "tls": 443, "smb": 445, "ldaps": 636, "vnc": 5900, "elasticsearch": 9200,
}

// serviceNames maps each catalog name to its lowest port, with the aliases added.
var serviceNames = sync.OnceValue(func() map[string]uint16 {
	m := map[string]uint16{}
	for _, e := range catalog.All() { // sorted by port: the first port of a name wins
		name := strings.ToLower(e.Name)
		if _, ok := m[name]; !ok && name != "" {
			m[name] = e.Port
		}
	}
	for k, v := range serviceAliases {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
})

// ParseSearch reads what was typed in the search box: an address (a bare address means that
// one host), a CIDR, a port number (1-65535) or a service name such as ssh or postgresql.
func ParseSearch(q string) (Search, error) {
	text := strings.TrimSpace(q)
	s := Search{Query: text}
	if text == "" {
		return s, app.Invalid("q", "required", "type an address, a CIDR, a port or a service name")
	}
	if len(text) > 100 {
		return s, app.Invalid("q", "too_long", "a search is at most 100 characters")
	}
	if a, err := netip.ParseAddr(text); err == nil && a.Zone() == "" {
		a = a.Unmap()
		s.Kind, s.Address = SearchAddress, a.String()
		s.Path = "/hosts/" + url.PathEscape(s.Address)
		return s, nil
	}
	if strings.Contains(text, "/") {
		p, err := ParseSubnet("q", text)
		if err != nil {
			return s, err
		}
		if p.Bits() == p.Addr().BitLen() {
			s.Kind, s.Address = SearchAddress, p.Addr().String()
			s.Path = "/hosts/" + url.PathEscape(s.Address)
			return s, nil
		}
		s.Kind, s.Subnet = SearchSubnet, p.String()
		s.Path = "/open?subnet=" + url.QueryEscape(s.Subnet)
		return s, nil
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(text, ":")); err == nil {
		if n < 1 || n > 65535 {
			return s, app.Invalid("q", "invalid_port", "a port is a number from 1 to 65535")
		}
		s.Kind, s.Port, s.Service = SearchPort, n, ServiceName(uint16(n))
		s.Path = "/open?ports=" + strconv.Itoa(n)
		return s, nil
	}
	if port, ok := serviceNames()[strings.ToLower(text)]; ok {
		s.Kind, s.Port, s.Service = SearchService, int(port), strings.ToLower(text)
		s.Path = "/open?ports=" + strconv.Itoa(int(port))
		return s, nil
	}
	return s, app.Invalid("q", "unknown_search", "not an address, a CIDR, a port or a known service name (such as ssh, https or postgresql)")
}
