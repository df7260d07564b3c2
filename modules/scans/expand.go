package scans

import (
	"fmt"
	"math/big"
	"time"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs/jobsapi"
)

var (
	settingMaxProbes   = app.IntSetting("MIPO_SCAN_MAX_PROBES", 100_000_000_000, 1, 1<<62, "Largest scan accepted, in connection attempts (addresses × ports); bigger scopes are refused before they start.")
	settingBatchTarget = app.DurationSetting("MIPO_SCAN_BATCH_TARGET", 5*time.Minute, "How long one job should keep a scanner busy at its reported rate: batches are cut to this size.")
)

// Work is what the dispatcher expands into jobs: a scan's frozen scope and timing.
type Work struct {
	ScanID             string
	Targets            netset.Set
	Ports              portset.Set
	Mode               string // "pool" or "vantage"
	RateLimit          int
	TimeoutMS          int
	Retries            int
	MaxDurationSeconds int
}

// ScannerCapacity is one scanner as batches are cut for it: what it said it can do in its last
// heartbeat (scannersapi.Capacity), with its id.
type ScannerCapacity struct {
	ScannerID      string
	MaxRate        int // connection attempts per second
	MaxConcurrency int
}

// Probes is the number of connection attempts a scope means: addresses × ports.
func Probes(targets netset.Set, ports portset.Set) *big.Int {
	return new(big.Int).Mul(targets.Count(), big.NewInt(int64(ports.Count())))
}

// CheckSize refuses a scope larger than the configured limit, saying how large it is.
func CheckSize(targets netset.Set, ports portset.Set, limit int64) error {
	if targets.IsEmpty() || ports.IsEmpty() {
		return app.Invalid("template_id", "empty_scope", "the template resolves to no addresses or no ports: nothing to scan")
	}
	probes := Probes(targets, ports)
	if probes.Cmp(big.NewInt(limit)) > 0 {
		return (&app.Error{Status: 422, Code: "scope_too_large", Field: "template_id",
			Message: fmt.Sprintf("the scope holds %s addresses × %d ports = %s connection attempts, more than the limit of %d (MIPO_SCAN_MAX_PROBES); narrow the template",
				targets.Count(), ports.Count(), probes, limit)}).
			WithDetail(map[string]string{"addresses": targets.Count().String(), "probes": probes.String(), "limit": fmt.Sprint(limit)})
	}
	return nil
}

// Expand cuts a scan into jobs. A pool gets batches sized so the slowest healthy scanner of the
// pool finishes one in about target time at its rate, any of them may lease any batch; a
// vantage scan gives every scanner the whole scope, one job each, so each vantage point sees
// everything. Addresses are never enumerated: batches are cut from intervals.
func Expand(w Work, scanners []ScannerCapacity, target time.Duration) ([]jobsapi.New, error) {
	if len(scanners) == 0 {
		return nil, fmt.Errorf("no scanner to give the scan to")
	}
	base := jobsapi.New{ScanID: w.ScanID, Ports: w.Ports, RateLimit: w.RateLimit, TimeoutMS: w.TimeoutMS,
		Retries: w.Retries, MaxDurationSeconds: w.MaxDurationSeconds}
	var out []jobsapi.New
	if w.Mode == jobsapi.KindVantage {
		for i, s := range scanners {
			j := base
			j.Kind, j.ScannerID, j.Seq, j.Targets = jobsapi.KindVantage, s.ScannerID, i, w.Targets
			out = append(out, j)
		}
		return out, nil
	}
	pool := make([]string, len(scanners))
	for i, s := range scanners {
		pool[i] = s.ScannerID
	}
	size := batchSize(w, scanners, target)
	seq := 0
	for chunk := range w.Targets.Chunks(size) {
		j := base
		j.Kind, j.Pool, j.Seq, j.Targets = jobsapi.KindPool, pool, seq, chunk
		out = append(out, j)
		seq++
	}
	return out, nil
}

// batchSize is how many addresses one pool job holds: the slowest scanner's rate (capped by
// the template's rate limit) times the target duration, over the ports per address.
func batchSize(w Work, scanners []ScannerCapacity, target time.Duration) uint64 {
	rate := 0
	for _, s := range scanners {
		r := s.MaxRate
		if r <= 0 {
			r = 1000 // a scanner that has not reported yet: assume a modest rate
		}
		if rate == 0 || r < rate {
			rate = r
		}
	}
	if w.RateLimit > 0 && w.RateLimit < rate {
		rate = w.RateLimit
	}
	n := uint64(float64(rate)*target.Seconds()) / uint64(max(w.Ports.Count(), 1))
	return max(n, 1)
}
