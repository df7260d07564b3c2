package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// EmbeddedPG is a private PostgreSQL cluster in the data directory, listening on a Unix socket
// only. mipo starts it when no DSN is configured, and the test helper uses the same code for
// its throwaway clusters.
type EmbeddedPG struct {
	Dir       string // the cluster's folder: data/, the log, and (usually) the socket
	SocketDir string
	BinDir    string
	log       *slog.Logger
	cmd       *exec.Cmd
	exited    chan struct{}
	cred      *syscall.Credential // set when mipo runs as root: PostgreSQL refuses to
	uid, gid  int                 // run as root, so it runs as an unprivileged user
	user      string
	// Fast trades durability for speed (fsync off); for tests only.
	Fast bool
}

// The cluster's roles: a superuser for administration and an ordinary owner of mipo's
// databases, so mipo itself runs without superuser rights.
const (
	embeddedSuperuser = "postgres"
	embeddedAppRole   = "mipo"
)

// EmbeddedDatabase names the database of each of mipo's three in the embedded cluster.
func EmbeddedDatabase(name string) string { return "mipo_" + name }

// NewEmbeddedPG prepares (but does not start) a cluster in dir.
func NewEmbeddedPG(dir, binHint string, log *slog.Logger) (*EmbeddedPG, error) {
	bin, err := findPGBin(binHint)
	if err != nil {
		return nil, err
	}
	pg := &EmbeddedPG{Dir: dir, BinDir: bin, log: log, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		if err := pg.dropPrivileges(); err != nil {
			return nil, err
		}
	}
	pg.SocketDir = socketDirFor(dir)
	return pg, nil
}

// findPGBin finds the folder with initdb and postgres: the hint (MIPO_PG_BIN), PATH, or the
// newest /usr/lib/postgresql/*/bin.
func findPGBin(hint string) (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if hint != "" {
		if has(hint) {
			return hint, nil
		}
		return "", &ConfigError{"MIPO_PG_BIN", hint + " does not hold initdb, postgres and pg_ctl"}
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server found for the embedded database: install it " +
		"(Debian/Ubuntu: apt-get install -y postgresql), set MIPO_PG_BIN to the folder holding initdb and postgres, " +
		"or point MIPO_CONFIG_DSN, MIPO_RESULTS_DSN and MIPO_JOBS_DSN at existing databases")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// dropPrivileges picks the user PostgreSQL runs as when mipo is root: the "postgres" system
// user the Debian package creates, else "nobody".
func (pg *EmbeddedPG) dropPrivileges() error {
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return errors.New("mipo runs as root, and PostgreSQL refuses to: create a 'postgres' user, or run mipo as an ordinary user")
	}
	pg.uid, _ = strconv.Atoi(u.Uid)
	pg.gid, _ = strconv.Atoi(u.Gid)
	pg.cred = &syscall.Credential{Uid: uint32(pg.uid), Gid: uint32(pg.gid)}
	pg.user = u.Username
	return nil
}

// socketDirFor keeps the socket path under the kernel's 107-byte limit: inside the cluster
// folder when it is short enough, else in a folder of /tmp named after it.
func socketDirFor(dir string) string {
	inside := filepath.Join(dir, "run")
	if len(inside)+len("/.s.PGSQL.5432") < 100 {
		return inside
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "mipo-pg-"+hex.EncodeToString(sum[:6]))
}

func (pg *EmbeddedPG) dataDir() string { return filepath.Join(pg.Dir, "data") }

// Start initialises the cluster on first use, starts it and creates mipo's role and databases.
func (pg *EmbeddedPG) Start(ctx context.Context) error {
	if err := pg.place(); err != nil {
		return err
	}
	for _, d := range []string{pg.Dir, pg.SocketDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		if err := pg.chown(d); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(pg.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := pg.initdb(ctx); err != nil {
			return err
		}
	}
	if err := pg.startServer(ctx); err != nil {
		return err
	}
	return pg.createDatabases(ctx)
}

// PlacementRoot is where the cluster lives when mipo runs as root and the unprivileged
// PostgreSQL user cannot enter the data directory (a checkout under /root, say, is 0700).
// A variable so a test can point it elsewhere.
var PlacementRoot = "/var/lib/mipo"

// place decides where the cluster lives. As an ordinary user it is always pg.Dir. As root,
// PostgreSQL runs as another user who must be able to walk down to pg.Dir; mipo never loosens
// a directory the user made, so when the way is shut the cluster goes to a folder of
// PlacementRoot named after pg.Dir, and pg.Dir becomes a symbolic link to it, so later starts
// (and `ls -l`) find it.
func (pg *EmbeddedPG) place() error {
	if pg.cred == nil {
		return nil
	}
	if target, err := filepath.EvalSymlinks(pg.Dir); err == nil && target != pg.Dir {
		pg.setDir(target)
		return pg.reachable(filepath.Dir(pg.Dir))
	}
	parent := filepath.Dir(pg.Dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	blocked := pg.reachable(parent)
	if blocked == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(pg.dataDir(), "PG_VERSION")); err == nil {
		// A cluster is already here (made by a mipo that loosened its way in); moving it is the
		// operator's decision, not ours.
		return blocked
	}
	abs, err := filepath.Abs(pg.Dir)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(abs))
	target := filepath.Join(PlacementRoot, "postgres-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(PlacementRoot, 0o755); err != nil {
		return fmt.Errorf("%w; and the fallback %s cannot be created: %v", blocked, PlacementRoot, err)
	}
	if err := pg.reachable(PlacementRoot); err != nil {
		return fmt.Errorf("%w; and the fallback: %v", blocked, err)
	}
	os.Remove(pg.Dir) // an empty folder left by an earlier, failed start
	if err := os.Symlink(target, pg.Dir); err != nil {
		return fmt.Errorf("embedded PostgreSQL: linking %s to %s: %w", pg.Dir, target, err)
	}
	pg.log.Info("the PostgreSQL user cannot enter the data directory; the embedded cluster lives elsewhere",
		"user", pg.user, "blocked", blocked.Error(), "cluster", target, "link", pg.Dir)
	pg.setDir(target)
	return nil
}

func (pg *EmbeddedPG) setDir(dir string) {
	pg.Dir = dir
	pg.SocketDir = socketDirFor(dir)
}

// reachable asks the kernel rather than reading mode bits (groups and ACLs count too): a
// child process running as the PostgreSQL user changes into dir, or fails to.
func (pg *EmbeddedPG) reachable(dir string) error {
	cmd := exec.Command(filepath.Join(pg.BinDir, "postgres"), "--version")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("embedded PostgreSQL runs as the user %s, who cannot enter %s (%v): "+
			"move the data directory (MIPO_DATA_DIR) under a folder that user can enter, "+
			"allow it (chmod o+x on each folder on the way), or run mipo as an ordinary user", pg.user, dir, err)
	}
	return nil
}

func (pg *EmbeddedPG) chown(path string) error {
	if pg.cred == nil {
		return nil
	}
	if err := os.Chown(path, pg.uid, pg.gid); err != nil {
		return fmt.Errorf("embedded PostgreSQL: giving %s to the postgres user: %w", path, err)
	}
	return nil
}

func (pg *EmbeddedPG) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(pg.BinDir, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred, Setpgid: true}
	cmd.Dir = pg.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	return cmd
}

func (pg *EmbeddedPG) initdb(ctx context.Context) error {
	pg.log.Info("initialising the embedded PostgreSQL cluster", "dir", pg.dataDir())
	// Write into a temporary folder and rename, so an interrupted initdb never leaves a
	// half-made cluster behind that the next start would try to use.
	tmp := pg.dataDir() + ".init"
	os.RemoveAll(tmp)
	cmd := pg.command(ctx, "initdb", "-D", tmp, "-U", embeddedSuperuser, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("embedded PostgreSQL: initdb failed: %v\n%s", err, out.String())
	}
	return os.Rename(tmp, pg.dataDir())
}

func (pg *EmbeddedPG) startServer(ctx context.Context) error {
	if pg.answers(ctx) {
		// A cluster left running by a process that was killed: use it.
		pg.log.Warn("embedded PostgreSQL was already running; using it", "socket", pg.SocketDir)
		return nil
	}
	logFile, err := os.OpenFile(filepath.Join(pg.Dir, "postgres.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	defer logFile.Close()
	if err := pg.chown(logFile.Name()); err != nil {
		return err
	}
	args := []string{"-D", pg.dataDir(), "-c", "listen_addresses=", "-k", pg.SocketDir,
		"-c", "unix_socket_permissions=0700", "-c", "max_connections=200"}
	if pg.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	// postgres runs in its own process group, so Ctrl-C on the terminal reaches mipo only and
	// mipo stops the database after it has drained its requests.
	cmd := exec.Command(filepath.Join(pg.BinDir, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred, Setpgid: true}
	cmd.Dir, cmd.Stdout, cmd.Stderr = pg.Dir, logFile, logFile
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("embedded PostgreSQL: starting postgres: %w", err)
	}
	pg.cmd, pg.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(pg.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for !pg.answers(ctx) {
		select {
		case <-pg.exited:
			return fmt.Errorf("embedded PostgreSQL exited during start-up; see %s", filepath.Join(pg.Dir, "postgres.log"))
		case <-ctx.Done():
			pg.Stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			pg.Stop()
			return fmt.Errorf("embedded PostgreSQL did not start within 60 s; see %s", filepath.Join(pg.Dir, "postgres.log"))
		}
	}
	return nil
}

func (pg *EmbeddedPG) answers(ctx context.Context) bool {
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := pgx.Connect(c, pg.DSN(embeddedSuperuser, "postgres"))
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

// DSN returns a connection string for a user and database of the cluster.
func (pg *EmbeddedPG) DSN(user, database string) string {
	q := url.Values{"host": {pg.SocketDir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(user), Path: "/" + database, RawQuery: q.Encode()}).String()
}

// AppDSN returns the DSN mipo uses for one of its databases ("config", "results", "jobs").
func (pg *EmbeddedPG) AppDSN(name string) string {
	return pg.DSN(embeddedAppRole, EmbeddedDatabase(name))
}

// SuperuserDSN returns a superuser DSN for a database of the cluster (tests, administration).
func (pg *EmbeddedPG) SuperuserDSN(database string) string {
	return pg.DSN(embeddedSuperuser, database)
}

func (pg *EmbeddedPG) createDatabases(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, pg.DSN(embeddedSuperuser, "postgres"))
	if err != nil {
		return fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if err := pg.createRoles(ctx, conn); err != nil {
		return err
	}
	for _, name := range DatabaseNames {
		db := EmbeddedDatabase(name)
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, db).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER "+embeddedOwnerRole); err != nil {
				return fmt.Errorf("embedded PostgreSQL: creating %s: %w", db, err)
			}
		}
		if err := pg.handOverToOwner(ctx, db); err != nil {
			return err
		}
	}
	return nil
}

// Stop shuts the cluster down (fast shutdown: open transactions roll back, nothing is lost)
// and waits for it to exit.
func (pg *EmbeddedPG) Stop() error {
	if pg.cmd == nil || pg.cmd.Process == nil {
		return nil
	}
	select {
	case <-pg.exited:
		return nil
	default:
	}
	_ = pg.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-pg.exited:
	case <-time.After(15 * time.Second):
		_ = pg.cmd.Process.Kill()
		<-pg.exited
	}
	if strings.HasPrefix(pg.SocketDir, os.TempDir()) {
		os.RemoveAll(pg.SocketDir)
	}
	return nil
}
