package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"mipo/app"
)

// compose.yaml and the Dockerfile cannot run on our machines (no Docker engine), so these
// tests check what can be checked: every mipo service runs a real role, the databases are
// sealed off, the secrets come from .mipo.env, and the image is built by the Makefile.

type composeFile struct {
	Services map[string]struct {
		Command  []string               `yaml:"command"`
		Profiles []string               `yaml:"profiles"`
		Image    string                 `yaml:"image"`
		Networks []string               `yaml:"networks"`
		Labels   []string               `yaml:"labels"`
		Deploy   struct{ Replicas int } `yaml:"deploy"`
	} `yaml:"services"`
	Networks map[string]struct {
		Internal bool `yaml:"internal"`
	} `yaml:"networks"`
}

func TestComposeTopology(t *testing.T) {
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	for service, role := range map[string]string{"manager": "manager", "ingest": "ingest", "dispatcher": "dispatcher", "backup": "backup"} {
		s, ok := c.Services[service]
		if !ok || !slices.Contains(s.Command, "--role="+role) {
			t.Errorf("service %s must run `serve --role=%s`, runs %v", service, role, s.Command)
		}
		if len(app.Topology[role]) == 0 {
			// A role whose module is not built yet refuses to start: its service stays off
			// unless asked for.
			if !slices.Contains(s.Profiles, role) {
				t.Errorf("service %s runs a role with no module yet; it must be behind the profile %q", service, role)
			}
			continue
		}
		if _, err := app.ParseRoles(role); err != nil {
			t.Error(err)
		}
	}
	if c.Services["ingest"].Deploy.Replicas < 2 {
		t.Error("ingest must run two or more replicas")
	}
	if !strings.Contains(strings.Join(c.Services["ingest"].Labels, " "), "PathPrefix(`/scanner/`)") {
		t.Error("the edge must route /scanner/ to ingest")
	}
	if !c.Networks["internal"].Internal {
		t.Error("the databases' network must be internal (no outside access)")
	}
	for _, db := range []string{"config-db", "results-db", "jobs-db"} {
		if nets := c.Services[db].Networks; !slices.Equal(nets, []string{"internal"}) {
			t.Errorf("%s must be on the internal network only, is on %v", db, nets)
		}
	}
	if !strings.Contains(c.Services["results-db"].Image, "timescaledb") {
		t.Error("results-db should be TimescaleDB")
	}
	// Every secret compose interpolates is one mipo generates into .mipo.env.
	dir := t.TempDir()
	generated, err := app.EnsureEnvFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{(MIPO_[A-Z_]+)\}`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := generated[m[1]]; !ok {
			t.Errorf("compose.yaml uses ${%s}, which .mipo.env does not hold", m[1])
		}
	}
}

// The serving processes connect as a role that owns nothing (so the audit log stays
// append-only against them); only the one-shot migrate service holds the owners' DSNs, and
// every serving process waits for it.
func TestComposeServesAsARoleThatOwnsNothing(t *testing.T) {
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	// The user of a DSN whose password is still a ${…} for compose to fill in.
	user := func(dsn string) string {
		if m := regexp.MustCompile(`^postgres://([^:@/]+)[:@]`).FindStringSubmatch(dsn); m != nil {
			return m[1]
		}
		return ""
	}
	m := c.Services["migrate"]
	if !slices.Contains(m.Command, "migrate") {
		t.Fatalf("compose.yaml needs a one-shot migrate service, has %v", m.Command)
	}
	for _, db := range []string{"CONFIG", "RESULTS", "JOBS"} {
		owner, runtime := user(m.Environment["MIPO_"+db+"_MIGRATE_DSN"]), user(m.Environment["MIPO_"+db+"_DSN"])
		if owner == "" || runtime == "" || owner == runtime {
			t.Errorf("migrate: MIPO_%s_MIGRATE_DSN (%q) must name the owner and MIPO_%s_DSN (%q) another role", db, owner, db, runtime)
		}
	}
	for _, name := range []string{"manager", "ingest", "dispatcher", "backup"} {
		s := c.Services[name]
		for k, v := range s.Environment {
			if strings.HasSuffix(k, "_MIGRATE_DSN") || (strings.HasSuffix(k, "_DSN") && user(v) == user(m.Environment["MIPO_CONFIG_MIGRATE_DSN"])) {
				t.Errorf("%s holds the owner's DSN in %s", name, k)
			}
		}
		if s.DependsOn["migrate"].Condition != "service_completed_successfully" {
			t.Errorf("%s must wait for the migrate service to complete", name)
		}
	}
}

func TestDockerfileBuildsWithTheMakefile(t *testing.T) {
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(raw)
	for _, want := range []string{"RUN make build", "bin/mipo ", "bin/mipo-scanner", "postgresql-client", "USER mipo"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	mk, _ := os.ReadFile("Makefile")
	if !regexp.MustCompile(`(?m)^build:`).Match(mk) {
		t.Error("the Makefile has no build target for the image to run")
	}
}

// The README's configuration section names every setting any module declares, so the docs
// cannot fall behind the code.
func TestReadmeNamesEverySetting(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range app.Settings() {
		if !strings.Contains(string(raw), s.Name) {
			t.Errorf("README.md does not mention %s (%s)", s.Name, s.Help)
		}
	}
}

// Every module the role graph names is registered in the mipo binary.
func TestTopologyNamesRegisteredModules(t *testing.T) {
	registered := app.DefaultRegistry().Names()
	for role, modules := range app.Topology {
		for _, m := range modules {
			if !slices.Contains(registered, m) {
				t.Errorf("role %s runs module %q, which main.go does not import", role, m)
			}
		}
	}
	for _, m := range registered {
		named := false
		for _, modules := range app.Topology {
			named = named || slices.Contains(modules, m)
		}
		for _, other := range registered {
			named = named || slices.Contains(app.DefaultRegistry().Requires(other), m)
		}
		if !named {
			t.Errorf("module %s is registered but no role runs it and no module requires it", m)
		}
	}
}

// Every module folder's package is imported by main.go: a forgotten import fails here, not in
// production (each modules/<name>/module.go registers a module called <name>).
func TestRegistryHoldsEveryModule(t *testing.T) {
	dirs, _ := filepath.Glob("modules/*/module.go")
	registered := app.DefaultRegistry().Names()
	for _, f := range dirs {
		name := filepath.Base(filepath.Dir(f))
		if !slices.Contains(registered, name) {
			t.Errorf("modules/%s is not registered: import it in main.go", name)
		}
	}
}
