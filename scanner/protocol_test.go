package main

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

const goodJob = `{"job": {
  "id": "7d3c1f5e-2a7b-4c1e-9f1a-0b2c3d4e5f60", "scan_id": "8d3c1f5e-2a7b-4c1e-9f1a-0b2c3d4e5f60",
  "targets": [{"first": "10.0.0.0", "last": "10.0.0.255"}, {"first": "::1", "last": "::1"}],
  "ports": [[22, 22], [80, 80], [8000, 8100]],
  "rate_limit": 5000, "concurrency": 1000, "timeout_ms": 1000, "retries": 1,
  "max_duration_seconds": 3600, "lease_expires_at": "2026-11-23T11:20:00Z", "future_field": 1}}`

func TestDecodeLeaseGood(t *testing.T) {
	id, j, err := decodeLease([]byte(goodJob))
	if err != nil {
		t.Fatal(err)
	}
	if id != j.ID || j.HostsTotal != 257 || j.PortsTotal != 257*103 || j.Timeout.Milliseconds() != 1000 ||
		j.Retries != 1 || j.MaxDuration.Seconds() != 3600 || len(j.Ports) != 3 || j.Ports[2] != (PortRange{8000, 8100}) {
		t.Fatalf("decoded %+v", j)
	}
}

func TestDecodeLeaseRefusesWithClearErrors(t *testing.T) {
	edit := func(field, value string) string {
		var m map[string]map[string]any
		json.Unmarshal([]byte(goodJob), &m)
		var v any
		json.Unmarshal([]byte(value), &v)
		m["job"][field] = v
		b, _ := json.Marshal(m)
		return string(b)
	}
	cases := []struct{ data, want string }{
		{edit("targets", `[{"first": "10.0.0.9", "last": "10.0.0.1"}]`), "targets[0]: first 10.0.0.9 is after last 10.0.0.1"},
		{edit("targets", `[{"first": "10.0.0.1", "last": "::1"}]`), "different address families"},
		{edit("targets", `[{"first": "10.0.0.1", "last": "10.0.0.300"}]`), "targets[0].last"},
		{edit("targets", `[]`), "no address intervals"},
		{edit("ports", `[[0, 22]]`), "outside 1..65535"},
		{edit("ports", `[[22, 65536]]`), "outside 1..65535"},
		{edit("ports", `[[80, 80], [22, 22]]`), "must be sorted"},
		{edit("ports", `[[20, 30], [25, 40]]`), "overlaps"},
		{edit("ports", `[[22]]`), "want [first, last]"},
		{edit("ports", `[[1, 2, 3]]`), "want [first, last]"},
		{edit("timeout_ms", `0`), "timeout_ms"},
		{edit("retries", `-1`), "retries"},
		{edit("rate_limit", `-5`), "rate_limit"},
		{edit("max_duration_seconds", `-1`), "max_duration_seconds"},
		{edit("id", `"../../etc"`), "not a UUID"},
		{`{"job": null}`, "no job"},
		{`[]`, "not JSON"},
	}
	for _, c := range cases {
		_, _, err := decodeLease([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one saying %q", err, c.want)
		}
	}
	// An invalid job still yields its id, so it can be failed.
	if id, _, err := decodeLease([]byte(edit("ports", `[[0, 1]]`))); err == nil || id != "7d3c1f5e-2a7b-4c1e-9f1a-0b2c3d4e5f60" {
		t.Fatalf("id %q err %v", id, err)
	}
	if id, _, err := decodeLease([]byte(edit("ports", `"all"`))); err == nil || id == "" {
		t.Fatalf("a job that is not even the right shape should still yield its id: %q %v", id, err)
	}
}

// FuzzDecodeLease: whatever arrives, decoding never panics, and a job it
// accepts satisfies every rule of the protocol.
func FuzzDecodeLease(f *testing.F) {
	f.Add([]byte(goodJob))
	f.Add([]byte(`{"job":{"id":"7d3c1f5e-2a7b-4c1e-9f1a-0b2c3d4e5f60","targets":[{"first":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0","last":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}],"ports":[[1,65535]],"timeout_ms":5}}`))
	f.Add([]byte(`{"job":{"id":"7d3c1f5e-2a7b-4c1e-9f1a-0b2c3d4e5f60","targets":[{"first":"255.255.255.255","last":"255.255.255.255"}],"ports":[[65535,65535]],"timeout_ms":1}}`))
	f.Add([]byte(`{"job":{"targets":[{"first":"1.2.3.4","last":"1.2.3.3"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, j, err := decodeLease(data)
		if err != nil {
			if j != nil {
				t.Fatal("job returned with an error")
			}
			return
		}
		if id != j.ID || !uuidRE.MatchString(id) {
			t.Fatalf("bad id %q", id)
		}
		for i, r := range j.Ports {
			if r.First < 1 || r.Last < r.First || i > 0 && j.Ports[i-1].Last >= r.First {
				t.Fatalf("accepted bad ports %v", j.Ports)
			}
		}
		var hosts uint64
		for _, iv := range j.Targets {
			if iv.First.Is4() != iv.Last.Is4() || iv.Last.Less(iv.First) || iv.First.Zone() != "" {
				t.Fatalf("accepted bad interval %v", iv)
			}
			hosts += iv.Size()
		}
		if hosts != j.HostsTotal || j.PortsTotal > 1<<63-1 || j.Timeout <= 0 || j.Retries < 0 {
			t.Fatalf("accepted bad job %+v", j)
		}
		var first netip.Addr
		j.Targets[0].Each(func(a netip.Addr) bool { first = a; return false })
		if first != j.Targets[0].First {
			t.Fatal("walk does not start at first")
		}
	})
}
