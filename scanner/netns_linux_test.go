package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// netnsEnv names the test or benchmark a child process runs inside its
// private network namespace.
const netnsEnv = "MIPO_SCANNER_NETNS"

// inNetNS runs the calling test or benchmark again, alone, in a private
// network namespace (clone with CLONE_NEWNET, as `unshare -n` does), where
// every 127.x address and ::1 answer, nothing else listens, and iptables
// rules touch nothing outside. It returns true in that child, with lo up,
// and false in the parent once the child finished (its output is copied).
// It needs root; without it the test is skipped with a message.
func inNetNS(tb testing.TB) bool {
	tb.Helper()
	if os.Getenv(netnsEnv) == tb.Name() {
		run(tb, "ip", "link", "set", "lo", "up")
		return true
	}
	if os.Geteuid() != 0 {
		tb.Skip("needs root for a private network namespace (unshare -n); skipped")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("needs the ip command (iproute2) to bring lo up in a private namespace; skipped")
	}
	args := []string{"-test.run", "^" + tb.Name() + "$", "-test.count=1", "-test.v"}
	if _, ok := tb.(*testing.B); ok {
		args = []string{"-test.run", "^$", "-test.bench", "^" + tb.Name() + "$", "-test.benchtime", "1x", "-test.v"}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), netnsEnv+"="+tb.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	if _, ok := tb.(*testing.B); ok {
		os.Stdout.Write(out) // whole: a benchmark's log is cut to a few lines
	} else {
		tb.Logf("in a private network namespace:\n%s", out)
	}
	if err != nil {
		tb.Fatalf("the child in the namespace failed: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") {
		tb.Skip("skipped in the namespace")
	}
	return false
}

// run runs a command that must succeed.
func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// iptables adds a rule in the namespace, skipping the test when iptables
// is missing (`make iptables` installs it).
func iptables(tb testing.TB, args ...string) {
	tb.Helper()
	cmd := "iptables"
	for _, a := range args {
		if strings.Contains(a, ":") {
			cmd = "ip6tables"
		}
	}
	if _, err := exec.LookPath(cmd); err != nil {
		tb.Skipf("%s is not installed (make iptables); skipped", cmd)
	}
	run(tb, cmd, args...)
}
