package faults

import (
	"fmt"
	"os"
	"testing"

	"mipo/app/apptest"
)

// TestMain runs the suite only when asked: it starts a dozen processes and an nginx, and its
// faults take minutes, which `go test ./...` should not pay for by accident.
func TestMain(m *testing.M) {
	if os.Getenv("MIPO_FAULTS") != "1" {
		fmt.Println("faults: skipped; the topology and fault suite runs with MIPO_FAULTS=1 (make test-faults)")
		os.Exit(0)
	}
	apptest.Main(m)
}
