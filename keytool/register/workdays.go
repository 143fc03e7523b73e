package register

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/gb"
)

// The units of a deadline's count, as the procedures' content writes them.
const (
	WorkingDays = "working_days"
	Days        = "days"
	Months      = "months"
)

// regions are the public holidays of each organisation's region (its ISO 3166-2 code in
// config.toml). Weekends are never working days.
//
// BE-VLG is Belgium's ten national public holidays and not the Flemish Community's holiday of
// 11 July: that day is a holiday for Flemish public services, not a legal holiday for other
// employers, and the child contact (Kinderrechtencoalitie) is an association, not a public
// service. Counting 11 July as a working day can only bring a deadline one day earlier, never
// give the staff more time than the procedure promises.
var regions = map[string][]*cal.Holiday{
	"DE-BE":  de.HolidaysBE, // Germany's national holidays and Berlin's (Frauentag, 8 March)
	"GB-ENG": gb.Holidays,   // bank holidays of England and Wales, with their substitute days
	"BE-VLG": be.Holidays,
}

// Regions lists the region codes keytool knows, sorted.
func Regions() []string {
	codes := make([]string, 0, len(regions))
	for code := range regions {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	return codes
}

// calendar is one region's days off that are not weekends, computed once for the years 2000 to
// 2100: cal computes every holiday of the list for each day it is asked about, too slow for a
// register of 100,000 cases. After it is made, a calendar is only read.
type calendar struct {
	holidays []*cal.Holiday
	years    [lastYear - firstYear + 1]yearOff
}

const firstYear, lastYear = 2000, 2100

// yearOff is one year's public holidays on weekdays, by day of the year (1 to 366).
type yearOff struct {
	off  [367]bool
	days []int // the same, in order
}

var (
	calendarsMu sync.Mutex
	calendars   = map[string]*calendar{}
)

func calendarOf(region string) (*calendar, error) {
	calendarsMu.Lock()
	defer calendarsMu.Unlock()
	if c, ok := calendars[region]; ok {
		return c, nil
	}
	hols, ok := regions[region]
	if !ok {
		return nil, fmt.Errorf("no public holidays known for the region %q (keytool knows %s); the region comes from the organisation in the site's config.toml", region, strings.Join(Regions(), ", "))
	}
	c := &calendar{holidays: hols}
	for y := firstYear; y <= lastYear; y++ {
		c.years[y-firstYear] = computeYear(hols, y)
	}
	calendars[region] = c
	return c, nil
}

// computeYear finds the weekdays of year that are public holidays: the day a holiday is
// observed, which for England's bank holidays is the substitute Monday or Tuesday when it falls
// on a weekend.
func computeYear(hols []*cal.Holiday, year int) yearOff {
	var y yearOff
	for _, h := range hols {
		// A holiday of the year before or after may be observed in this one (New Year's Day on a
		// Saturday, observed on Friday 31 December, as cal allows).
		for _, from := range []int{year - 1, year, year + 1} {
			_, obs := h.Calc(from)
			if obs.IsZero() || obs.Year() != year {
				continue
			}
			if wd := obs.Weekday(); wd != time.Saturday && wd != time.Sunday && !y.off[obs.YearDay()] {
				y.off[obs.YearDay()] = true
				y.days = append(y.days, obs.YearDay())
			}
		}
	}
	sort.Ints(y.days)
	return y
}

// year returns a year's days off, computed now for a year outside 2000 to 2100.
func (c *calendar) year(y int) *yearOff {
	if y >= firstYear && y <= lastYear {
		return &c.years[y-firstYear]
	}
	off := computeYear(c.holidays, y)
	return &off
}

func (c *calendar) isWorkday(d time.Time) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !c.year(d.Year()).off[d.YearDay()]
}

// IsWorkday reports whether day is a working day in region: not a Saturday, a Sunday or a
// public holiday.
func IsWorkday(day time.Time, region string) (bool, error) {
	c, err := calendarOf(region)
	if err != nil {
		return false, err
	}
	return c.isWorkday(Day(day)), nil
}

// Day is t's calendar day as a time at 00:00 UTC, the form the register keeps days in.
func Day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Due is the last day of a deadline of count units after from: for working_days the
// count-th working day after from (from itself is not counted), for days the calendar day
// count days later, for months the same day count months later (or the month's last day, when
// that month is shorter).
func Due(from time.Time, count int, unit string, region string) (time.Time, error) {
	from = Day(from)
	if count < 0 {
		return time.Time{}, fmt.Errorf("a deadline of %d %s: the count cannot be negative", count, unit)
	}
	switch unit {
	case WorkingDays:
		c, err := calendarOf(region)
		if err != nil {
			return time.Time{}, err
		}
		d := from
		for n := 0; n < count; {
			d = d.AddDate(0, 0, 1)
			if c.isWorkday(d) {
				n++
			}
		}
		return d, nil
	case Days:
		return from.AddDate(0, 0, count), nil
	case Months:
		first := time.Date(from.Year(), from.Month()+time.Month(count), 1, 0, 0, 0, 0, time.UTC)
		last := first.AddDate(0, 1, -1).Day()
		return time.Date(first.Year(), first.Month(), min(from.Day(), last), 0, 0, 0, 0, time.UTC), nil
	}
	return time.Time{}, fmt.Errorf("unknown deadline unit %q (working_days, days or months)", unit)
}

// WorkdaysBetween counts the working days after a up to and including b, negative when b is
// before a: the days left from today to a due day, or the days a step was late.
func WorkdaysBetween(a, b time.Time, region string) (int, error) {
	c, err := calendarOf(region)
	if err != nil {
		return 0, err
	}
	a, b = Day(a), Day(b)
	sign := 1
	if b.Before(a) {
		a, b, sign = b, a, -1
	}
	n := weekdaysAfter(a, b)
	for y := a.Year(); y <= b.Year(); y++ {
		for _, yd := range c.year(y).days {
			if (y > a.Year() || yd > a.YearDay()) && (y < b.Year() || yd <= b.YearDay()) {
				n--
			}
		}
	}
	return sign * n, nil
}

// weekdaysAfter counts Mondays to Fridays after a up to and including b (a ≤ b).
func weekdaysAfter(a, b time.Time) int {
	days := int(b.Sub(a).Hours()/24 + 0.5)
	n := days / 7 * 5
	wd := a.Weekday()
	for i := 0; i < days%7; i++ {
		wd = (wd + 1) % 7
		if wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return n
}
