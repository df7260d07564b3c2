package apptest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Helpers for tests that run mipo as an operator would: the real binaries as child processes,
// and real listeners on loopback for them to find.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds mipo and mipo-scanner from this checkout, static as `make build` makes them,
// once per test binary, and returns the folder holding both.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "mipo-bin-"); buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		for _, b := range []struct{ dir, out string }{{root, "mipo"}, {filepath.Join(root, "scanner"), "mipo-scanner"}} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, b.out), ".")
			cmd.Dir, cmd.Env = b.dir, append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", b.out, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// Process is a child process whose output is kept, and shown when the test fails.
type Process struct {
	Cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output is everything the process has printed so far.
func (p *Process) Output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }

// Exited is closed when the process has ended; Err then says how.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Err is the process's exit error, once Exited is closed.
func (p *Process) Err() error { <-p.done; return p.err }

// Running reports whether the process has not ended yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// StartProcess runs a program with extra environment variables until the test ends, when it gets
// SIGTERM (and SIGKILL ten seconds later).
func StartProcess(t testing.TB, program string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(program, args...), done: make(chan struct{})}
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p, p
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if p.Running() {
			p.Cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				p.Cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("%s %v said:\n%s", filepath.Base(program), args, p.Output())
		}
	})
	return p
}

// FreeAddr returns a loopback address with a port that was free a moment ago, for a server the
// test starts. The port is below the kernel's ephemeral range (ip_local_port_range, 32768–60999
// by default): a port from that range can be taken by any program's outgoing connection between
// this check and the server's bind (seen: a fault-suite dispatcher exiting with "address already
// in use"), one below it only by another listener.
func FreeAddr(t testing.TB) string {
	t.Helper()
	low := 32768
	if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(raw)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	for range 1000 {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 10000+rand.IntN(low-10000)))
		if err == nil {
			defer ln.Close()
			return ln.Addr().String()
		}
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return ""
}

// Listen opens a listener that accepts and closes every connection, until it is closed or the
// test ends: an open port for a scanner to find.
func Listen(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// Port is a listener's port.
func Port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }
