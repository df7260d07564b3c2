package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/scanners/scannersapi"
)

// The wire types of docs/scanner-protocol.md. Unknown fields are ignored, so a newer scanner's
// extra field never makes an older ingest refuse (and the scanner set aside) a results batch.

// RegisterRequest is the body of POST /scanner/v1/register.
type RegisterRequest struct {
	Token    string               `json:"token" doc:"The provisioning token, mpt_…"`
	Hostname string               `json:"hostname"`
	Version  string               `json:"version"`
	Capacity scannersapi.Capacity `json:"capacity"`
}

// RegisterResponse carries the scanner's permanent API key, shown this once.
type RegisterResponse struct {
	ScannerID        string `json:"scanner_id"`
	Name             string `json:"name"`
	APIKey           string `json:"api_key"`
	HeartbeatSeconds int    `json:"heartbeat_seconds"`
}

// HeartbeatMetrics is the host's state, from /proc.
type HeartbeatMetrics struct {
	Load1         float64 `json:"load1"`
	CPUPercent    float64 `json:"cpu_percent"`
	MemUsedBytes  uint64  `json:"mem_used_bytes"`
	MemTotalBytes uint64  `json:"mem_total_bytes"`
	NetRxBytes    uint64  `json:"net_rx_bytes"`
	NetTxBytes    uint64  `json:"net_tx_bytes"`
	FDOpen        *int    `json:"fd_open,omitempty" doc:"Optional: the scanner process's open file descriptors (/proc/self/fd)."`
	FDLimit       *int    `json:"fd_limit,omitempty" doc:"Optional: its soft RLIMIT_NOFILE now."`
}

// HeartbeatRequest is the body of POST /scanner/v1/heartbeat.
type HeartbeatRequest struct {
	Version    string               `json:"version"`
	Hostname   string               `json:"hostname"`
	Capacity   scannersapi.Capacity `json:"capacity"`
	Metrics    HeartbeatMetrics     `json:"metrics"`
	ActiveJobs []string             `json:"active_jobs"`
}

// HeartbeatResponse tells the scanner the server's time and the heartbeat interval.
type HeartbeatResponse struct {
	ServerTime       string `json:"server_time"`
	HeartbeatSeconds int    `json:"heartbeat_seconds"`
}

// LeaseRequest is the body of POST /scanner/v1/jobs/lease.
type LeaseRequest struct {
	WaitSeconds int `json:"wait_seconds" doc:"How long to wait for a job, 0 to 60 (longer waits are cut to 30)."`
}

// WireJob is a job as the scanner receives it.
type WireJob struct {
	ID                 string     `json:"id"`
	ScanID             string     `json:"scan_id"`
	Targets            netset.Set `json:"targets" doc:"Inclusive address intervals [{first, last}]."`
	Ports              [][2]int   `json:"ports" doc:"Inclusive port ranges [[first, last]]."`
	RateLimit          int        `json:"rate_limit"`
	Concurrency        int        `json:"concurrency"`
	TimeoutMS          int        `json:"timeout_ms"`
	Retries            int        `json:"retries"`
	MaxDurationSeconds int        `json:"max_duration_seconds"`
	LeaseExpiresAt     time.Time  `json:"lease_expires_at"`
	Attempt            int        `json:"attempt" doc:"Which lease of the job this is (1 for the first): sent back with results and complete, it tells a former holder's late batches from the current holder's."`
}

// LeaseResponse is a leased job (204 with no body when none came).
type LeaseResponse struct {
	Job WireJob `json:"job"`
}

// ProgressRequest is the body of POST /scanner/v1/jobs/{id}/progress.
type ProgressRequest struct {
	HostsDone   int64 `json:"hosts_done"`
	HostsTotal  int64 `json:"hosts_total"`
	PortsProbed int64 `json:"ports_probed"`
	PortsTotal  int64 `json:"ports_total"`
}

// ProgressResponse says whether the job was cancelled.
type ProgressResponse struct {
	Cancel bool `json:"cancel"`
}

// WireResult is one open port.
type WireResult struct {
	Address    string    `json:"address"`
	Port       int       `json:"port"`
	ObservedAt time.Time `json:"observed_at"`
	RTTMicros  int64     `json:"rtt_us"`
}

// ResultsRequest is the body of POST /scanner/v1/jobs/{id}/results.
type ResultsRequest struct {
	Attempt int          `json:"attempt,omitempty" doc:"The lease's attempt, as the lease said (optional; older scanners omit it: the scanner's latest lease of the job is meant)."`
	Batch   int          `json:"batch"`
	Results []WireResult `json:"results"`
}

// ResultsResponse acknowledges a batch.
type ResultsResponse struct {
	Accepted  int  `json:"accepted"`
	Duplicate bool `json:"duplicate" doc:"The batch had arrived before; nothing was stored again."`
}

// CompleteRequest is the body of POST /scanner/v1/jobs/{id}/complete.
type CompleteRequest struct {
	Status      string   `json:"status" doc:"done, failed or cancelled."`
	Error       string   `json:"error" maxlen:"65536"` // kept to its first 2,000 bytes
	HostsDone   int64    `json:"hosts_done"`
	PortsProbed int64    `json:"ports_probed"`
	Batches     int      `json:"batches"`
	CPUSeconds  *float64 `json:"cpu_seconds,omitempty" doc:"The scanner's own CPU seconds for the job (optional; older scanners omit it)."`
	Attempt     int      `json:"attempt,omitempty" doc:"The lease's attempt, as the lease said (optional): a completion for an earlier lease of the job is 410 job_gone."`
}

// CompleteResponse is empty.
type CompleteResponse struct{}

// Protocol limits.
const (
	maxCPUSeconds   = 1e9 // some thirty CPU-years: more is a broken clock, not a job
	maxBatchResults = 5000
	maxResultsBody  = 8 << 20  // 5,000 results are about 0.6 MB
	maxSmallBody    = 64 << 10 // every other call
)

// decode reads a JSON body of at most limit bytes. Unknown fields are ignored; a wrong type
// names the field; a body over the limit is 413; text and numbers the databases cannot store
// are refused as on every route (app.CheckInput).
func decode(c echo.Context, limit int64, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return &app.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the body as application/json"}
	}
	body := http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	return decodeBytes(body, limit, v)
}

// decodeBytes decodes a body with goccy/go-json, checks included, in about 0.6 of the time
// encoding/json takes over a results batch (BenchmarkDecodeResults): decoding was the largest
// share of the ingest process's own CPU per result. A body it refuses is decoded again by
// encoding/json, whose errors name the field by its JSON path and say what was wrong: bad
// bodies are rare, and people read their errors. FuzzDecodersAgree holds the two to one
// verdict and one value.
func decodeBytes(r io.Reader, limit int64, v any) error {
	body, err := io.ReadAll(r)
	if err == nil && decodeFast(body, v) != nil {
		reflect.ValueOf(v).Elem().SetZero() // what the first decode filled in before it stopped
		err = decodeStd(body, v)
	}
	return decodeError(err, limit, v)
}

// decodeFast is goccy/go-json's decode of a body that is valid UTF-8 and valid JSON. It skips
// an unknown field's value without checking it, so json.Valid (a tenth of the decode's CPU)
// checks the whole body first; and it keeps bytes that are not UTF-8 where encoding/json puts
// U+FFFD, so such a body is left to encoding/json.
func decodeFast(body []byte, v any) error {
	if !utf8.Valid(body) || !json.Valid(body) {
		return errNotFast
	}
	return gojson.Unmarshal(body, v)
}

var errNotFast = errors.New("not valid JSON in UTF-8")

// decodeStd is encoding/json's decode of a body: one JSON value, nothing after it.
func decodeStd(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	if err == nil && len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 { // JSON's whitespace only
		return errTrailing
	}
	return err
}

var errTrailing = app.Invalid("", "invalid_json", "the body holds more than one JSON value, or text after it")

// decodeError is a decode's outcome as the API answers it.
func decodeError(err error, limit int64, v any) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var tooBig *http.MaxBytesError
	var timeErr *time.ParseError
	var answer *app.Error
	switch {
	case err == nil:
		return app.CheckInput(v)
	case errors.As(err, &answer): // already an answer (errTrailing)
		return answer
	case errors.As(err, &tooBig):
		return &app.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	case errors.Is(err, io.EOF):
		return app.Invalid("", "invalid_json", "the request body is empty; send a JSON object")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return app.Invalid(typeErr.Field, "invalid_type", fmt.Sprintf("%s must be %s, not %s", field, typeErr.Type.Kind(), typeErr.Value))
	case errors.As(err, &syntaxErr):
		return app.Invalid("", "invalid_json", fmt.Sprintf("the body is not valid JSON (at byte %d)", syntaxErr.Offset))
	case errors.As(err, &timeErr):
		return app.Invalid("", "invalid_time", "a time is not RFC 3339 (such as 2026-11-23T11:20:00.123456Z): "+timeErr.Value)
	default:
		return app.Invalid("", "invalid_json", "the body is not valid JSON: "+err.Error())
	}
}

func (r *RegisterRequest) validate() error {
	if r.Token == "" {
		return app.Invalid("token", "required", "token is required: the provisioning token, mpt_…")
	}
	if err := checkText("hostname", r.Hostname, 255); err != nil {
		return err
	}
	if err := checkText("version", r.Version, 64); err != nil {
		return err
	}
	return validCapacity(r.Capacity)
}

func validCapacity(c scannersapi.Capacity) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"capacity.max_concurrency", c.MaxConcurrency}, {"capacity.max_rate", c.MaxRate}, {"capacity.fd_limit", c.FDLimit}} {
		if f.v < 0 || f.v > 1<<30 {
			return app.Invalid(f.name, "invalid_capacity", f.name+" must be a whole number from 0 to 1073741824")
		}
	}
	return nil
}

func checkText(field, v string, max int) error {
	if len(v) > max {
		return app.Invalid(field, "too_long", fmt.Sprintf("%s is at most %d bytes", field, max))
	}
	return nil
}

func (h *HeartbeatRequest) validate() error {
	if err := checkText("hostname", h.Hostname, 255); err != nil {
		return err
	}
	if err := checkText("version", h.Version, 64); err != nil {
		return err
	}
	if err := validCapacity(h.Capacity); err != nil {
		return err
	}
	if len(h.ActiveJobs) > 1000 {
		return app.Invalid("active_jobs", "too_many", "active_jobs lists at most 1000 jobs")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"metrics.load1", h.Metrics.Load1}, {"metrics.cpu_percent", h.Metrics.CPUPercent}} {
		if f.v < 0 || f.v != f.v || f.v > 1e9 {
			return app.Invalid(f.name, "invalid_metric", f.name+" must be a number from 0 to 1e9")
		}
	}
	// CheckInput already held them to an integer column's range; a count is never negative.
	for _, f := range []struct {
		name string
		v    *int
	}{{"metrics.fd_open", h.Metrics.FDOpen}, {"metrics.fd_limit", h.Metrics.FDLimit}} {
		if f.v != nil && *f.v < 0 {
			return app.Invalid(f.name, "invalid_metric", f.name+" must be a whole number from 0 to 2147483647")
		}
	}
	return nil
}

func (p *ProgressRequest) validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"hosts_done", p.HostsDone}, {"hosts_total", p.HostsTotal}, {"ports_probed", p.PortsProbed}, {"ports_total", p.PortsTotal}} {
		if f.v < 0 {
			return app.Invalid(f.name, "invalid_count", f.name+" must not be negative")
		}
	}
	return nil
}

func (r *CompleteRequest) validate() error {
	switch r.Status {
	case "done", "failed", "cancelled":
	default:
		return app.Invalid("status", "invalid_status", fmt.Sprintf("status must be done, failed or cancelled, not %q", app.Truncate(r.Status, 32)))
	}
	if r.Batches < 0 || r.Batches > 1<<24 {
		return app.Invalid("batches", "invalid_batches", "batches must be a whole number from 0 to 16777216")
	}
	if c := r.CPUSeconds; c != nil && !(*c >= 0 && *c <= maxCPUSeconds) {
		return app.Invalid("cpu_seconds", "invalid_cpu_seconds", "cpu_seconds must be a number from 0 to 1e9")
	}
	if r.HostsDone < 0 || r.PortsProbed < 0 {
		return app.Invalid("hosts_done", "invalid_count", "hosts_done and ports_probed must not be negative")
	}
	if r.Attempt < 0 {
		return app.Invalid("attempt", "invalid_attempt", "attempt is the lease's attempt, from 1; omit it if unknown")
	}
	r.Error = app.Truncate(r.Error, 2000)
	return nil
}
