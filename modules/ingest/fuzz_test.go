package ingest

import (
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
)

// apiError checks that a refusal is a 4xx in the one error shape: never a 5xx, which the
// scanner would retry forever.
func apiError(t *testing.T, body []byte, err error) {
	t.Helper()
	e, ok := err.(*app.Error)
	if !ok || e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == "" {
		t.Fatalf("%q: %#v", body, err)
	}
}

func FuzzHeartbeatBody(f *testing.F) {
	f.Add([]byte(`{"version":"1.0.0","hostname":"h","capacity":{"max_concurrency":2000,"max_rate":20000,"fd_limit":4096},
		"metrics":{"load1":0.42,"cpu_percent":12.5,"mem_used_bytes":1,"mem_total_bytes":2,"net_rx_bytes":3,"net_tx_bytes":4},"active_jobs":[]}`))
	f.Add([]byte(`{"capacity":{"max_rate":-1}}`))
	f.Add([]byte(`{"metrics":{"cpu_percent":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var h HeartbeatRequest
		err := decodeBytes(bytes.NewReader(body), maxSmallBody, &h)
		if err == nil {
			err = h.validate()
		}
		if err != nil {
			apiError(t, body, err)
			return
		}
		if h.Capacity.MaxRate < 0 || h.Metrics.CPUPercent < 0 || len(h.Version) > 64 {
			t.Fatalf("%q accepted: %+v", body, h)
		}
	})
}

func FuzzResultsBody(f *testing.F) {
	f.Add([]byte(`{"batch":1,"results":[{"address":"127.0.0.1","port":22,"observed_at":"2026-11-23T11:20:00.123456Z","rtt_us":84}]}`))
	f.Add([]byte(`{"batch":1,"results":[{"address":"::1","port":8080,"observed_at":"2026-11-23T11:20:00Z","rtt_us":-1}]}`))
	f.Add([]byte(`{"batch":1,"results":[{"address":"::ffff:127.0.0.1","port":0,"observed_at":"yesterday"}]}`))
	f.Add([]byte(`{"batch":"1"}`))
	targets, _ := netset.Parse("127.0.0.0/8,::1")
	leased, now := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	job := &jobs.Job{ID: "j", Targets: targets, Ports: portset.MustParse("1-1024,8080"), LeasedAt: &leased}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r ResultsRequest
		if err := decodeBytes(bytes.NewReader(body), maxResultsBody, &r); err != nil {
			apiError(t, body, err)
			return
		}
		obs, err := observations(r.Results, job, leasedSince(job), now, 0)
		if err != nil {
			apiError(t, body, err)
			if e := err.(*app.Error); e.Status != http.StatusUnprocessableEntity || e.Field == "" {
				t.Fatalf("a bad result is a 422 naming its field: %#v", e)
			}
			return
		}
		for _, o := range obs {
			if !targets.Contains(o.Address) || o.Address.Is4In6() || !job.Ports.Contains(o.Port) || o.RTTMicros < 0 ||
				o.ObservedAt.Before(leased.Add(-clockSkew)) || o.ObservedAt.After(now.Add(clockSkew)) {
				t.Fatalf("%q accepted %+v", body, o)
			}
		}
	})
}

func FuzzCompleteBody(f *testing.F) {
	f.Add([]byte(`{"status":"done","error":"","hosts_done":256,"ports_probed":768000,"batches":3}`))
	f.Add([]byte(`{"status":"finished","batches":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var c CompleteRequest
		err := decodeBytes(bytes.NewReader(body), maxSmallBody, &c)
		if err == nil {
			err = c.validate()
		}
		if err != nil {
			apiError(t, body, err)
			return
		}
		if c.Status != "done" && c.Status != "failed" && c.Status != "cancelled" || c.Batches < 0 || len(c.Error) > 2000 {
			t.Fatalf("%q accepted: %+v", body, c)
		}
	})
}

// FuzzDecodersAgree holds decodeBytes's two decoders to one verdict: any body the fast path
// (goccy/go-json) takes, it accepts exactly when encoding/json (whose errors the API answers)
// does, decodes to the same value, and within 5 s. Each wire type of the protocol is tried.
func FuzzDecodersAgree(f *testing.F) {
	f.Add([]byte(`{"batch":1,"results":[{"address":"127.0.0.1","port":22,"observed_at":"2026-11-23T11:20:00.123456Z","rtt_us":84}]}`))
	f.Add([]byte(`{"batch":1,"results":[{"address":"::1","port":8080,"observed_at":"2026-11-23T11:20:00+02:00"}],"attempt":2}`))
	f.Add([]byte(`{"batch":1}{}`))
	f.Add([]byte(`{"batch":1e3}`))
	f.Add([]byte(`{"Batch":1,"RESULTS":null}`))
	f.Add([]byte("{\"batch\":1,\"x\":\"\xff\"}"))
	f.Add([]byte(`{"status":"done","batches":3,"hosts_done":1.0}`))
	f.Add([]byte(`{"version":"1.0.0","capacity":{"max_rate":20000},"metrics":{"cpu_percent":1e-3},"active_jobs":["a"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mk := range []func() any{func() any { return new(ResultsRequest) }, func() any { return new(CompleteRequest) },
			func() any { return new(HeartbeatRequest) }, func() any { return new(RegisterRequest) }} {
			fast, std := mk(), mk()
			done := make(chan error, 1)
			go func() { done <- decodeFast(body, fast) }()
			var fastErr error
			select {
			case fastErr = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("%q into %T: goccy/go-json still decoding after 5 s", body, fast)
			}
			if fastErr == errNotFast {
				continue // left to encoding/json
			}
			stdErr := decodeStd(body, std)
			if (fastErr == nil) != (stdErr == nil) {
				t.Fatalf("%q into %T: decodeFast says %v, encoding/json %v", body, fast, fastErr, stdErr)
			}
			if fastErr == nil && !reflect.DeepEqual(fast, std) {
				t.Fatalf("%q into %T: decodeFast decodes %+v, encoding/json %+v", body, fast, fast, std)
			}
		}
	})
}

// TestDecodeAnswers checks what decodeBytes answers for bodies each decoder sees differently:
// what goccy/go-json would take (an unknown field holding invalid JSON, text after the body)
// is refused as encoding/json refuses it, and a wrong type is named by its JSON path.
func TestDecodeAnswers(t *testing.T) {
	for _, c := range []struct{ body, code, field, message string }{
		{`{"batch":1,"x":[""""]}`, "invalid_json", "", "not valid JSON"},
		{`{"batch":1} }`, "invalid_json", "", "more than one JSON value, or text after it"},
		{`{"batch":1}{}`, "invalid_json", "", "more than one JSON value"},
		{`{"batch":1,"results":[{"port":"22"}]}`, "invalid_type", "results.port", "results.port must be int, not string"},
		{` `, "invalid_json", "", "empty"},
	} {
		var r ResultsRequest
		err := decodeBytes(bytes.NewReader([]byte(c.body)), maxResultsBody, &r)
		e, ok := err.(*app.Error)
		if !ok || e.Code != c.code || e.Field != c.field || !strings.Contains(e.Message, c.message) {
			t.Errorf("%q: %#v, want %s on %q saying %q", c.body, err, c.code, c.field, c.message)
		}
	}
	var r ResultsRequest
	if err := decodeBytes(bytes.NewReader([]byte("{\"batch\":2,\"note\":\"caf\xe9\"} \n")), maxResultsBody, &r); err != nil || r.Batch != 2 {
		t.Fatalf("a body with bytes that are not UTF-8 in an unknown field (decoded by encoding/json): %v %+v", err, r)
	}
}
