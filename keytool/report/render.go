package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// Why figures are missing, in the words of every file.
const (
	whySmall = `A count below 5 (other than 0) is shown as "fewer than 5", and a share or a median of fewer than 5 cases is not shown, nor a share that would give a small count away, so that nobody can be recognised.`
	whyMore  = `Where such a count could be worked out from the others (a total less the rest), one more figure is not shown either.`
	noPerson = `The report holds no personal data and no free text from any complaint: only counts, shares and durations.`
)

// text is a figure as the page and the summary say it.
func (fig figure) text() string {
	switch fig.State {
	case small:
		return "fewer than 5"
	case hidden:
		return "not shown"
	case none:
		return "none due"
	}
	switch fig.Kind {
	case share:
		return fmt.Sprintf("%.0f%%", fig.Value)
	case median:
		return strconv.FormatFloat(fig.Value, 'f', -1, 64)
	}
	return strconv.Itoa(fig.Count)
}

// csvValue is a figure as the CSV gives it.
func (fig figure) csvValue() string {
	switch fig.State {
	case small:
		return "<5"
	case hidden:
		return "not-shown"
	case none:
		return ""
	}
	switch fig.Kind {
	case share, median:
		return strconv.FormatFloat(fig.Value, 'f', -1, 64)
	}
	return strconv.Itoa(fig.Count)
}

func (f *figures) csv() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"section", "procedure", "key", "value"})
	for _, fig := range f.list {
		w.Write([]string{fig.Section, fig.Procedure, fig.Key, fig.csvValue()})
	}
	w.Flush()
	return b.Bytes()
}

// Labels for the keys of the sections.
var (
	channelLabels = map[string]string{
		"browser": "form with JavaScript (encrypted in the browser)",
		"server":  "form without JavaScript (encrypted by the drop box)",
		"unknown": "not recorded",
	}
	contactLabels = map[string]string{"yes": "wanted contact", "no": "did not want contact", "not-recorded": "not recorded"}
	outcomeLabels = map[string]string{
		"open": "still open", "upheld": "upheld", "not-upheld": "not upheld", "resolved": "resolved",
		"ended-by-complainant": "ended by the person", "withdrawn": "withdrawn", "not-in-scope": "not in scope",
		"other": "other",
	}
	unitLabels = map[string]string{"working_days": "working days", "days": "days", "months": "months"}
)

func procedureLabel(p string) string {
	switch p {
	case allProcedures:
		return "all procedures"
	case otherProcedures:
		return "other (not among keytool's procedures)"
	}
	return p
}

// cell is one cell of a table on the page.
type cell struct {
	Text  string
	Class string
}

func figureCell(fig figure) cell {
	class := "n"
	switch fig.State {
	case small:
		class += " small"
	case hidden, none:
		class += " hidden"
	}
	return cell{fig.text(), class}
}

type row struct {
	Label string
	Cells []cell
}

type table struct {
	Head []string
	Rows []row
}

// grid is a section as a table: a row per procedure and a column per key, or the other way.
func (f *figures) grid(section string, procedures, keys []string, label map[string]string, keysAsRows bool) table {
	var t table
	if keysAsRows {
		t.Head = append(t.Head, "")
		for _, p := range procedures {
			t.Head = append(t.Head, procedureLabel(p))
		}
		for _, k := range keys {
			r := row{Label: label[k]}
			for _, p := range procedures {
				r.Cells = append(r.Cells, figureCell(f.get(section, p, k)))
			}
			t.Rows = append(t.Rows, r)
		}
		return t
	}
	t.Head = append(t.Head, "procedure")
	for _, k := range keys {
		t.Head = append(t.Head, label[k])
	}
	for _, p := range procedures {
		r := row{Label: procedureLabel(p)}
		for _, k := range keys {
			r.Cells = append(r.Cells, figureCell(f.get(section, p, k)))
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

type deadlineRow struct {
	Procedure, Step, Title, Rule string
	Due, Met, Median             cell
}

type page struct {
	Year                                 int
	Made                                 string
	WhySmall, WhyMore, NoPerson          string
	Total                                cell
	Complaints, Months, Channels         table
	Contact, Outcomes, Appeals           table
	Deadlines                            []deadlineRow
	ProcedureChart, MonthChart, OutChart template.HTML
}

// ruleText is a deadline as the rules give it, such as "3 working days from arrival".
func ruleText(count int, unit, from string, guideline bool) string {
	s := fmt.Sprintf("%d %s from %s", count, unitLabels[unit], strings.ReplaceAll(from, "-", " "))
	if guideline {
		s += " (a guideline)"
	}
	return s
}

func (f *figures) html() ([]byte, error) {
	withAll := append([]string{allProcedures}, f.procedures...)
	var months []string
	monthNames := map[string]string{}
	for m := time.January; m <= time.December; m++ {
		k := monthKey(f.year, m)
		months = append(months, k)
		monthNames[k] = m.String()
	}
	pg := page{
		Year: f.year, Made: f.now.UTC().Format("2 January 2006"),
		WhySmall: whySmall, WhyMore: whyMore, NoPerson: noPerson,
		Total:    figureCell(f.get(secComplaints, allProcedures, "total")),
		Months:   f.grid(secMonth, withAll, months, monthNames, true),
		Channels: f.grid(secChannel, withAll, channels, channelLabels, false),
		Contact:  f.grid(secContact, f.asking, contactValues, contactLabels, false),
		Outcomes: f.grid(secOutcome, withAll, outcomes, outcomeLabels, true),
	}
	pg.Complaints = f.grid(secComplaints, withAll, []string{"total"}, map[string]string{"total": "complaints"}, false)
	var appealing []string
	for _, fig := range f.list {
		if fig.Section == secAppeals {
			appealing = append(appealing, fig.Procedure)
		}
	}
	pg.Appeals = f.grid(secAppeals, appealing, []string{"appealed"}, map[string]string{"appealed": "appeals"}, false)
	for _, d := range f.deadlines {
		p, id := d.procedure.Slug, d.step.ID
		dl := d.step.Deadline
		pg.Deadlines = append(pg.Deadlines, deadlineRow{
			Procedure: p, Step: id, Title: d.step.Title,
			Rule:   ruleText(dl.Count, dl.Unit, dl.From, dl.Guideline),
			Due:    figureCell(f.get(secDeadline, p, id+"/due")),
			Met:    figureCell(f.get(secDeadline, p, id+"/met-percent")),
			Median: figureCell(f.get(secDeadline, p, id+"/median-working-days")),
		})
	}

	var err error
	var bars []bar
	for _, p := range f.procedures {
		bars = append(bars, bar{p, f.get(secComplaints, p, "total")})
	}
	if pg.ProcedureChart, err = barChart("Complaints per procedure", bars, true); err != nil {
		return nil, err
	}
	bars = nil
	for _, k := range months {
		bars = append(bars, bar{monthNames[k][:3], f.get(secMonth, allProcedures, k)})
	}
	if pg.MonthChart, err = barChart("Complaints per month", bars, false); err != nil {
		return nil, err
	}
	bars = nil
	for _, k := range outcomes {
		bars = append(bars, bar{outcomeLabels[k], f.get(secOutcome, allProcedures, k)})
	}
	if pg.OutChart, err = barChart("Outcomes", bars, true); err != nil {
		return nil, err
	}

	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, pg); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var pageTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Complaints in {{.Year}}: the yearly anonymised report</title>
<style>
body { font-family: 'Liberation Sans', Arial, Helvetica, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #111; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
thead th { background: #f1f1f1; }
td.n { text-align: right; white-space: nowrap; }
td.small, td.hidden { color: #555; font-style: italic; }
.note { background: #f6f6f0; border-left: 4px solid #999; padding: 0.6rem 1rem; }
figure { margin: 1rem 0; } figcaption { font-size: 0.9rem; color: #444; }
svg { max-width: 100%; height: auto; }
@media print { h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
</style>
</head>
<body>
<h1>Complaints in {{.Year}}: the yearly anonymised report</h1>
<p>Complaints that arrived from January to December {{.Year}}, from the staff's case register. Made on {{.Made}}.</p>
<p class="note">{{.NoPerson}} {{.WhySmall}} {{.WhyMore}} A count of 0 is shown as 0.</p>

<h2>Complaints per procedure</h2>
<p>In all: {{.Total.Text}}.</p>
{{template "table" .Complaints}}
<figure>{{.ProcedureChart}}
<figcaption>Complaints per procedure. A procedure with fewer than 5 has no bar and is marked &lt;5; one marked – is not shown.</figcaption></figure>

<h2>Complaints per month</h2>
<figure>{{.MonthChart}}
<figcaption>Complaints per month, all procedures. A month with fewer than 5 has no bar and is marked &lt;5; one marked – is not shown.</figcaption></figure>
{{template "table" .Months}}

<h2>How they were sent</h2>
{{template "table" .Channels}}

{{if .Contact.Rows}}<h2>Contact wanted</h2>
<p>Where the form asks whether the person wants to be contacted.</p>
{{template "table" .Contact}}
{{end}}
<h2>Outcomes</h2>
<figure>{{.OutChart}}
<figcaption>Outcomes, all procedures. An outcome with fewer than 5 has no bar and is marked &lt;5; one marked – is not shown.</figcaption></figure>
{{template "table" .Outcomes}}

{{if .Appeals.Rows}}<h2>Appeals</h2>
{{template "table" .Appeals}}
{{end}}
<h2>Deadlines kept by the staff</h2>
<p>Each promise of the procedures with a deadline for the staff: how many were due (done, or the deadline passed), the share done in time, and the median number of working days the step took.</p>
<table>
<thead><tr><th>procedure</th><th>step</th><th>deadline</th><th>due</th><th>met in time</th><th>median working days</th></tr></thead>
<tbody>
{{range .Deadlines}}<tr><td>{{.Procedure}}</td><td>{{.Title}} ({{.Step}})</td><td><span class="rule">{{.Rule}}</span></td><td class="{{.Due.Class}}">{{.Due.Text}}</td><td class="{{.Met.Class}}">{{.Met.Text}}</td><td class="{{.Median.Class}}">{{.Median.Text}}</td></tr>
{{end}}</tbody>
</table>
</body>
</html>
{{define "table"}}<table>
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><th>{{.Label}}</th>{{range .Cells}}<td class="{{.Class}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>{{end}}
`))

// summary is the report in a few lines of plain text.
func (f *figures) summary() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Complaints in %d: the yearly anonymised report (made on %s)\n\n", f.year, f.now.UTC().Format("2 January 2006"))
	list := func(section, procedure string, keys []string, label map[string]string) string {
		var parts []string
		for _, k := range keys {
			parts = append(parts, label[k]+" "+f.get(section, procedure, k).text())
		}
		return strings.Join(parts, ", ")
	}
	var perProcedure []string
	for _, p := range f.procedures {
		perProcedure = append(perProcedure, procedureLabel(p)+" "+f.get(secComplaints, p, "total").text())
	}
	fmt.Fprintf(&b, "Complaints: %s (%s).\n", f.get(secComplaints, allProcedures, "total").text(), strings.Join(perProcedure, ", "))
	var months []string
	monthNames := map[string]string{}
	for m := time.January; m <= time.December; m++ {
		months = append(months, monthKey(f.year, m))
		monthNames[monthKey(f.year, m)] = m.String()
	}
	fmt.Fprintf(&b, "Per month: %s.\n", list(secMonth, allProcedures, months, monthNames))
	fmt.Fprintf(&b, "Sent: %s.\n", list(secChannel, allProcedures, channels, map[string]string{"browser": "with JavaScript", "server": "without JavaScript", "unknown": "not recorded"}))
	for _, p := range f.asking {
		fmt.Fprintf(&b, "Contact (%s): %s.\n", p, list(secContact, p, contactValues, contactLabels))
	}
	fmt.Fprintf(&b, "Outcomes: %s.\n", list(secOutcome, allProcedures, outcomes, outcomeLabels))
	var appeals []string
	for _, fig := range f.list {
		if fig.Section == secAppeals && fig.Procedure != allProcedures {
			appeals = append(appeals, fig.Procedure+" "+fig.text())
		}
	}
	if len(appeals) > 0 {
		fmt.Fprintf(&b, "Appeals: %s.\n", strings.Join(appeals, ", "))
	}
	if len(f.deadlines) > 0 {
		b.WriteString("Deadlines kept by the staff:\n")
		for _, d := range f.deadlines {
			p, id := d.procedure.Slug, d.step.ID
			fmt.Fprintf(&b, "  %s, %s: due %s; met in time %s; median working days %s.\n", p, id,
				f.get(secDeadline, p, id+"/due").text(),
				f.get(secDeadline, p, id+"/met-percent").text(),
				f.get(secDeadline, p, id+"/median-working-days").text())
		}
	}
	fmt.Fprintf(&b, "\n%s %s %s\n", noPerson, whySmall, whyMore)
	return []byte(b.String())
}
