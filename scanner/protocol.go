package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"time"
)

// The wire types of docs/scanner-protocol.md. Field names match the document.

type Capacity struct {
	MaxConcurrency int `json:"max_concurrency"`
	MaxRate        int `json:"max_rate"`
	FDLimit        int `json:"fd_limit"`
	MaxJobs        int `json:"max_jobs,omitempty"` // jobs at once, sharing the limits above
}

type registerRequest struct {
	Token    string   `json:"token"`
	Hostname string   `json:"hostname"`
	Version  string   `json:"version"`
	Capacity Capacity `json:"capacity"`
}

type registerResponse struct {
	ScannerID        string `json:"scanner_id"`
	Name             string `json:"name"`
	APIKey           string `json:"api_key"`
	HeartbeatSeconds int    `json:"heartbeat_seconds"`
}

type heartbeatRequest struct {
	Version    string   `json:"version"`
	Hostname   string   `json:"hostname"`
	Capacity   Capacity `json:"capacity"`
	Metrics    Metrics  `json:"metrics"`
	ActiveJobs []string `json:"active_jobs"`
}

type heartbeatResponse struct {
	ServerTime       string `json:"server_time"`
	HeartbeatSeconds int    `json:"heartbeat_seconds"`
}

type leaseRequest struct {
	WaitSeconds int `json:"wait_seconds"`
}

type progressRequest struct {
	HostsDone   uint64 `json:"hosts_done"`
	HostsTotal  uint64 `json:"hosts_total"`
	PortsProbed uint64 `json:"ports_probed"`
	PortsTotal  uint64 `json:"ports_total"`
}

type progressResponse struct {
	Cancel bool `json:"cancel"`
}

type resultsRequest struct {
	Attempt int          `json:"attempt,omitempty"` // the lease's, so a late batch is told from a new holder's
	Batch   int          `json:"batch"`
	Results []wireResult `json:"results"`
}

type wireResult struct {
	Address    string    `json:"address"`
	Port       uint16    `json:"port"`
	ObservedAt time.Time `json:"observed_at"`
	RTTMicros  int64     `json:"rtt_us"`
}

type completeRequest struct {
	Status      string  `json:"status"` // done, failed or cancelled
	Error       string  `json:"error"`
	HostsDone   uint64  `json:"hosts_done"`
	PortsProbed uint64  `json:"ports_probed"`
	Batches     int     `json:"batches"`
	CPUSeconds  float64 `json:"cpu_seconds,omitempty"` // this scanner's CPU time for the job
	Attempt     int     `json:"attempt,omitempty"`     // the lease's: an earlier lease's completion is 410
}

// wireJob is a job exactly as ingest sends it; Job is the checked form.
type wireJob struct {
	ID      string `json:"id"`
	ScanID  string `json:"scan_id"`
	Targets []struct {
		First string `json:"first"`
		Last  string `json:"last"`
	} `json:"targets"`
	Ports              [][]int `json:"ports"`
	RateLimit          int     `json:"rate_limit"`
	Concurrency        int     `json:"concurrency"`
	TimeoutMS          int     `json:"timeout_ms"`
	Retries            int     `json:"retries"`
	MaxDurationSeconds int     `json:"max_duration_seconds"`
	LeaseExpiresAt     string  `json:"lease_expires_at"`
	Attempt            int     `json:"attempt"` // 0 from an ingest older than the field
}

// Job is a leased job that passed validation.
type Job struct {
	ID, ScanID  string
	Targets     []Interval
	Ports       []PortRange
	RateLimit   int           // attempts per second; 0: the scanner's own max_rate
	Concurrency int           // attempts in flight; 0: the scanner's own max_concurrency
	Timeout     time.Duration // starting connect timeout
	Retries     int
	MaxDuration time.Duration // 0: no limit
	HostsTotal  uint64
	PortsTotal  uint64
	Attempt     int // which lease of the job this is; 0: ingest did not say
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// decodeLease reads a lease answer. The id comes back even when the job is
// invalid, so the scanner can complete it as failed with the reason.
func decodeLease(data []byte) (id string, job *Job, err error) {
	var wrapper struct {
		Job *json.RawMessage `json:"job"`
	}
	if err := json.Unmarshal(data, &wrapper); err != nil {
		return "", nil, fmt.Errorf("lease answer is not JSON: %v", err)
	}
	if wrapper.Job == nil {
		return "", nil, fmt.Errorf("lease answer has no job")
	}
	var w wireJob
	if err := json.Unmarshal(*wrapper.Job, &w); err != nil {
		// Try to rescue the id alone, so the job can still be failed.
		var idOnly struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(*wrapper.Job, &idOnly)
		if !uuidRE.MatchString(idOnly.ID) {
			idOnly.ID = ""
		}
		return idOnly.ID, nil, fmt.Errorf("job: %v", err)
	}
	if !uuidRE.MatchString(w.ID) {
		return "", nil, fmt.Errorf("job: id %q is not a UUID", w.ID)
	}
	job, err = w.check()
	return w.ID, job, err
}

func (w *wireJob) check() (*Job, error) {
	j := &Job{ID: w.ID, ScanID: w.ScanID, RateLimit: w.RateLimit, Concurrency: w.Concurrency, Retries: w.Retries, Attempt: max(w.Attempt, 0)}
	for i, t := range w.Targets {
		first, err := netip.ParseAddr(t.First)
		if err != nil {
			return nil, fmt.Errorf("targets[%d].first: %v", i, err)
		}
		last, err := netip.ParseAddr(t.Last)
		if err != nil {
			return nil, fmt.Errorf("targets[%d].last: %v", i, err)
		}
		j.Targets = append(j.Targets, Interval{first, last})
	}
	if err := validateIntervals(j.Targets); err != nil {
		return nil, err
	}
	for i, p := range w.Ports {
		if len(p) != 2 {
			return nil, fmt.Errorf("ports[%d]: want [first, last], got %d numbers", i, len(p))
		}
		if p[0] < 1 || p[0] > 65535 || p[1] < 1 || p[1] > 65535 {
			return nil, fmt.Errorf("ports[%d]: %d-%d is outside 1..65535", i, p[0], p[1])
		}
		j.Ports = append(j.Ports, PortRange{uint16(p[0]), uint16(p[1])})
	}
	if err := validatePorts(j.Ports); err != nil {
		return nil, err
	}
	switch {
	case w.RateLimit < 0:
		return nil, fmt.Errorf("rate_limit: %d is negative", w.RateLimit)
	case w.Concurrency < 0:
		return nil, fmt.Errorf("concurrency: %d is negative", w.Concurrency)
	case w.TimeoutMS < 1 || w.TimeoutMS > 60000:
		return nil, fmt.Errorf("timeout_ms: %d is outside 1..60000", w.TimeoutMS)
	case w.Retries < 0 || w.Retries > 10:
		return nil, fmt.Errorf("retries: %d is outside 0..10", w.Retries)
	case w.MaxDurationSeconds < 0 || w.MaxDurationSeconds > 366*24*3600:
		return nil, fmt.Errorf("max_duration_seconds: %d is outside 0..31622400 (0: no limit)", w.MaxDurationSeconds)
	}
	j.Timeout = time.Duration(w.TimeoutMS) * time.Millisecond
	j.MaxDuration = time.Duration(w.MaxDurationSeconds) * time.Second
	var err error
	if j.HostsTotal, j.PortsTotal, err = totals(j.Targets, j.Ports); err != nil {
		return nil, err
	}
	return j, nil
}
