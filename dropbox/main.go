// Command dropbox serves the information site and receives encrypted submissions: it stores only
// OpenPGP messages encrypted to exactly the configured staff keys, durably, and never decrypts.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/spool"
	"github.com/safe-complaints/dropbox/site"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "dropbox: error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "dropbox",
		Short:         "Serve the complaints site and receive encrypted submissions",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd())
	return root
}

type serveOptions struct {
	config      string
	environment string
	listen      string
	spool       string
	recipients  []string
	siteDir     string
}

func newServeCmd() *cobra.Command {
	var opts serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the site and the submission endpoint",
		Long: `Serve the built site and POST /api/v1/submissions.

The settings come from [params.dropbox] in config.toml, the same file the site is built from,
so the keys the forms encrypt to and the keys the server accepts are the same. As with Hugo,
config/<environment>/params.toml, when present, overrides it ([dropbox] table). Flags override
both; --recipient replaces the configured list and may be repeated.`,
		Example: `  dropbox serve
  dropbox serve --config /etc/complaints/config.toml
  dropbox serve --listen 127.0.0.1:9000 --spool /srv/spool --recipient staff/ana.pub.asc --recipient staff/ben.pub.asc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.config, "config", "config.toml", "the site and drop box configuration")
	f.StringVar(&opts.environment, "environment", environment(), "read config/<environment>/params.toml over the config, as hugo --environment does (default $HUGO_ENVIRONMENT)")
	f.StringVar(&opts.listen, "listen", "", "address to listen on (default from the config)")
	f.StringVar(&opts.spool, "spool", "", "folder for accepted submissions (default from the config)")
	f.StringArrayVar(&opts.recipients, "recipient", nil, "a staff public key file; repeat for each (replaces the configured list)")
	f.StringVar(&opts.siteDir, "site", "", "serve the site built in this folder instead of the one built into the binary (for development and tests)")
	return cmd
}

// environment is Hugo's: the site and the server must be built and run for the same one.
func environment() string {
	if env := os.Getenv("HUGO_ENVIRONMENT"); env != "" {
		return env
	}
	return "production"
}

func runServe(ctx context.Context, opts serveOptions) error {
	cfg, err := loadConfig(opts.config, opts.environment)
	if err != nil {
		return err
	}
	if opts.listen != "" {
		cfg.Listen = opts.listen
	}
	if opts.spool != "" {
		cfg.Spool = opts.spool
	}
	if len(opts.recipients) > 0 {
		cfg.Recipients = opts.recipients
	}
	recipients, err := policy.LoadRecipients(cfg.Recipients)
	if err != nil {
		return err
	}
	files := site.Files()
	if opts.siteDir != "" {
		files = os.DirFS(opts.siteDir)
	}
	if err := checkSiteKeys(files, recipients); err != nil {
		return err
	}
	sp, err := spool.Open(cfg.Spool, cfg.SpoolQuota)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if _, err := fs.Stat(files, "index.html"); err != nil {
		log.Warn("no site to serve: run `make site` and build again; only the API is served")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	e := newServer(cfg, recipients, sp, files, log)
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		// Everything but an upload is quick; uploads extend both deadlines for themselves
		// (body_timeout), through http.ResponseController.
		ReadTimeout:    60 * time.Second,
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       serverErrorLog(log),
	}
	for _, r := range recipients {
		log.Info("recipient", "fingerprint", r.Fingerprint(), "file", r.Path)
	}
	log.Info("listening", "address", ln.Addr().String(), "spool", cfg.Spool)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing uploads in progress")
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.BodyTimeout.Duration)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
