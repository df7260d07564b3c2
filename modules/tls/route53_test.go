package tls

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// route53Server speaks the parts of the Route 53 API that lego's provider calls, in its XML
// wire format, and hands each TXT change to onChange.
type route53Server struct {
	*httptest.Server
	mu      sync.Mutex
	changes []string            // "UPSERT TXT _acme-challenge.x. \"value\""
	records map[string][]string // name -> TXT values, quoted
}

func newRoute53Server(t *testing.T, zoneID string, onChange func(action, name, value string)) *route53Server {
	t.Helper()
	rs := &route53Server{records: map[string][]string{}}
	const ns = `xmlns="https://route53.amazonaws.com/doc/2013-04-01/"`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2013-04-01/hostedzone/"+zoneID+"/rrset", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		var b strings.Builder
		rs.mu.Lock()
		if vs := rs.records[name]; len(vs) > 0 {
			b.WriteString(`<ResourceRecordSet><Name>` + name + `</Name><Type>TXT</Type><TTL>10</TTL><ResourceRecords>`)
			for _, v := range vs {
				b.WriteString(`<ResourceRecord><Value>` + v + `</Value></ResourceRecord>`)
			}
			b.WriteString(`</ResourceRecords></ResourceRecordSet>`)
		}
		rs.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<?xml version="1.0"?><ListResourceRecordSetsResponse ` + ns + `><ResourceRecordSets>` + b.String() + `</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListResourceRecordSetsResponse>`))
	})
	mux.HandleFunc("POST /2013-04-01/hostedzone/"+zoneID+"/rrset", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Changes []struct {
				Action string   `xml:"Action"`
				Name   string   `xml:"ResourceRecordSet>Name"`
				Type   string   `xml:"ResourceRecordSet>Type"`
				Values []string `xml:"ResourceRecordSet>ResourceRecords>ResourceRecord>Value"`
			} `xml:"ChangeBatch>Changes>Change"`
		}
		if err := xml.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Changes) == 0 {
			http.Error(w, "bad request body", http.StatusBadRequest)
			return
		}
		for _, c := range req.Changes {
			for _, v := range c.Values {
				rs.mu.Lock()
				rs.changes = append(rs.changes, c.Action+" "+c.Type+" "+c.Name+" "+v)
				if c.Action == "DELETE" {
					delete(rs.records, c.Name)
				} else {
					rs.records[c.Name] = c.Values
				}
				rs.mu.Unlock()
				if onChange != nil {
					onChange(c.Action, c.Name, strings.Trim(v, `"`))
				}
			}
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<?xml version="1.0"?><ChangeResourceRecordSetsResponse ` + ns + `><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`))
	})
	mux.HandleFunc("GET /2013-04-01/change/C1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<?xml version="1.0"?><GetChangeResponse ` + ns + `><ChangeInfo><Id>C1</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></GetChangeResponse>`))
	})
	rs.Server = httptest.NewServer(mux)
	t.Cleanup(rs.Close)
	return rs
}

func (rs *route53Server) log() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string{}, rs.changes...)
}
