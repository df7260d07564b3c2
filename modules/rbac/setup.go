package rbac

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/spf13/cobra"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/settings/settingsapi"
)

// Setup is the body of POST /api/v1/setup: the owner account and the first settings.
type Setup struct {
	Username    string `json:"username"`
	Password    string `json:"password" audit:"secret"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	PublicFQDN  string `json:"public_fqdn" doc:"Optional: the host name scanners and browsers reach mipo at."`
}

// SetupStatus answers GET /api/v1/setup while setup is needed.
type SetupStatus struct {
	Needed bool `json:"needed"`
}

// SetupDone answers a successful setup: the owner, signed in.
type SetupDone struct {
	User      *User  `json:"user"`
	CSRFToken string `json:"csrf_token"`
}

var settingOwnerPassword = app.SecretSetting("MIPO_OWNER_PASSWORD", "The owner's password for `mipo setup`, when it is not given with --password-stdin.")

var errSetupDone = &app.Error{Status: http.StatusNotFound, Code: "not_found", Message: "setup is complete"}

// runSetup creates the owner (and the public FQDN setting) in tx. The table lock makes two
// racing setups queue, and the second finds a user and gives up: exactly one owner, ever.
func runSetup(ctx context.Context, tx pgx.Tx, in Setup, now func() time.Time) (*User, error) {
	if _, err := tx.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return nil, err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&exists); err != nil {
		return nil, err
	}
	if exists {
		return nil, errSetupDone
	}
	if err := settingsapi.ValidateFQDN(strings.TrimSpace(in.PublicFQDN)); err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, invalid("password", "required", "the owner needs a password")
	}
	owner, err := createUser(ctx, tx, nil, CreateUser{Username: in.Username, DisplayName: in.DisplayName, Email: in.Email, Password: in.Password}, true, now())
	if err != nil {
		return nil, err
	}
	if app.PrincipalFrom(ctx) == nil { // through the web wizard: the new owner is who acted
		ctx = app.WithPrincipal(ctx, &app.Principal{Kind: app.PrincipalUser, ID: owner.ID, UserID: owner.ID, Name: owner.Username, Owner: true})
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "user.create", ResourceType: "user", ResourceID: owner.ID, After: owner,
		Detail: map[string]any{"setup": true}}); err != nil {
		return nil, err
	}
	if in.PublicFQDN != "" {
		fqdn := strings.TrimSpace(in.PublicFQDN)
		before, after, err := settingsapi.Apply(ctx, tx, settingsapi.Patch{PublicFQDN: &fqdn})
		if err != nil {
			return nil, err
		}
		if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "settings.update", ResourceType: "settings", Before: before, After: after}); err != nil {
			return nil, err
		}
	}
	return owner, auditapi.Record(ctx, tx, auditapi.Entry{Action: "setup.complete", ResourceType: "system"})
}

func (h *handlers) setupStatus(c echo.Context) error {
	done, err := h.gate.isDone(c.Request().Context())
	if err != nil {
		return err
	}
	if done {
		return errSetupDone
	}
	return c.JSON(http.StatusOK, SetupStatus{Needed: true})
}

func (h *handlers) setup(c echo.Context) error {
	// Only the cached flag here: a query through the pool while this request holds its
	// transaction's connection could starve the pool. runSetup checks again under a lock.
	if h.gate.done.Load() {
		return errSetupDone
	}
	var in Setup
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	owner, err := runSetup(ctx, tx, in, h.clock.Now)
	if err != nil {
		return err
	}
	ctx = app.WithPrincipal(ctx, &app.Principal{Kind: app.PrincipalUser, ID: owner.ID, UserID: owner.ID, Name: owner.Username, Owner: true})
	me, err := h.startSession(c, ctx, tx, owner.ID, "local")
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, loginEntry(owner.Username, owner.ID, auditapi.Success, "")); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, SetupDone{User: me.User, CSRFToken: me.CSRFToken})
}

// setupCommand is `mipo setup`, the first-run setup for headless installs.
func setupCommand() *cobra.Command {
	var in Setup
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create the owner account (first-run setup) from the command line, for headless installs",
		Long: "Does what the web UI's setup wizard does: creates the owner, who bypasses every scope check.\n" +
			"It works only while mipo has no users; afterwards it refuses, as the wizard does.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if passwordStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("--password-stdin: reading the password: %w", err)
				}
				in.Password = strings.TrimRight(line, "\r\n")
			}
			if in.Password == "" {
				in.Password = os.Getenv(settingOwnerPassword.Name())
			}
			cfg, err := app.LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			dbs, closeDB, err := app.OpenDatabasesForCLI(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeDB()
			ctx := app.WithPrincipal(cmd.Context(), app.System("cli:setup"))
			var owner *User
			err = app.InTx(ctx, dbs.ConfigDB(), func(ctx context.Context, ch *app.Change) error {
				owner, err = runSetup(ctx, ch.Tx, in, app.SystemClock{}.Now)
				return err
			})
			if err == errSetupDone {
				return fmt.Errorf("setup is complete already: mipo has users")
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "owner %q created; sign in at the web UI\n", owner.Username)
			return nil
		},
	}
	cmd.Flags().StringVar(&in.Username, "username", "", "the owner's username (required)")
	cmd.Flags().StringVar(&in.Password, "password", "", "the owner's password (prefer --password-stdin or MIPO_OWNER_PASSWORD: arguments show in the process list)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	cmd.Flags().StringVar(&in.DisplayName, "display-name", "", "the owner's display name")
	cmd.Flags().StringVar(&in.Email, "email", "", "the owner's email address")
	cmd.Flags().StringVar(&in.PublicFQDN, "fqdn", "", "the public host name mipo is reached at (optional)")
	cmd.MarkFlagRequired("username")
	return cmd
}
