package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	migrations "mipo/sql"
)

// The house rules that hold the layout together, checked over the source itself.

// sqlTable finds the tables SQL names after its keywords (mipo writes SQL keywords upper case).
var sqlTable = regexp.MustCompile(`\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ON)\s+([a-z_][a-z0-9_]*)\b`)

// Every table has one owning module (sql/owners.go), and no other module's code names it in
// SQL: a module reads another's data through that module's Go functions.
func TestModulesNameOnlyTheirOwnTables(t *testing.T) {
	created := regexp.MustCompile(`CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)`)
	dropped := regexp.MustCompile(`(?m)^DROP TABLE ([a-z_][a-z0-9_]*);`)
	files, _ := filepath.Glob("sql/*/*.sql")
	live := map[string]bool{}
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		up, _, _ := strings.Cut(string(raw), "-- +goose Down")
		for _, m := range created.FindAllStringSubmatch(up, -1) {
			live[m[1]] = true
		}
		for _, m := range dropped.FindAllStringSubmatch(up, -1) {
			delete(live, m[1])
		}
	}
	for table := range live {
		if migrations.Owners[table] == "" {
			t.Errorf("table %s has no owner in sql/owners.go", table)
		}
	}
	for table := range migrations.Owners {
		if !live[table] {
			t.Errorf("sql/owners.go names %s, which no migration creates", table)
		}
	}
	for owner, dir := range map[string]string{"kernel": "app"} {
		checkNames(t, owner, dir)
	}
	mods, _ := filepath.Glob("modules/*")
	for _, dir := range mods {
		checkNames(t, filepath.Base(dir), dir)
	}
}

func checkNames(t *testing.T, owner, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range sqlTable.FindAllStringSubmatch(string(raw), -1) {
			if o := migrations.Owners[m[1]]; o != "" && o != owner {
				t.Errorf("%s (module %s) names the table %s, which module %s owns: call %s's Go functions instead", path, owner, m[1], o, o)
			}
		}
		return nil
	})
}

type goPackage struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T, dir string, patterns ...string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Imports"}, patterns...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// The dependency direction is main.go → modules → app → sql: the kernel imports no module,
// sql imports nothing of mipo, and the scanner (its own Go module) imports nothing but the
// standard library.
func TestDependenciesPointOneWay(t *testing.T) {
	layer := func(path string) int {
		switch {
		case path == "mipo":
			return 3
		case strings.HasPrefix(path, "mipo/modules/"):
			return 2
		case path == "mipo/app" || strings.HasPrefix(path, "mipo/app/"):
			return 1
		case path == "mipo/sql":
			return 0
		}
		return -1
	}
	for _, p := range listPackages(t, ".", "./...") {
		from := layer(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, "mipo") {
				continue
			}
			to := layer(imp)
			if to > from || to == from && from != 2 && from != 1 { // modules use each other's Go API; apptest uses app

				t.Errorf("%s imports %s: dependencies point main.go → modules → app → sql", p.ImportPath, imp)
			}
		}
	}
	for _, p := range listPackages(t, "scanner", "-deps", "./...") {
		if strings.Contains(strings.SplitN(p.ImportPath, "/", 2)[0], ".") {
			t.Errorf("the scanner depends on %s; it uses only the standard library", p.ImportPath)
		}
	}
}

// storeCode finds what sends SQL: a string that starts with an SQL statement, or a call that
// sends one. A package holding either is store code.
var storeCode = regexp.MustCompile("[\"`]\\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|COPY|LOCK|CREATE|ALTER|DROP|TRUNCATE)\\s|\\.(?:Exec|Query|QueryRow|CopyFrom|SendBatch)\\(")

// moduleOf names the module a package of mipo/modules/ belongs to ("" for other packages).
func moduleOf(importPath string) string {
	rest, ok := strings.CutPrefix(importPath, "mipo/modules/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// No module builds another module's store code into itself: what a module uses of another is
// that module's contract package (modules/<name>/<name>api: types and the calls the module
// fills in when it is linked in), which holds no SQL. So a module's package graph
// (`go list -deps`) never contains a package of another module that sends SQL.
func TestModulesBuildNoOtherModulesStoreCode(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Dir,GoFiles,Deps", "./modules/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath, Dir string
		GoFiles, Deps   []string
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	stores := map[string]string{} // package → a file of it that sends SQL
	for _, p := range pkgs {
		for _, f := range p.GoFiles {
			raw, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if storeCode.Match(raw) {
				stores[p.ImportPath] = filepath.Join(strings.TrimPrefix(p.ImportPath, "mipo/"), f)
				break
			}
		}
	}
	for _, p := range pkgs {
		for _, d := range p.Deps {
			from, to := moduleOf(p.ImportPath), moduleOf(d)
			if to == "" || to == from || stores[d] == "" {
				continue
			}
			t.Errorf("%s builds in %s, store code of module %s (%s): use %s's contract package, modules/%s/%sapi",
				p.ImportPath, d, to, stores[d], to, to, to)
		}
	}
}
