package register

// A stand-in for github.com/safe-complaints/dropbox/site/rules while it is being built: the
// same types, to be replaced by an import.

// Procedure is one procedure's rules.
type Procedure struct {
	Slug, Organisation, Region, Audience string
	Steps                                []Step
	Choices                              map[string]map[string][]string
}

// Step is a step of a procedure.
type Step struct {
	ID, Stage, Title string
	Deadline         *Deadline
	If               *Condition
}

// Deadline is a step's deadline.
type Deadline struct {
	Count          int
	Unit, From, By string
	Guideline      bool
}

// Condition is a form's choice.
type Condition struct{ Field, Value string }
