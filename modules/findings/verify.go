package findings

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Problem is one thing wrong with a pack, naming the file it is in.
type Problem struct {
	File    string `json:"file"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.File + ": " + p.Message }

// Verification is what checking a pack found.
type Verification struct {
	Manifest *Manifest
	Problems []Problem
}

// OK reports whether the pack is whole and signed.
func (v *Verification) OK() bool { return len(v.Problems) == 0 }

// VerifyPack checks an evidence pack offline: the manifest's signature under the key it names
// (and under want, when the caller has the key from elsewhere, such as the settings page),
// then every file against the manifest's SHA-256, and that no file is missing or unlisted.
// Each problem names its file. An error means the archive could not be read at all.
func VerifyPack(r io.Reader, want ed25519.PublicKey) (*Verification, error) {
	files := map[string][]byte{}
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the archive: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(tr, 1<<31))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", h.Name, err)
		}
		if _, dup := files[h.Name]; dup {
			return nil, fmt.Errorf("the archive holds %s twice", h.Name)
		}
		files[h.Name] = body
		names = append(names, h.Name)
	}
	v := &Verification{}
	bad := func(file, format string, args ...any) {
		v.Problems = append(v.Problems, Problem{File: file, Message: fmt.Sprintf(format, args...)})
	}
	mb, ok := files[ManifestName]
	if !ok {
		bad(ManifestName, "missing")
		return v, nil
	}
	m := &Manifest{}
	if err := json.Unmarshal(mb, m); err != nil {
		bad(ManifestName, "not readable JSON: %v", err)
		return v, nil
	}
	v.Manifest = m
	if m.Format != PackFormat {
		bad(ManifestName, "format %q is not %q", m.Format, PackFormat)
	}
	pub, err := base64.StdEncoding.DecodeString(m.Key.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		bad(ManifestName, "the public key it names is malformed")
		pub = nil
	}
	if want != nil && pub != nil && !slices.Equal(pub, want) {
		bad(ManifestName, "signed by key %s, not by the expected key", m.Key.ID)
	}
	sb, ok := files[SignatureName]
	switch {
	case !ok:
		bad(SignatureName, "missing")
	case pub != nil:
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sb)))
		if err != nil || len(sig) != ed25519.SignatureSize {
			bad(SignatureName, "not a base64 Ed25519 signature")
		} else if !ed25519.Verify(pub, mb, sig) {
			bad(ManifestName, "the signature in %s does not verify: the manifest or the signature was altered", SignatureName)
		}
	}
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, f := range m.Files {
		listed[f.Name] = true
		body, ok := files[f.Name]
		if !ok {
			bad(f.Name, "listed in the manifest but missing from the archive")
			continue
		}
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
			bad(f.Name, "SHA-256 is %s, the manifest says %s: the file was altered", got, f.SHA256)
		} else if len(body) != f.Size {
			bad(f.Name, "%d bytes, the manifest says %d", len(body), f.Size)
		}
	}
	for _, n := range names {
		if !listed[n] {
			bad(n, "in the archive but not listed in the manifest")
		}
	}
	return v, nil
}
