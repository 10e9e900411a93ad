-- Sessions that build or read TIMESTAMPTZ columns work in UTC: a TIMESTAMP cast to
-- TIMESTAMPTZ, and hour()/year()/date_trunc() of one, then never follow the host's zone.
SET TimeZone = 'UTC';
