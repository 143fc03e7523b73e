// Command dropbox serves the information site and receives encrypted submissions: it stores only
// OpenPGP messages encrypted to exactly the configured staff keys, durably, and never decrypts a
// submission. It keeps the staff's answers, encrypted with a passphrase only the person's codename
// gives; it opens one only in memory, for a person whose browser runs no JavaScript and who sent
// the codename to read it (docs/answers.md).
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

	"github.com/safe-complaints/dropbox/internal/buildinfo"
	"github.com/safe-complaints/dropbox/internal/config"
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
		Use:   "dropbox",
		Short: "Serve the complaints site and receive encrypted submissions",
		// dropbox --version: which commit and Go built it, to match it to a release (README).
		Version:       buildinfo.Version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.AddCommand(newServeCmd(), newRepliesCmd(), newSpoolCmd())
	return root
}

type serveOptions struct {
	config      []string
	environment string
	listen      string
	spool       string
	siteDir     string
}

func newServeCmd() *cobra.Command {
	var opts serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the site and the submission endpoint",
		Long: `Serve the built site and each organisation's submissions:
POST /api/v1/orgs/<id>/submissions (ciphertext made in the browser) and
POST /api/v1/orgs/<id>/forms/<lang>/<procedure> (a form sent without JavaScript), and the
answers staff wrote (dropbox replies import): POST /api/v1/orgs/<id>/answers and
/api/v1/orgs/<id>/answers/delete, with the codename's token in the body (docs/answers.md).
Answers older than answer_retention are deleted at start and every hour.

The settings come from config.toml, the same file the site is built from: [params.dropbox] and
one [params.organisations.<id>] table per organisation, with its staff keys. So the keys each
form encrypts to and the keys the server accepts for that organisation are the same, and the
server refuses to start when the built site says otherwise. As with Hugo, more files may follow
the first, each overriding the one before (--config config.toml,local.toml), and
config/<environment>/params.toml, when present, overrides them. Flags override all.`,
		Example: `  dropbox serve
  dropbox serve --config /etc/complaints/config.toml
  dropbox serve --config config.toml,/etc/complaints/keys.toml --listen 127.0.0.1:9000 --spool /srv/spool`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.config, "config", []string{"config.toml"}, "the site and drop box configuration; more files, comma-separated, override the first as in hugo --config")
	f.StringVar(&opts.environment, "environment", config.Environment(), "read config/<environment>/params.toml over the config, as hugo --environment does (default $HUGO_ENVIRONMENT)")
	f.StringVar(&opts.listen, "listen", "", "address to listen on (default from the config)")
	f.StringVar(&opts.spool, "spool", "", "the folder of the organisations' spool folders (default from the config)")
	f.StringVar(&opts.siteDir, "site", "", "serve the site built in this folder instead of the one built into the binary (for development and tests)")
	return cmd
}

func runServe(ctx context.Context, opts serveOptions) error {
	conf, err := config.Load(opts.config, opts.environment)
	if err != nil {
		return err
	}
	if opts.listen != "" {
		conf.Dropbox.Listen = opts.listen
	}
	if opts.spool != "" {
		if err := conf.SetSpool(opts.spool); err != nil {
			return err
		}
	}
	cfg := conf.Dropbox
	orgs, err := openOrganisations(conf)
	if err != nil {
		return err
	}
	files := site.Files()
	if opts.siteDir != "" {
		files = os.DirFS(opts.siteDir)
	}
	if err := checkSiteKeys(files, orgs); err != nil {
		return err
	}
	if _, err := loadAnswerPages(files); err != nil {
		return err
	}
	if err := checkFormPages(files); err != nil {
		return err
	}
	log := newLogger(os.Stderr)
	if len(orgs) == 0 {
		log.Warn("no organisations are declared in the configuration: the site is served, and no submissions are accepted")
	}
	if _, err := fs.Stat(files, "index.html"); err != nil {
		log.Warn("no site to serve: run `make site` and build again; only the API is served")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("%w (is another drop box running? choose another address with --listen)", err)
	}
	s := newServer(conf, orgs, files, log)
	setMemoryLimit(cfg, s, log)
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
	for _, o := range orgs {
		for _, r := range o.recipients {
			log.Info("staff key", "organisation", o.ID, "fingerprint", r.Fingerprint(), "file", r.Path)
		}
		log.Info("organisation", "id", o.ID, "path", "/api/v1/orgs/"+o.ID+"/", "spool", o.spool.Dir(), "answers", o.answers)
	}
	log.Info("listening", "address", ln.Addr().String())
	stopJournal := make(chan struct{})
	journalDone := make(chan struct{})
	go func() { s.journal.every(log, cfg.LogInterval.Duration, stopJournal); close(journalDone) }()
	defer func() { close(stopJournal); <-journalDone }()
	// Answers older than answer_retention go at start and every hour (answers.go).
	stopSweep := make(chan struct{})
	sweepDone := make(chan struct{})
	go func() { s.sweepEvery(time.Hour, stopSweep); close(sweepDone) }()
	defer func() { close(stopSweep); <-sweepDone }()

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

// shutdown stops taking connections and lets uploads in flight finish for at most grace. Then it
// cuts the reads of those still arriving: a cut upload fails its read, so it is neither stored
// nor acknowledged. Those that had arrived whole are stored and answered; it waits for them (and
// for the cut ones to clear their half-written files) a bounded time, then closes the rest.
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
	log.Warn("shutting down: cutting the uploads still arriving; they are not stored")
	s.cutReads()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
		// The handlers have ended; net/http still writes their answers out. A second Shutdown
		// waits for that (the listeners are gone already), then Close ends what is left.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	case <-time.After(afterCut):
		log.Warn("shutting down: some requests did not end; a restart clears what they left in the spool")
	}
	srv.Close()
	return nil
}

// afterCut is how long shutdown waits for requests to end once their reads are cut: enough to
// encrypt and sync what has arrived whole.
const afterCut = 30 * time.Second

// setMemoryLimit gives the collector a soft limit, unless GOMEMLIMIT sets one: the plaintext
// blocks of forms sent without JavaScript (made as they are needed, then reused), plus room for
// everything else at full load. Without it, the collector lets garbage grow to twice the live
// heap, which is mostly those blocks: waves of large forms would take twice the memory they need.
func setMemoryLimit(cfg config.Dropbox, s *server, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	base := 8<<20 + int64(cfg.MaxUploads)*256<<10 + waitingBudget(cfg)
	s.plain.grown = func(allocated int64) { debug.SetMemoryLimit(base + allocated) }
	debug.SetMemoryLimit(base)
	log.Info("memory limit", "mib_before_form_blocks", base>>20)
}
