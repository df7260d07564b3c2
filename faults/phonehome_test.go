package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mipo/app/apptest"
)

// TestNoPhoneHome runs `mipo serve` with nothing configured (every role, the embedded
// PostgreSQL) inside a private network namespace that has only loopback, for a bounded time,
// while a client signs nothing in but loads its pages. The namespace's default route points into
// loopback, so a packet for anywhere else is not refused by routing before the firewall sees
// it: it passes iptables' OUTPUT chain, where a counter (and a LOG rule) catch everything not
// addressed to 127.0.0.0/8 or ::1. Those counters must stay at zero.
func TestNoPhoneHome(t *testing.T) {
	// Ten minutes, as long as the load runs: the two run side by side (the namespace shares
	// nothing with the topology), so the suite stays within its 30.
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root for its private network namespace and iptables (make test-faults runs as root)")
	}
	for _, tool := range []string{"unshare", "ip", "iptables", "ip6tables", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the no-phone-home test needs %s (make test-faults installs iptables): %v", tool, err)
		}
	}
	watch := envDuration("MIPO_FAULTS_PHONE_HOME", 10*time.Minute)
	bin := apptest.Binaries(t)
	parent, err := os.MkdirTemp("", "mipo-phone-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	os.Chmod(parent, 0o711) // the embedded PostgreSQL runs as another user and must pass through
	data := filepath.Join(parent, "data")
	addr := "127.0.0.1:8443" // the namespace is ours alone: the default port collides with nobody
	script := fmt.Sprintf(`set -e
ip link set lo up
ip route add default dev lo
ip -6 route add default dev lo 2>/dev/null || true
iptables -A OUTPUT -d 127.0.0.0/8 -j ACCEPT
ip6tables -A OUTPUT -d ::1/128 -j ACCEPT
iptables -A OUTPUT -j LOG --log-prefix "mipo-phone-home "
ip6tables -A OUTPUT -j LOG --log-prefix "mipo-phone-home "
MIPO_LOG_LEVEL=warn %[1]q serve --data-dir %[2]q --listen %[3]s > %[4]q 2>&1 &
pid=$!
end=$(( $(date +%%s) + %[5]d ))
while [ "$(date +%%s)" -lt "$end" ]; do
  curl -ks -o /dev/null https://%[3]s/ || true
  curl -ks -o /dev/null https://%[3]s/api/v1/setup || true
  curl -ks -o /dev/null https://%[3]s/readyz || true
  sleep 5
done
curl -ks https://%[3]s/readyz > %[6]q || true
kill -TERM $pid
wait $pid || true
echo "== iptables"; iptables -L -v -n -x
echo "== ip6tables"; ip6tables -L -v -n -x
`, filepath.Join(bin, "mipo"), data, addr, filepath.Join(parent, "mipo.log"), int(watch.Seconds()), filepath.Join(parent, "readyz.json"))
	start := time.Now()
	out, err := exec.Command("unshare", "-n", "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("the namespace's script failed: %v\n%s", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(parent, "mipo.log"))
	ready, _ := os.ReadFile(filepath.Join(parent, "readyz.json"))
	if !strings.Contains(string(ready), "ok") {
		t.Fatalf("mipo was not ready inside the namespace (/readyz %q):\n%s", ready, log)
	}
	// The LOG rules' packet counters: anything leaving for a non-loopback address.
	logRule := regexp.MustCompile(`(?m)^\s*(\d+)\s+\d+\s+LOG\b`)
	local := regexp.MustCompile(`(?m)^\s*(\d+)\s+\d+\s+ACCEPT\b`)
	escaped, loopback := 0, 0
	for _, m := range logRule.FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		escaped += n
	}
	for _, m := range local.FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		loopback += n
	}
	line := fmt.Sprintf("fault %-28s %d packets to loopback, %d to anywhere else, in %s of mipo serve with nothing configured",
		"no phone-home:", loopback, escaped, time.Since(start).Round(time.Second))
	fmt.Println(line)
	t.Log(line)
	if loopback == 0 {
		t.Errorf("no loopback packet was counted: the counters do not see mipo's traffic\n%s", out)
	}
	if escaped != 0 {
		t.Errorf("mipo sent %d packets to something other than loopback:\n%s\nmipo said:\n%s", escaped, out, log)
	}
}
