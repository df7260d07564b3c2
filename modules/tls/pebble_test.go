package tls

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"mipo/app/apptest"
)

// acmeTools are Let's Encrypt's test CA (pebble) and its DNS/HTTP stand-in
// (pebble-challtestsrv), built into a cache folder the first time a test needs them.
var acmeTools struct {
	once sync.Once
	dir  string
	err  error
}

const pebbleModule = "github.com/letsencrypt/pebble/v2"

func acmeBinaries(t *testing.T) string {
	t.Helper()
	acmeTools.once.Do(func() {
		acmeTools.dir = filepath.Join(os.TempDir(), "mipo-acme-bin")
		for _, b := range []string{"pebble", "pebble-challtestsrv"} {
			if _, err := os.Stat(filepath.Join(acmeTools.dir, b)); err == nil {
				continue
			}
			cmd := exec.Command("go", "install", pebbleModule+"/cmd/"+b+"@latest")
			cmd.Env = append(os.Environ(), "GOBIN="+acmeTools.dir, "CGO_ENABLED=0")
			cmd.Dir = os.TempDir() // outside mipo's module
			if out, err := cmd.CombinedOutput(); err != nil {
				acmeTools.err = &buildError{b, err, out}
				return
			}
		}
	})
	if acmeTools.err != nil {
		t.Fatal(acmeTools.err)
	}
	return acmeTools.dir
}

type buildError struct {
	what string
	err  error
	out  []byte
}

func (e *buildError) Error() string {
	return "go install " + e.what + ": " + e.err.Error() + "\n" + string(e.out)
}

// pebble is a running test CA.
type pebble struct {
	directory string // the ACME directory URL
	dns       string // challtestsrv's DNS server, host:port
	mgmt      string // challtestsrv's management API, http://host:port
	client    *http.Client
}

// startPebble runs pebble and challtestsrv. Pebble validates HTTP-01 on httpPort and resolves
// every name through challtestsrv, which answers 127.0.0.1 unless told otherwise.
func startPebble(t *testing.T, httpPort int) *pebble {
	t.Helper()
	bin := acmeBinaries(t)
	dir := t.TempDir()
	// Pebble's own HTTPS certificate, from a CA this test makes and trusts.
	ca := newTestCA(t)
	leaf, key := ca.leaf(t, time.Now(), "127.0.0.1", "localhost")
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte(pemChain(leaf, ca.inter)), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), []byte(key), 0o600)

	p := &pebble{dns: apptest.FreeAddr(t), mgmt: "http://" + apptest.FreeAddr(t)}
	apptest.StartProcess(t, filepath.Join(bin, "pebble-challtestsrv"), nil,
		"-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
		"-dnsserver", p.dns, "-management", p.mgmt[len("http://"):], "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	listen := apptest.FreeAddr(t)
	conf, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": apptest.FreeAddr(t),
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": httpPort, "tlsPort": 1, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter": map[string]int{"authz": 1, "order": 1},
		// 30 days: renewal is due after 20.
		"profiles": map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 30 * 24 * 3600}},
	}})
	os.WriteFile(filepath.Join(dir, "pebble.json"), conf, 0o600)
	apptest.StartProcess(t, filepath.Join(bin, "pebble"), []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"},
		"-config", filepath.Join(dir, "pebble.json"), "-dnsserver", p.dns)

	p.directory = "https://" + listen + "/dir"
	p.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}}}
	apptest.WaitFor(t, 30*time.Second, "pebble and challtestsrv to answer", func() bool {
		res, err := p.client.Get(p.directory)
		if err != nil {
			return false
		}
		res.Body.Close()
		res, err = http.Post(p.mgmt+"/clear-a", "application/json", bytes.NewBufferString(`{"host":"nothing.test."}`))
		if err != nil {
			return false
		}
		res.Body.Close()
		return true
	})
	return p
}

// challtest calls challtestsrv's management API.
func (p *pebble) challtest(t *testing.T, path string, body map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	res, err := http.Post(p.mgmt+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("challtestsrv %s: %s", path, res.Status)
	}
}

func portOf(t *testing.T, url string) int {
	t.Helper()
	_, port, _ := cutHostPort(url)
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("no port in %s", url)
	}
	return n
}

func cutHostPort(url string) (string, string, bool) {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == ':' {
			return url[:i], url[i+1:], true
		}
	}
	return url, "", false
}

// servedSerial dials a TLS listener and returns the serial of the certificate it presents.
func servedSerial(t *testing.T, addr string) (string, *tls.Conn) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Text(16), c
}
