package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/submission"
)

// The files of a case folder that tie submissions sent with one codename together.
const (
	// followupFile holds a first complaint's followup value (where answers go and how they are
	// encrypted: keytool reply reads it), or an orphan's (only its case).
	followupFile = "followup.json"
	// orphanFile marks a follow-up whose first complaint is not among the cases.
	orphanFile = "FOLLOW-UP-OF-A-CASE-NOT-FOUND-HERE.txt"
	// threadFile lists a first complaint's follow-ups in the order they were filed.
	threadFile   = "thread.txt"
	followupsDir = "followups"
)

// filedRE is the name of a filed follow-up's folder: its number in the thread and its id.
var filedRE = regexp.MustCompile(`^([0-9]{2,})-([0-9a-f]{32})$`)

// caseIndex is what earlier runs filed in CASES, read once at the start of a run.
type caseIndex struct {
	first   map[string]string // case value → id of its first complaint
	orphans map[string]string // id of a follow-up filed alone → its case value
	filed   map[string]string // id of a follow-up filed in a thread → where, for the table
}

// readCases reads the followup.json of every case folder and the follow-ups filed in each.
// A missing CASES folder holds nothing yet.
func readCases(out string) (*caseIndex, error) {
	c := &caseIndex{first: map[string]string{}, orphans: map[string]string{}, filed: map[string]string{}}
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries { // sorted by name: of two first complaints with one case, the same one wins each run
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(out, e.Name(), followupFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		fu, err := answers.ParseFollowup(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w; keytool wrote it, so restore it from a backup or from submission.json's followup value", filepath.Join(out, e.Name(), followupFile), err)
		}
		if !fu.IsFirst() {
			c.orphans[e.Name()] = fu.Case
			continue
		}
		if _, ok := c.first[fu.Case]; !ok {
			c.first[fu.Case] = e.Name()
		}
		filed, err := os.ReadDir(filepath.Join(out, e.Name(), followupsDir))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, f := range filed {
			if m := filedRE.FindStringSubmatch(f.Name()); m != nil {
				c.filed[m[2]] = filepath.Join(e.Name(), followupsDir, f.Name())
			}
		}
	}
	return c, nil
}

// placeCase moves a decrypted submission that is not a follow-up to CASES/<id>/; a first
// complaint gets its followup.json, for keytool reply.
func (c *caseIndex) placeCase(out string, d decrypted) result {
	detail := describe(d.sub)
	if d.followup != nil {
		js, _ := json.MarshalIndent(d.followup, "", "  ")
		if err := writeFile(filepath.Join(d.work, followupFile), append(js, '\n')); err != nil {
			os.RemoveAll(d.work)
			return result{d.id, "failed", err.Error()}
		}
		detail += ", with a codename: keytool reply --case " + d.id + " answers it"
	}
	if d.badValue != nil {
		detail += fmt.Sprintf(", its followup value cannot be read (%v), so it is filed on its own and cannot be answered through the site", d.badValue)
	}
	if err := os.Rename(d.work, filepath.Join(out, d.id)); err != nil {
		os.RemoveAll(d.work)
		return result{d.id, "failed", err.Error()}
	}
	if d.followup != nil {
		if _, ok := c.first[d.followup.Case]; !ok {
			c.first[d.followup.Case] = d.id
		}
	}
	return result{d.id, "decrypted", detail}
}

// placeFollowup files a follow-up into its first complaint's thread, or, when the first
// complaint is not among the cases, into CASES/<id>/ marked as such, so that nothing is lost.
func (c *caseIndex) placeFollowup(out string, d decrypted) result {
	first, ok := c.first[d.followup.Case]
	if !ok {
		js, _ := json.MarshalIndent(d.followup, "", "  ")
		err := writeFile(filepath.Join(d.work, followupFile), append(js, '\n'))
		if err == nil {
			err = writeFile(filepath.Join(d.work, orphanFile), []byte(orphanNote))
		}
		if err == nil {
			err = os.Rename(d.work, filepath.Join(out, d.id))
		}
		if err != nil {
			os.RemoveAll(d.work)
			return result{d.id, "failed", err.Error()}
		}
		c.orphans[d.id] = d.followup.Case
		return result{d.id, "decrypted", "a follow-up of a case not found here, kept in " + d.id + "/ (" + describe(d.sub) + "); decrypt the spool copy that holds its first complaint, and a later run moves it into that case"}
	}
	where, err := fileInThread(out, first, d.id, d.work)
	if err != nil {
		os.RemoveAll(d.work)
		return result{d.id, "failed", err.Error()}
	}
	c.filed[d.id] = where
	return result{d.id, "decrypted", "a follow-up, filed as " + where + " (" + describe(d.sub) + ")"}
}

const orphanNote = `This is a follow-up: it was sent with a codename, later than a first complaint.
That first complaint is not among the case folders here, so it was kept in a folder of its own.
Decrypt the spool copy that holds the first complaint into this same folder of cases: that run
moves this folder into the first complaint's followups/ and lists it in its thread.txt.
`

// adoptOrphans moves each follow-up that an earlier run kept alone into its case, now that its
// first complaint is here, in the order of their ids.
func (c *caseIndex) adoptOrphans(out string) []result {
	ids := make([]string, 0, len(c.orphans))
	for id := range c.orphans {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var results []result
	for _, id := range ids {
		first, ok := c.first[c.orphans[id]]
		if !ok {
			continue
		}
		dir := filepath.Join(out, id)
		// Take the marks off before the move: in the thread they would be wrong. A crash between
		// the two leaves a folder without followup.json, filed on its own like any case: nothing is lost.
		var err error
		for _, name := range []string{orphanFile, followupFile} {
			if e := os.Remove(filepath.Join(dir, name)); e != nil && !errors.Is(e, fs.ErrNotExist) && err == nil {
				err = e
			}
		}
		where := ""
		if err == nil {
			where, err = fileInThread(out, first, id, dir)
		}
		if err != nil {
			results = append(results, result{id, "failed", "moving it into case " + first + ": " + err.Error()})
			continue
		}
		delete(c.orphans, id)
		c.filed[id] = where
		results = append(results, result{id, "moved", "a follow-up kept alone by an earlier run, now filed as " + where})
	}
	return results
}

// fileInThread renames dir to CASES/<first>/followups/<NN>-<id> with the next number and
// rewrites the first complaint's thread.txt. It returns the new place, relative to CASES.
func fileInThread(out, first, id, dir string) (string, error) {
	threadDir := filepath.Join(out, first, followupsDir)
	if err := os.MkdirAll(threadDir, 0o700); err != nil {
		return "", err
	}
	filed, err := threadEntries(threadDir)
	if err != nil {
		return "", err
	}
	next := 1
	if len(filed) > 0 {
		next = filed[len(filed)-1].n + 1
	}
	name := fmt.Sprintf("%02d-%s", next, id)
	if err := os.Rename(dir, filepath.Join(threadDir, name)); err != nil {
		return "", err
	}
	if err := writeThread(out, first); err != nil {
		return "", fmt.Errorf("filed, but %s was not rewritten: %w", threadFile, err)
	}
	return filepath.Join(first, followupsDir, name), nil
}

type threadEntry struct {
	n    int
	name string
}

// threadEntries lists the filed follow-ups by number.
func threadEntries(threadDir string) ([]threadEntry, error) {
	entries, err := os.ReadDir(threadDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var filed []threadEntry
	for _, e := range entries {
		if m := filedRE.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.Atoi(m[1])
			filed = append(filed, threadEntry{n, e.Name()})
		}
	}
	sort.Slice(filed, func(i, j int) bool { return filed[i].n < filed[j].n })
	return filed, nil
}

// writeThread lists a first complaint's follow-ups, from its followups folder, so that it is
// right even after a run that stopped between a move and the list.
func writeThread(out, first string) error {
	filed, err := threadEntries(filepath.Join(out, first, followupsDir))
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Submission %s and what the person sent later with the same codename, in the order\nkeytool filed it (each in followups/, with its own summary.txt):\n\n", first)
	fmt.Fprintf(&b, "    %s    the first complaint (summary.txt)\n", first)
	for _, f := range filed {
		detail := ""
		if raw, err := os.ReadFile(filepath.Join(out, first, followupsDir, f.name, "submission.json")); err == nil {
			var sub submission.Submission
			if json.Unmarshal(raw, &sub) == nil {
				detail = describe(&sub)
			}
		}
		fmt.Fprintf(&b, "    %s    %s\n", filepath.Join(followupsDir, f.name), detail)
	}
	return writeFile(filepath.Join(out, first, threadFile), []byte(b.String()))
}

// describe is a submission's line in the closing table and the thread.
func describe(sub *submission.Submission) string {
	return fmt.Sprintf("%s, %s, %s, %s", printable(sub.Procedure), printable(sub.Lang), count(len(sub.Fields), "field"), count(len(sub.Attachments), "attachment"))
}
