-- The first version of the register (docs/register.md): one row per submission in cases, one
-- row per step done in steps. Only ids, procedure slugs, languages, days, option values and
-- outcomes: never names, contact details, free text or codename values.

CREATE TABLE cases (
	-- the submission's receipt id (its spool file's name)
	id TEXT PRIMARY KEY CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),
	organisation TEXT NOT NULL,
	procedure TEXT NOT NULL,
	lang TEXT NOT NULL,
	-- where it was encrypted: the form's script (browser), the drop box (server), or an older
	-- submission that does not say (unknown)
	channel TEXT NOT NULL CHECK (channel IN ('browser', 'server', 'unknown')),
	-- the day it arrived (its spool file's modification day, UTC)
	arrived TEXT NOT NULL CHECK (arrived GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
	-- the option values of the form's fields that decide the case's path, as a JSON object
	choices TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(choices) AND json_type(choices) = 'object'),
	-- for a follow-up sent later with a codename: the first complaint, whose case it belongs to
	followup_of TEXT REFERENCES cases (id),
	closed TEXT CHECK (closed GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
	close_reason TEXT CHECK (close_reason IN ('resolved', 'ended-by-complainant', 'withdrawn', 'not-in-scope')),
	CHECK ((closed IS NULL) = (close_reason IS NULL)),
	CHECK (followup_of IS NULL OR closed IS NULL)
) STRICT;

CREATE INDEX cases_open ON cases (closed, followup_of);
CREATE INDEX cases_followups ON cases (followup_of) WHERE followup_of IS NOT NULL;

CREATE TABLE steps (
	seq INTEGER PRIMARY KEY,
	case_id TEXT NOT NULL REFERENCES cases (id),
	-- a step id of the case's procedure, or follow-up: the person sent more with their codename
	step TEXT NOT NULL CHECK (step <> '' AND step NOT GLOB '*[^a-z0-9-]*'),
	day TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
	result TEXT CHECK (result IN ('upheld', 'not-upheld')),
	-- the command that recorded it: decrypt, case or reply
	recorded_by TEXT NOT NULL CHECK (recorded_by IN ('decrypt', 'case', 'reply')),
	-- for a follow-up the person sent: its own row in cases (NULL for a procedure's step, even
	-- one whose id is follow-up, as the child contact's last step is)
	submission TEXT UNIQUE REFERENCES cases (id),
	CHECK (submission IS NULL OR step = 'follow-up')
) STRICT;

CREATE INDEX steps_of_case ON steps (case_id);

-- A procedure's step is done once; follow-ups come as often as the person writes.
CREATE UNIQUE INDEX steps_once ON steps (case_id, step) WHERE submission IS NULL;
