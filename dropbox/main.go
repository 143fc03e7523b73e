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
	"runtime/debug"
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
	log := newLogger(os.Stderr)
	if _, err := fs.Stat(files, "index.html"); err != nil {
		log.Warn("no site to serve: run `make site` and build again; only the API is served")
	}
	setMemoryLimit(cfg, log)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("%w (is another drop box running? choose another address with --listen)", err)
	}
	s := newServer(cfg, recipients, sp, files, log)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// Everything but an upload is quick; uploads set their own deadlines (upload.go).
		ReadTimeout:    60 * time.Second,
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       serverErrorLog(&s.journal),
	}
	for _, r := range recipients {
		log.Info("recipient", "fingerprint", r.Fingerprint(), "file", r.Path)
	}
	log.Info("listening", "address", ln.Addr().String(), "spool", cfg.Spool)
	stopJournal := make(chan struct{})
	journalDone := make(chan struct{})
	go func() { s.journal.every(log, cfg.LogInterval.Duration, stopJournal); close(journalDone) }()
	defer func() { close(stopJournal); <-journalDone }()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return shutdown(srv, s, cfg.ShutdownGrace.Duration, log)
}

// shutdown stops taking connections, lets uploads in flight finish for at most grace, then cuts
// the rest: a cut upload fails its read, so it is neither stored nor acknowledged. It waits a
// little for the cut handlers to clear their half-written files.
func shutdown(srv *http.Server, s *server, grace time.Duration, log *slog.Logger) error {
	log.Info("shutting down: finishing uploads in progress", "grace_seconds", int(grace.Seconds()))
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Warn("shutting down: cutting the uploads still in progress; they are not stored")
	srv.Close()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		log.Warn("shutting down: some requests did not end; a restart clears what they left in the spool")
	}
	return nil
}

// setMemoryLimit gives the collector a soft limit, unless GOMEMLIMIT sets one: the plaintext of
// max_plain_forms forms, plus room for everything else. Without it, the collector lets garbage
// grow to twice the live heap, and waves of large forms would take twice the memory they need.
func setMemoryLimit(cfg Config, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(cfg.MaxPlainForms)*(cfg.BodyLimit+window) + 16<<20
	debug.SetMemoryLimit(limit)
	log.Info("memory limit", "mib", limit>>20)
}
