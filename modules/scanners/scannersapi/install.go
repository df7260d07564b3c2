package scannersapi

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"text/template"

	"mipo/app"
)

var (
	settingScannerBinary = app.StringSetting("MIPO_SCANNER_BINARY", "",
		"Path of the mipo-scanner binary that ingest hands out to new scanners (GET /scanner/download/mipo-scanner). Empty: mipo-scanner beside the mipo executable (make build and the image put it there).")
	settingProvisionPin = app.StringSetting("MIPO_PROVISIONING_PIN", "",
		"The certificate pin (sha256//BASE64 of the SubjectPublicKeyInfo) provisioning commands carry when TLS ends at a proxy with a self-signed certificate. Empty: the pin of mipo's own certificate when it is self-signed.")
)

// Paths of the install script and the binary, served by ingest without credentials.
const (
	InstallScriptPath = "/scanner/install.sh"
	BinaryPath        = "/scanner/download/mipo-scanner"
)

// Binary is the mipo-scanner this mipo hands out.
type Binary struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Arch   string `json:"arch" doc:"The machine it runs on, as uname -m says it (x86_64, aarch64)."`
}

// ErrNoBinary says that no mipo-scanner binary was found to hand out.
type ErrNoBinary struct{ Where, Why string }

func (e *ErrNoBinary) Error() string {
	return fmt.Sprintf("this mipo has no mipo-scanner binary to hand out: %s %s; build it with `make build` (it is put beside mipo) or set MIPO_SCANNER_BINARY to its path", e.Where, e.Why)
}

var binaryCache struct {
	sync.Mutex
	stamp string
	bin   *Binary
}

// BinaryPathFor is where the binary should be: MIPO_SCANNER_BINARY, else beside this executable.
func BinaryPathFor(cfg *app.Config) string {
	if p := settingScannerBinary.Get(cfg); p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return "mipo-scanner"
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Join(filepath.Dir(exe), "mipo-scanner")
}

// ScannerBinary finds the binary to hand out and its SHA-256 (computed once per version of the
// file). An *ErrNoBinary says why there is none.
func ScannerBinary(cfg *app.Config) (*Binary, error) {
	path := BinaryPathFor(cfg)
	stamp, err := fileStamp(path)
	if err != nil {
		return nil, &ErrNoBinary{path, "cannot be read (" + errText(err) + ")"}
	}
	binaryCache.Lock()
	defer binaryCache.Unlock()
	if binaryCache.stamp == path+"@"+stamp {
		return binaryCache.bin, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &ErrNoBinary{path, "cannot be read (" + errText(err) + ")"}
	}
	defer f.Close()
	arch, err := elfArch(f)
	if err != nil {
		return nil, &ErrNoBinary{path, "is not a Linux executable (" + err.Error() + ")"}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, err
	}
	b := &Binary{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, Arch: arch}
	binaryCache.stamp, binaryCache.bin = path+"@"+stamp, b
	return b, nil
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// elfArch names an ELF executable's machine as uname -m does.
func elfArch(r io.ReaderAt) (string, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return "", err
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "x86_64", nil
	case elf.EM_AARCH64:
		return "aarch64", nil
	case elf.EM_386:
		return "i686", nil
	case elf.EM_ARM:
		return "armv7l", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	case elf.EM_PPC64:
		return "ppc64le", nil
	case elf.EM_S390:
		return "s390x", nil
	}
	return "", fmt.Errorf("unknown machine %s", f.Machine)
}

// ProvisioningPin is the pin a provisioning command carries: MIPO_PROVISIONING_PIN, else the
// pin of mipo's own certificate when mipo serves TLS with a self-signed one, else "" (scanners
// then trust the system roots).
func ProvisioningPin(cfg *app.Config) (string, error) {
	if p := settingProvisionPin.Get(cfg); p != "" {
		if !pinPattern.MatchString(p) {
			return "", &app.ConfigError{Variable: settingProvisionPin.Name(), Reason: "must be sha256// followed by the base64 of 32 bytes"}
		}
		return p, nil
	}
	if !cfg.TLS {
		return "", nil
	}
	// The certificate served now (the tls module replaces it at run time), else the data
	// directory's, for a process that has not started listening.
	cert := cfg.Certificate.Load()
	if cert == nil {
		c, err := app.EnsureCertificate(cfg.DataDir)
		if err != nil {
			return "", err
		}
		cert = &c
	}
	if !app.SelfSigned(*cert) {
		return "", nil
	}
	return app.CertificatePin(*cert)
}

// ResetCaches forgets the cached binary checksum (tests that switch binaries).
func ResetCaches() {
	binaryCache.Lock()
	binaryCache.stamp, binaryCache.bin = "", nil
	binaryCache.Unlock()
}

var (
	pinPattern    = regexp.MustCompile(`^sha256//[A-Za-z0-9+/]{43}=$`)
	serverPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.:\[\]-]+$`)
	tokenPattern  = regexp.MustCompile(`^mpt_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$`)
)

// InstallCommand is the one-liner an operator runs on the scanner's host: it downloads the
// installer from this mipo (pinned when the certificate is self-signed), which downloads
// mipo-scanner, checks its SHA-256 against the one in the command, registers it with the token
// and installs the systemd service.
func InstallCommand(server, pin, sha, token string) (string, error) {
	switch {
	case !serverPattern.MatchString(server):
		return "", fmt.Errorf("server %q is not a plain https://host[:port] URL", server)
	case pin != "" && !pinPattern.MatchString(pin):
		return "", fmt.Errorf("pin %q is not sha256//BASE64", pin)
	case sha != "" && !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sha):
		return "", fmt.Errorf("checksum %q is not 64 hex digits", sha)
	case !tokenPattern.MatchString(token):
		return "", errors.New("not a provisioning token")
	}
	var b strings.Builder
	b.WriteString("curl -fsSL ")
	if pin != "" {
		fmt.Fprintf(&b, "--pinnedpubkey '%s' -k ", pin)
	}
	fmt.Fprintf(&b, "'%s%s' | sudo sh -s -- --server '%s' --token '%s'", server, InstallScriptPath, server, token)
	if pin != "" {
		fmt.Fprintf(&b, " --pin '%s'", pin)
	}
	if sha != "" {
		fmt.Fprintf(&b, " --sha256 %s", sha)
	}
	return b.String(), nil
}

// InstallScript is the installer served at /scanner/install.sh, with this server's URL, pin and
// binary checksum as defaults. A nil binary gives a script that explains why it cannot install.
func InstallScript(server, pin string, bin *Binary, missing error) ([]byte, error) {
	if !serverPattern.MatchString(server) || pin != "" && !pinPattern.MatchString(pin) {
		return nil, fmt.Errorf("cannot write an install script for server %q, pin %q", server, pin)
	}
	data := map[string]string{"Server": server, "Pin": pin, "SHA256": "", "Arch": "", "Missing": ""}
	if bin != nil {
		data["SHA256"], data["Arch"] = bin.SHA256, bin.Arch
	} else {
		msg := "this mipo has no mipo-scanner binary to hand out"
		if missing != nil {
			msg = missing.Error()
		}
		data["Missing"] = strings.NewReplacer("'", "", "\n", " ").Replace(msg)
	}
	var out bytes.Buffer
	if err := installTemplate.Execute(&out, data); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

var installTemplate = template.Must(template.New("install.sh").Option("missingkey=error").Parse(`#!/bin/sh
# mipo-scanner installer, served by the mipo at {{.Server}}.
#
# Downloads mipo-scanner from that mipo (trusting its certificate by pin when it is
# self-signed), checks the binary's SHA-256, registers it with a one-time provisioning token,
# and installs it as the systemd service mipo-scanner, running as the unprivileged user
# mipo-scanner. With --no-systemd it only installs and registers, in a directory of your own,
# without root. --max-rate, --max-concurrency and --max-jobs set the scanner's capacity.
#
#   curl -fsSL {{.Server}}/scanner/install.sh | sudo sh -s -- --token mpt_...
#   sh install.sh --no-systemd --dir "$HOME/mipo-scanner" --token mpt_...
set -eu

SERVER='{{.Server}}'
PIN='{{.Pin}}'
SHA256='{{.SHA256}}'
ARCH='{{.Arch}}'
MISSING='{{.Missing}}'
TOKEN="${MIPO_SCANNER_TOKEN:-}"
SYSTEMD=1
DIR=''
FORCE=''
INSECURE=''
MAX_RATE=''
MAX_CONCURRENCY=''
MAX_JOBS=''

die() { echo "mipo-scanner install: $*" >&2; exit 1; }

usage() {
	cat <<'EOF'
Usage: install.sh --token mpt_... [options]

  --token TOKEN     the provisioning token from mipo (or $MIPO_SCANNER_TOKEN); it works once
  --server URL      mipo's URL (default: the mipo that served this script)
  --pin PIN         trust exactly the server key with this pin (sha256//...), for a
                    self-signed certificate
  --sha256 HEX      the SHA-256 the downloaded mipo-scanner must have
  --no-systemd      install and register only, in --dir, without root or a service
  --dir DIR         where --no-systemd installs (default $HOME/mipo-scanner)
  --max-rate N      connection attempts per second at most, all jobs together
  --max-concurrency N
                    connection attempts in flight at most, all jobs together
  --max-jobs N      jobs run at once, sharing the limits above (the defaults of
                    these three fit a small machine: mipo-scanner register --help)
  --force           register again over an existing config (the old key is no longer used)
  --insecure-http   allow a plain http:// server: FOR TESTS ONLY
EOF
}

need() { [ "$2" -ge 2 ] || die "$1 needs a value (see --help)"; }
# A capacity is checked here, before anything is downloaded or written, so a typo installs
# nothing; nine digits at most keep it within mipo-scanner's int on every machine.
positive() {
	case $2 in
	''|0*|*[!0-9]*|??????????*) die "$1 must be a positive integer below 1000000000, not '$2'" ;;
	esac
}
while [ $# -gt 0 ]; do
	case "$1" in
	--token) need "$1" $#; TOKEN=$2; shift 2 ;;
	--server) need "$1" $#; SERVER=${2%/}; shift 2 ;;
	--pin) need "$1" $#; PIN=$2; shift 2 ;;
	--sha256) need "$1" $#; SHA256=$2; shift 2 ;;
	--dir) need "$1" $#; DIR=$2; shift 2 ;;
	--max-rate) need "$1" $#; positive "$1" "$2"; MAX_RATE=$2; shift 2 ;;
	--max-concurrency) need "$1" $#; positive "$1" "$2"; MAX_CONCURRENCY=$2; shift 2 ;;
	--max-jobs) need "$1" $#; positive "$1" "$2"; MAX_JOBS=$2; shift 2 ;;
	--no-systemd) SYSTEMD=0; shift ;;
	--force) FORCE=--force; shift ;;
	--insecure-http) INSECURE=--insecure-http; shift ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

[ -z "$MISSING" ] || die "$MISSING"
[ -n "$TOKEN" ] || die "--token is required: create a provisioning token in mipo under Scanners, Add scanner"
[ -n "$SHA256" ] || die "no checksum to check the download against: pass --sha256"
[ "$(uname -s)" = Linux ] || die "mipo-scanner runs on Linux, this is $(uname -s)"
machine=$(uname -m)
[ "$machine" = "$ARCH" ] || die "this mipo hands out mipo-scanner for $ARCH, but this machine is $machine"
command -v curl >/dev/null 2>&1 || die "curl is needed to download mipo-scanner"

if [ "$SYSTEMD" = 1 ]; then
	[ "$(id -u)" = 0 ] || die "installing the service needs root: run it with sudo, or pass --no-systemd --dir DIR to install and register only"
	command -v systemctl >/dev/null 2>&1 || die "systemctl is not here: pass --no-systemd --dir DIR to install and register only"
	BIN=/usr/local/bin/mipo-scanner
	CONFIG=/etc/mipo-scanner/config.json
else
	[ -n "$DIR" ] || DIR="${HOME:?set --dir}/mipo-scanner"
	mkdir -p "$DIR"
	chmod 0700 "$DIR"
	DIR=$(cd "$DIR" && pwd)
	BIN="$DIR/mipo-scanner"
	CONFIG="$DIR/config.json"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "downloading mipo-scanner from $SERVER"
if [ -n "$PIN" ]; then
	curl -fsS --pinnedpubkey "$PIN" -k -o "$tmp/mipo-scanner" "$SERVER/scanner/download/mipo-scanner" || die "download failed"
else
	curl -fsS -o "$tmp/mipo-scanner" "$SERVER/scanner/download/mipo-scanner" || die "download failed"
fi
if command -v sha256sum >/dev/null 2>&1; then
	got=$(sha256sum "$tmp/mipo-scanner" | cut -d' ' -f1)
elif command -v shasum >/dev/null 2>&1; then
	got=$(shasum -a 256 "$tmp/mipo-scanner" | cut -d' ' -f1)
else
	die "neither sha256sum nor shasum is here to check the download"
fi
[ "$got" = "$SHA256" ] || die "the download's SHA-256 is $got, not $SHA256: not installing it"
chmod 0755 "$tmp/mipo-scanner"
echo "checksum ok: $got"

if [ "$SYSTEMD" = 1 ]; then
	id mipo-scanner >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /var/lib/mipo-scanner --shell /usr/sbin/nologin mipo-scanner
	install -d -m 0700 /etc/mipo-scanner /var/lib/mipo-scanner
	install -m 0755 "$tmp/mipo-scanner" "$BIN"
else
	mv -f "$tmp/mipo-scanner" "$BIN"
fi
"$BIN" version

set -- register --server "$SERVER" --config "$CONFIG"
[ -z "$PIN" ] || set -- "$@" --pin "$PIN"
[ -z "$MAX_RATE" ] || set -- "$@" --max-rate "$MAX_RATE"
[ -z "$MAX_CONCURRENCY" ] || set -- "$@" --max-concurrency "$MAX_CONCURRENCY"
[ -z "$MAX_JOBS" ] || set -- "$@" --max-jobs "$MAX_JOBS"
[ -z "$FORCE" ] || set -- "$@" "$FORCE"
[ -z "$INSECURE" ] || set -- "$@" "$INSECURE"
MIPO_SCANNER_TOKEN="$TOKEN" "$BIN" "$@"

if [ "$SYSTEMD" = 0 ]; then
	echo "installed and registered; start it with: $BIN run --config $CONFIG${INSECURE:+ $INSECURE}"
	exit 0
fi

chown -R mipo-scanner:mipo-scanner /etc/mipo-scanner /var/lib/mipo-scanner
cat >/etc/systemd/system/mipo-scanner.service <<EOF
[Unit]
Description=mipo-scanner, mipo's scanning agent
After=network-online.target
Wants=network-online.target

[Service]
User=mipo-scanner
Group=mipo-scanner
ExecStart=$BIN run --config $CONFIG
Restart=always
RestartSec=5
TimeoutStopSec=20
LimitNOFILE=65536
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ReadWritePaths=/etc/mipo-scanner /var/lib/mipo-scanner
CapabilityBoundingSet=
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX

[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now mipo-scanner
echo "mipo-scanner is installed and running: systemctl status mipo-scanner"
`))
