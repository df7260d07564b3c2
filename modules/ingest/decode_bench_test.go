package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"mipo/app"
)

// BenchmarkDecodeResults decodes one full batch (5,000 results) as the results route does
// (decodeBytes: UTF-8 and JSON checked, then goccy/go-json) and, in the same loop, as
// encoding/json alone decodes it (the reference), and reports each per result and their ratio.
//
//	go test -run '^$' -bench DecodeResults ./modules/ingest/
func BenchmarkDecodeResults(b *testing.B) {
	rs := make([]map[string]any, maxBatchResults)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range rs {
		rs[i] = map[string]any{"address": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "port": 1 + i%65535, "observed_at": at, "rtt_us": 84}
	}
	body, _ := json.Marshal(map[string]any{"batch": 3, "results": rs})
	var fast, std time.Duration
	for b.Loop() {
		var a, c ResultsRequest
		t := time.Now()
		if err := decodeBytes(bytes.NewReader(body), maxResultsBody, &a); err != nil || len(a.Results) != maxBatchResults {
			b.Fatal(err)
		}
		fast += time.Since(t)
		t = time.Now()
		if err := decodeStd(body, &c); err != nil || app.CheckInput(&c) != nil {
			b.Fatal(err)
		}
		std += time.Since(t)
	}
	per := float64(b.N * maxBatchResults)
	b.ReportMetric(float64(fast.Nanoseconds())/per, "ns/result")
	b.ReportMetric(float64(std.Nanoseconds())/per, "encoding-json-ns/result")
	b.ReportMetric(float64(fast)/float64(std), "of-encoding-json")
}
