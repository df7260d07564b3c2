package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// version is stamped at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

const usageText = `mipo-scanner is mipo's scanning agent: it leases TCP port-scan jobs from
mipo's ingest API, scans, and reports open ports. It talks to that server
and nothing else, and never updates itself.

Usage:
  mipo-scanner register --server URL --token TOKEN [--pin sha256//BASE64] [--config PATH]
  mipo-scanner run [--config PATH]
  mipo-scanner version

Run 'mipo-scanner COMMAND --help' for a command's flags.
The config path is --config, else $MIPO_SCANNER_CONFIG, else ` + defaultConfigPath + `.
`

func main() { os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr)) }

// cli runs one command and returns the exit code: 0 done, 1 failed, 2 bad usage.
func cli(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	switch args[0] {
	case "register":
		return cmdRegister(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		if len(args) > 1 && strings.TrimLeft(args[1], "-") == "help" || len(args) > 1 && args[1] == "-h" {
			fmt.Fprintln(stdout, "Usage: mipo-scanner version\n\nPrints this program's version, as stamped at build time.")
			return 0
		}
		fmt.Fprintln(stdout, "mipo-scanner", version)
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usageText)
		return 0
	}
	fmt.Fprintf(stderr, "mipo-scanner: unknown command %q\n\n%s", args[0], usageText)
	return 2
}

// command is one subcommand's flags and the text its --help prints.
type command struct {
	*flag.FlagSet
	use, what      string
	stdout, stderr io.Writer
}

func newCommand(use, what string, stdout, stderr io.Writer) *command {
	fs := flag.NewFlagSet("mipo-scanner "+strings.Fields(use)[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return &command{fs, use, what, stdout, stderr}
}

// help prints the usage with GNU-style --flags, as the rest of the
// program writes them.
func (c *command) help(w io.Writer) {
	fmt.Fprintf(w, "Usage: mipo-scanner %s\n\n%s\n\nFlags:\n", c.use, c.what)
	c.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  %s\n    \t%s\n", strings.TrimSpace("--"+f.Name+" "+arg), usage)
	})
}

// parse parses args and turns the outcome into an exit code, or -1 to go on.
func (c *command) parse(args []string) int {
	err := c.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.help(c.stdout)
		return 0
	case err != nil: // the flag package said what is wrong
		fmt.Fprintf(c.stderr, "run '%s --help' for the flags\n", c.Name())
		return 2
	case c.NArg() > 0:
		fmt.Fprintf(c.stderr, "%s: unexpected argument %q\n", c.Name(), c.Arg(0))
		return 2
	}
	return -1
}

func cmdRegister(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("register --server URL --token TOKEN [flags]",
		`Exchanges a one-time provisioning token (from mipo's "add scanner" page) for
this scanner's permanent API key, and stores the config file and, beside it,
the key file (mode 0600, in a directory made 0700).`, stdout, stderr)
	server := fs.String("server", "", "mipo's URL, https://... (required)")
	token := fs.String("token", "", "the provisioning token (required; or $MIPO_SCANNER_TOKEN)")
	pin := fs.String("pin", "", "accept exactly the server key with this pin, sha256//BASE64 of its SubjectPublicKeyInfo (for a self-signed server certificate)")
	cfgFlag := fs.String("config", "", "config file to write (default $MIPO_SCANNER_CONFIG or "+defaultConfigPath+")")
	spool := fs.String("spool", "", "spool directory for unsent results (default /var/lib/mipo-scanner/spool, or spool/ beside a non-default config)")
	maxConc := fs.Int("max-concurrency", 0, fmt.Sprintf("connection attempts in flight at most, all jobs together (default %d, kept below the fd limit: about 11 MiB of memory; silent addresses are probed at concurrency / timeout, 2,000/s at a 1 s timeout)", defaultMaxConcurrency))
	maxRate := fs.Int("max-rate", 0, fmt.Sprintf("connection attempts per second at most, all jobs together (default %d: about a fifth of one CPU core and 1.3 MB/s of SYNs, which a small machine and the firewalls on the way take in stride)", defaultMaxRate))
	maxJobs := fs.Int("max-jobs", 0, fmt.Sprintf("jobs run at once, sharing the limits above (default %d, so a long job does not keep a short one waiting)", defaultMaxJobs))
	insecure := fs.Bool("insecure-http", false, "allow a plain http:// server URL: FOR TESTS ONLY, the API key then travels in clear")
	force := fs.Bool("force", false, "overwrite an existing config")
	if code := fs.parse(args); code >= 0 {
		return code
	}
	if *token == "" {
		*token = os.Getenv("MIPO_SCANNER_TOKEN")
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mipo-scanner register: "+format+"\n", a...)
		return 2
	}
	switch {
	case *server == "":
		return fail("--server is required (mipo's URL, https://...)")
	case *token == "":
		return fail("--token is required (or $MIPO_SCANNER_TOKEN)")
	case *maxConc < 0:
		return fail("--max-concurrency must not be negative")
	case *maxRate < 0:
		return fail("--max-rate must not be negative")
	case *maxJobs < 0:
		return fail("--max-jobs must not be negative")
	}
	if *pin != "" {
		if _, err := parsePin(*pin); err != nil {
			return fail("--pin: %v", err)
		}
	}
	path := configPath(*cfgFlag)
	if _, err := os.Stat(path); err == nil && !*force {
		return fail("config %s already exists; pass --force to register again (the old API key is then no longer used)", path)
	}
	client, err := newClient(*server, *pin, "", *insecure)
	if err != nil {
		return fail("--server: %v", err)
	}
	cfg := &Config{Server: client.base, Pin: *pin, SpoolDir: *spool, MaxConcurrency: *maxConc, MaxRate: *maxRate, MaxJobs: *maxJobs}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = defaultSpoolDir(path)
	}
	cfg.KeyFile = strings.TrimSuffix(path, ".json") + ".key"
	host, _ := os.Hostname()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	resp, err := client.Register(ctx, registerRequest{Token: *token, Hostname: host, Version: version, Capacity: capacity(cfg, raiseFDLimit())})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == "invalid_token" {
			fmt.Fprintf(stderr, "mipo-scanner register: --token was refused: %s (a token works once, and expires)\n", ae.Message)
		} else {
			fmt.Fprintf(stderr, "mipo-scanner register: %v\n", err)
		}
		return 1
	}
	cfg.ScannerID, cfg.Name = resp.ScannerID, resp.Name
	if err := saveConfig(path, cfg, resp.APIKey); err != nil {
		fmt.Fprintf(stderr, "mipo-scanner register: registered, but cannot store the config: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "registered as %q (%s); config in %s, API key in %s\nstart it with: mipo-scanner run --config %s\n",
		resp.Name, resp.ScannerID, path, cfg.KeyFile, path)
	return 0
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("run [--config PATH]",
		`Runs the scanner: heartbeats, leases jobs, scans, and reports results, until
SIGTERM or SIGINT. Results are spooled on disk until the server acknowledged
them; on stop, running jobs are completed as cancelled and what could not
be sent within a few seconds stays in the spool for the next start.`, stdout, stderr)
	cfgFlag := fs.String("config", "", "config file written by register (default $MIPO_SCANNER_CONFIG or "+defaultConfigPath+")")
	insecure := fs.Bool("insecure-http", false, "allow a plain http:// server URL: FOR TESTS ONLY, the API key then travels in clear")
	batchSize := fs.Int("test-batch-size", 0, "results per batch at most, 1 to 5000 (default 5000): FOR TESTS ONLY, to make a long result stream")
	if code := fs.parse(args); code >= 0 {
		return code
	}
	if *batchSize < 0 || *batchSize > 5000 {
		fmt.Fprintln(stderr, "mipo-scanner run: --test-batch-size must be 1 to 5000")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, key, err := loadConfig(configPath(*cfgFlag))
	if err != nil {
		fmt.Fprintf(stderr, "mipo-scanner run: %v\n", err)
		return 2
	}
	client, err := newClient(cfg.Server, cfg.Pin, key, *insecure)
	if err != nil {
		fmt.Fprintf(stderr, "mipo-scanner run: config server: %v\n", err)
		return 2
	}
	sp, err := OpenSpool(cfg.SpoolDir, log)
	if err != nil {
		fmt.Fprintf(stderr, "mipo-scanner run: %v\n", err)
		return 1
	}
	capa := capacity(cfg, raiseFDLimit())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("mipo-scanner starting", "version", version, "server", cfg.Server, "scanner_id", cfg.ScannerID,
		"max_concurrency", capa.MaxConcurrency, "max_rate", capa.MaxRate, "max_jobs", capa.MaxJobs, "fd_limit", capa.FDLimit)
	agent := NewAgent(client, sp, capa, 60*time.Second, log)
	if *batchSize > 0 {
		agent.batchMax = *batchSize
	}
	agent.Run(ctx)
	log.Info("mipo-scanner stopped")
	return 0
}
