package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is where backups are replicated: AWS S3 or any S3-compatible store.
type S3 struct {
	Endpoint  string `json:"endpoint" doc:"host:port of the store, such as s3.eu-west-1.amazonaws.com or minio.internal:9000"`
	Bucket    string `json:"bucket"`
	Prefix    string `json:"prefix" doc:"folder inside the bucket, such as mipo/; each backup is a folder below it"`
	Region    string `json:"region"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key,omitempty" doc:"stored encrypted; never returned"`
	Insecure  bool   `json:"insecure" doc:"plain HTTP (a store on the internal network without TLS)"`
}

// partSize is the multipart chunk: parts above it are uploaded in pieces of this size, so a
// large part is retried piecewise and never held in memory whole.
var partSize uint64 = 16 << 20

func (c S3) client() (*minio.Client, error) {
	if c.Endpoint == "" || c.Bucket == "" {
		return nil, errors.New("S3 replication needs an endpoint and a bucket")
	}
	return minio.New(c.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: !c.Insecure, Region: c.Region, BucketLookup: minio.BucketLookupPath,
	})
}

func (c S3) key(id, name string) string {
	return path.Join(strings.Trim(c.Prefix, "/"), id, name)
}

// Replicate uploads a local backup: its parts first, the manifest last, so a backup whose
// manifest is in the bucket is there whole.
func (s *Service) Replicate(ctx context.Context, c S3, id string) error {
	m, err := s.Get(id)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	put := func(name string) error {
		f, err := os.Open(filepath.Join(s.Dir, id, name))
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		_, err = cl.PutObject(ctx, c.Bucket, c.key(id, name), f, st.Size(), minio.PutObjectOptions{
			ContentType: "application/octet-stream", PartSize: partSize,
			// Each part carries its own SHA-256 in the signed manifest and authenticates
			// itself when decrypted; a signed payload stream adds nothing and some
			// S3-compatible stores cannot read one.
			DisableContentSha256: true})
		if err != nil {
			return fmt.Errorf("uploading %s to s3://%s/%s: %w", name, c.Bucket, c.key(id, name), err)
		}
		return nil
	}
	for _, t := range m.Parts() {
		if err := put(t.Part); err != nil {
			return err
		}
	}
	return put(manifestFile)
}

// ListRemote reads the manifests of the backups in the bucket, oldest first.
func (s *Service) ListRemote(ctx context.Context, c S3) ([]*Manifest, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	prefix := strings.Trim(c.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	var out []*Manifest
	for obj := range cl.ListObjects(ctx, c.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		if path.Base(obj.Key) != manifestFile {
			continue
		}
		o, err := cl.GetObject(ctx, c.Bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(o, 1<<20))
		o.Close()
		if err != nil {
			return nil, err
		}
		if m, err := parseManifest(b, nil); err == nil {
			out = append(out, m)
		}
	}
	sortManifests(out)
	return out, nil
}

// Fetch downloads a backup's chain from the bucket into the local folder (what is already
// there is kept), so it can be checked and restored like a local one.
func (s *Service) Fetch(ctx context.Context, c S3, id string) error {
	remote, err := s.ListRemote(ctx, c)
	if err != nil {
		return err
	}
	var m *Manifest
	for _, r := range remote {
		if r.ID == id {
			m = r
		}
	}
	if m == nil || !validID(id) {
		return ErrNotFound
	}
	chain, err := chainOf(remote, m)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	for _, b := range chain {
		if _, err := os.Stat(filepath.Join(s.Dir, b.ID, manifestFile)); err == nil {
			continue
		}
		tmp, err := os.MkdirTemp(s.Dir, ".fetch-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		names := []string{manifestFile}
		for _, t := range b.Parts() {
			names = append(names, t.Part)
		}
		for _, name := range names {
			if err := cl.FGetObject(ctx, c.Bucket, c.key(b.ID, name), filepath.Join(tmp, name), minio.GetObjectOptions{}); err != nil {
				return fmt.Errorf("downloading %s: %w", c.key(b.ID, name), err)
			}
		}
		if err := os.Rename(tmp, filepath.Join(s.Dir, b.ID)); err != nil {
			return err
		}
	}
	return nil
}

// deleteRemote removes one backup's objects from the bucket, the manifest first, so a
// half-deleted backup is no longer listed.
func (s *Service) deleteRemote(ctx context.Context, c S3, m *Manifest) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	if err := cl.RemoveObject(ctx, c.Bucket, c.key(m.ID, manifestFile), minio.RemoveObjectOptions{}); err != nil {
		return err
	}
	for _, t := range m.Parts() {
		if err := cl.RemoveObject(ctx, c.Bucket, c.key(m.ID, t.Part), minio.RemoveObjectOptions{}); err != nil {
			return err
		}
	}
	return nil
}
