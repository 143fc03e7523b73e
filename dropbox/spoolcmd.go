package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/export"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/spool"
)

func newSpoolCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "spool",
		Short: "Move submissions to the staff's offline computer, and delete them once the staff confirm",
		Long: `The submissions leave the server by a removable drive: export copies them onto it, keytool
decrypt on the offline computer writes a signed receipt onto the same drive, and release deletes
from the server exactly what that receipt names. Nothing else ever deletes a submission
(docs/transfer.md).`,
	}
	cmd.AddCommand(newSpoolExportCmd(), newSpoolReleaseCmd())
	return cmd
}

// spoolOptions are the flags the spool commands share with serve.
type spoolOptions struct {
	config      []string
	environment string
	spool       string
}

func (o *spoolOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&o.config, "config", []string{"config.toml"}, "the site and drop box configuration, as for serve")
	f.StringVar(&o.environment, "environment", config.Environment(), "read config/<environment>/params.toml over the config, as for serve")
	f.StringVar(&o.spool, "spool", "", "the folder of the organisations' spool folders, as for serve (default from the config)")
}

func (o *spoolOptions) load() (*config.Config, error) {
	conf, err := config.Load(o.config, o.environment)
	if err != nil {
		return nil, err
	}
	if o.spool != "" {
		if err := conf.SetSpool(o.spool); err != nil {
			return nil, err
		}
	}
	return conf, nil
}

type exportOptions struct {
	spoolOptions
	to   string
	orgs []string
}

func newSpoolExportCmd() *cobra.Command {
	var opts exportOptions
	cmd := &cobra.Command{
		Use:   "export --to DRIVE",
		Short: "Copy every stored submission onto a removable drive, with a manifest",
		Long: `Copy each organisation's stored submissions into DRIVE/<organisation id>/, as <id>.pgp with
the day each arrived as its time, then write DRIVE/<organisation id>/manifest.json: every
submission's id, size and SHA-256. Every file is synced to the drive before the manifest is
written, and the manifest is written whole or not at all, so a manifest on the drive never
names a file the drive does not hold in full, even if the export is stopped midway.

Nothing is deleted from the server. Take the drive to the offline computer and run keytool
decrypt --in DRIVE/<organisation id>; it writes a signed receipt onto the drive; then bring the
drive back and run dropbox spool release. A second export to the same drive copies only what is
new. Run it as the drop box's own user, so that the server can read what it records
(which submissions were exported; those that wait too long are counted in the log).`,
		Example: `  sudo -u complaints complaints-dropbox spool export --config /etc/complaints/config.toml,/etc/complaints/server.toml --to /media/usb
  dropbox spool export --to /media/usb --org kok`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := opts.load()
			if err != nil {
				return err
			}
			return exportSpool(cmd.OutOrStdout(), conf, opts.to, opts.orgs)
		},
	}
	opts.flags(cmd)
	cmd.Flags().StringVar(&opts.to, "to", "", "the drive's folder to copy into (each organisation gets its own folder in it)")
	cmd.Flags().StringSliceVar(&opts.orgs, "org", nil, "export only these organisations (ids, comma-separated; default all)")
	cmd.MarkFlagRequired("to")
	return cmd
}

// exportSpool exports the organisations named (all when none is) to drive.
func exportSpool(w io.Writer, conf *config.Config, drive string, ids []string) error {
	orgs, err := chosen(conf, ids)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if err := sameOwner(o.Spool, "the spool folder", "dropbox spool export ...", "read which submissions were exported"); err != nil {
			return err
		}
	}
	for _, o := range orgs {
		entries, err := spool.List(o.Spool)
		if errors.Is(err, fs.ErrNotExist) {
			entries, err = nil, nil // the drop box has not run yet: nothing arrived
		}
		if err != nil {
			return fmt.Errorf("organisation %s: reading its spool folder: %w", o.ID, err)
		}
		dir := filepath.Join(drive, o.ID)
		m, err := export.Write(dir, o.ID, entries)
		if err != nil {
			return fmt.Errorf("organisation %s: %w; the drive has no manifest for it, so nothing is promised: free the drive or fix it, and export again", o.ID, err)
		}
		if err := export.MarkExported(o.Spool, m); err != nil {
			return fmt.Errorf("organisation %s: the drive holds the export, but recording it on the server failed (%w); the log will count its submissions as not exported until an export records it", o.ID, err)
		}
		var size int64
		for _, f := range m.Submissions {
			size += f.Size
		}
		fmt.Fprintf(w, "%s: %s (%s) in %s, with %s, synced to the drive\n", o.ID, count(len(m.Submissions), "submission"), mib(size), dir, export.ManifestName)
	}
	fmt.Fprintf(w, `
Nothing was deleted from the server. Next:
  1. Unmount the drive (umount) and take it to the offline computer.
  2. There, each organisation's staff run: keytool decrypt --in <drive>/<organisation id> ...
     It writes a receipt, signed with their key, onto the drive.
  3. Bring the drive back and run: dropbox spool release <drive>/<organisation id>
`)
	return nil
}

// chosen is the organisations ids names, or all of them.
func chosen(conf *config.Config, ids []string) ([]*config.Organisation, error) {
	if len(ids) == 0 {
		if len(conf.Organisations) == 0 {
			return nil, errors.New("no organisations are declared in the configuration: nothing to export")
		}
		return conf.Organisations, nil
	}
	var out []*config.Organisation
	for _, id := range ids {
		o := conf.Organisation(id)
		if o == nil {
			return nil, fmt.Errorf("no organisation %q is declared in this configuration (declared: %s)", id, conf.IDs())
		}
		out = append(out, o)
	}
	return out, nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

type releaseOptions struct{ spoolOptions }

func newSpoolReleaseCmd() *cobra.Command {
	var opts releaseOptions
	cmd := &cobra.Command{
		Use:   "release RECEIPT",
		Short: "Delete from the server exactly the submissions a signed receipt names",
		Long: `Delete the submissions the staff confirmed they have. RECEIPT is the receipt keytool decrypt
wrote onto the drive (DRIVE/<organisation id>/receipt.json, or that folder), with its
signature beside it (receipt.json.sig).

The signature must be made by a staff key of the organisation the receipt names, as this
configuration lists them. Then every submission it names that the server still holds must have
the receipt's SHA-256. Only then are those submissions deleted, and no other. A receipt that is
unsigned, signed by another key, changed after signing, cut short, names a submission twice, or
names one whose bytes differ deletes nothing, and the error says why. Submissions it names that
the server no longer holds were released before; they are counted.`,
		Example: `  sudo -u complaints complaints-dropbox spool release --config /etc/complaints/config.toml,/etc/complaints/server.toml /media/usb/kok
  dropbox spool release /media/usb/kok/receipt.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := opts.load()
			if err != nil {
				return err
			}
			return releaseSpool(cmd.OutOrStdout(), conf, args[0])
		},
	}
	opts.flags(cmd)
	return cmd
}

// releaseSpool checks the receipt at path and deletes what it names.
func releaseSpool(w io.Writer, conf *config.Config, path string) error {
	var keys openpgp.EntityList
	type keyOf struct {
		org *config.Organisation
		key *policy.Recipient
	}
	staff := map[string]keyOf{} // by primary key fingerprint
	for _, o := range conf.Organisations {
		rs, err := policy.LoadRecipients(o.Keys)
		if err != nil {
			return fmt.Errorf("organisation %s: %w", o.ID, err)
		}
		for _, r := range rs {
			keys = append(keys, r.Entity)
			staff[r.Fingerprint()] = keyOf{o, r}
		}
	}
	path = export.ReceiptPath(path)
	r, signer, err := export.VerifyReceipt(path, keys)
	if err != nil {
		return fmt.Errorf("%w; nothing was deleted", err)
	}
	by := staff[fmt.Sprintf("%X", signer.PrimaryKey.Fingerprint)]
	o := by.org
	if o.ID != r.Organisation {
		return fmt.Errorf("the receipt names organisation %q but is signed by a staff key of %s (%s); a receipt releases only its signer's organisation's submissions; nothing was deleted", r.Organisation, o.Name, o.ID)
	}
	if err := sameOwner(o.Spool, "the spool folder", "dropbox spool release ...", "keep its spool folder its own"); err != nil {
		return err
	}
	done, err := export.Release(o.Spool, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: deleted %s the receipt names, signed by %s", o.ID, count(len(done.Deleted), "submission"), by.key.Name())
	if len(done.Gone) > 0 {
		fmt.Fprintf(w, "; %d it names were released before", len(done.Gone))
	}
	left, err := spool.List(o.Spool)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, ". The server still holds %s of %s.\n", count(len(left), "submission"), o.ID)
	return nil
}

// count is "1 submission", "2 submissions".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
