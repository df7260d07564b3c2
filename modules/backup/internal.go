package backup

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"mipo/app"
)

// Backend is what the manager's backup pages need from the backup role: the Runner itself when
// both run in one process, or a client of the backup role's internal API.
type Backend interface {
	List(ctx context.Context, source string) ([]*Manifest, error)
	Manifest(ctx context.Context, id string) (*Manifest, error)
	Backup(ctx context.Context, kind string, full bool) (*Manifest, error)
	StartRestore(ctx context.Context, source string, ids []string) error
	Verify(ctx context.Context, id string) ([]*Manifest, error)
	Activity() Activity
}

// List lists the local backups, or those in the S3 bucket.
func (r *Runner) List(ctx context.Context, source string) ([]*Manifest, error) {
	switch source {
	case "", "local":
		return r.Service.List()
	case "s3":
		target, _, err := loadTarget(ctx, r.DB.Config, r.Secrets)
		if err != nil {
			return nil, err
		}
		return r.ListRemote(ctx, target)
	}
	return nil, app.Invalid("source", "invalid", "source must be local or s3")
}

// Manifest returns one local backup's manifest.
func (r *Runner) Manifest(_ context.Context, id string) (*Manifest, error) {
	m, err := r.Get(id)
	if errors.Is(err, ErrNotFound) {
		return nil, app.NotFound("backup")
	}
	return m, err
}

// Verify decrypts and checks a backup without restoring it.
func (r *Runner) Verify(ctx context.Context, id string) ([]*Manifest, error) {
	chain, err := r.Service.Verify(ctx, id)
	return chain, classify(err)
}

// classify turns a backup's refusal into the API's error: a damaged backup or a wrong key is
// a 409 that says which, a missing backup a 404.
func classify(err error) error {
	var d *DamagedError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return app.NotFound("backup")
	case errors.Is(err, ErrWrongKey):
		return app.Conflict("wrong_backup_key", err.Error())
	case errors.As(err, &d):
		return app.Conflict("backup_damaged", err.Error())
	}
	return err
}

// internalKey is the bearer key of the internal API, derived from MIPO_BACKUP_KEY so every
// process of one installation (one .mipo.env) shares it without another secret.
func internalKey(master []byte) string {
	k, _ := hkdf.Key(sha256.New, master, nil, "mipo backup internal api v1", 32)
	return hex.EncodeToString(k)
}

// internalHandler serves the internal API. It is never mounted on the public listener.
func internalHandler(b Backend, key string) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any, err error) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			var e *app.Error
			if !errors.As(err, &e) {
				e = &app.Error{Status: http.StatusInternalServerError, Code: "backup_error", Message: err.Error()}
			}
			w.WriteHeader(e.Status)
			json.NewEncoder(w).Encode(app.ErrorBody{Error: e})
			return
		}
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /internal/v1/backups", func(w http.ResponseWriter, r *http.Request) {
		ms, err := b.List(r.Context(), r.URL.Query().Get("source"))
		reply(w, ms, err)
	})
	mux.HandleFunc("GET /internal/v1/backups/{id}", func(w http.ResponseWriter, r *http.Request) {
		m, err := b.Manifest(r.Context(), r.PathValue("id"))
		reply(w, m, err)
	})
	mux.HandleFunc("POST /internal/v1/backups", func(w http.ResponseWriter, r *http.Request) {
		var in CreateRequest
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			reply(w, nil, app.Invalid("body", "invalid_json", "the body must be JSON"))
			return
		}
		m, err := b.Backup(r.Context(), in.Kind, in.Full)
		reply(w, m, err)
	})
	mux.HandleFunc("POST /internal/v1/backups/{id}/verify", func(w http.ResponseWriter, r *http.Request) {
		chain, err := b.Verify(r.Context(), r.PathValue("id"))
		reply(w, chain, err)
	})
	mux.HandleFunc("POST /internal/v1/restore", func(w http.ResponseWriter, r *http.Request) {
		var in RestoreRequest
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			reply(w, nil, app.Invalid("body", "invalid_json", "the body must be JSON"))
			return
		}
		reply(w, b.Activity(), b.StartRestore(context.WithoutCancel(r.Context()), in.Source, in.IDs))
	})
	mux.HandleFunc("GET /internal/v1/activity", func(w http.ResponseWriter, r *http.Request) {
		reply(w, b.Activity(), nil)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
			reply(w, nil, app.Unauthorized("bad_backup_key", "the internal backup API needs the installation's backup key"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Client talks to a backup process's internal API.
type Client struct {
	URL  string
	key  string
	http *http.Client
}

// NewClient returns a client for the backup role at url.
func NewClient(url string, master []byte) *Client {
	return &Client{URL: strings.TrimRight(url, "/"), key: internalKey(master), http: &http.Client{Timeout: 10 * time.Minute}}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return &app.Error{Status: http.StatusServiceUnavailable, Code: "backup_unreachable", Message: fmt.Sprintf("the backup role at %s does not answer: is a `mipo serve --role=backup` process running there?", c.URL)}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var eb app.ErrorBody
		if json.NewDecoder(resp.Body).Decode(&eb) == nil && eb.Error != nil {
			eb.Error.Status = resp.StatusCode
			if resp.StatusCode >= 500 {
				return errors.New(eb.Error.Message)
			}
			return eb.Error
		}
		return fmt.Errorf("the backup role answered %s", resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *Client) List(ctx context.Context, source string) ([]*Manifest, error) {
	var ms []*Manifest
	return ms, c.do(ctx, http.MethodGet, "/internal/v1/backups?source="+source, nil, &ms)
}

func (c *Client) Manifest(ctx context.Context, id string) (*Manifest, error) {
	var m Manifest
	return &m, c.do(ctx, http.MethodGet, "/internal/v1/backups/"+id, nil, &m)
}

func (c *Client) Backup(ctx context.Context, kind string, full bool) (*Manifest, error) {
	var m Manifest
	return &m, c.do(ctx, http.MethodPost, "/internal/v1/backups", CreateRequest{Kind: kind, Full: full}, &m)
}

func (c *Client) StartRestore(ctx context.Context, source string, ids []string) error {
	var a Activity
	return c.do(ctx, http.MethodPost, "/internal/v1/restore", RestoreRequest{Source: source, IDs: ids}, &a)
}

func (c *Client) Verify(ctx context.Context, id string) ([]*Manifest, error) {
	var ms []*Manifest
	return ms, c.do(ctx, http.MethodPost, "/internal/v1/backups/"+id+"/verify", nil, &ms)
}

func (c *Client) Activity() Activity {
	var a Activity
	if err := c.do(context.Background(), http.MethodGet, "/internal/v1/activity", nil, &a); err != nil {
		a.Error = err.Error()
	}
	return a
}

var (
	_ Backend = (*Runner)(nil)
	_ Backend = (*Client)(nil)
)
