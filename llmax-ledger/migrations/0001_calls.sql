-- One row per call, written once: the primary key is llmax's call id, and
-- the ledger inserts with ON CONFLICT DO NOTHING, so a retried write never
-- counts a call twice. Written in the SQL both SQLite and PostgreSQL take.
-- Amounts are integer pico-dollars (10^-12 USD), as llmax's Usd: sums are exact.
CREATE TABLE IF NOT EXISTS ledger_calls (
    call_id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,                -- when the record was handed to the ledger, ms since the Unix epoch
    day TEXT NOT NULL,                    -- that instant's UTC day, YYYY-MM-DD
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    operation TEXT NOT NULL,
    user_tag TEXT,
    tenant TEXT,
    project TEXT,
    cost_picos BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    audio_ms BIGINT NOT NULL,
    images BIGINT NOT NULL,
    characters BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    succeeded BIGINT NOT NULL             -- 1 or 0
);
-- Budget checks sum a scope's spend over a range of days. Partial indexes:
-- an untagged call costs no index write (each one is a B-tree insert per
-- record). Reports read the whole table, or the calls of one tag.
CREATE INDEX IF NOT EXISTS ledger_calls_user_day ON ledger_calls (user_tag, day) WHERE user_tag IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_calls_tenant_day ON ledger_calls (tenant, day) WHERE tenant IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_calls_project_day ON ledger_calls (project, day) WHERE project IS NOT NULL;

-- A call's estimated maximum cost, held from its gate until its record is
-- written (the same transaction deletes it) or until it expires (a call that
-- never reached the provider brings no record).
CREATE TABLE IF NOT EXISTS ledger_reservations (
    call_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    user_tag TEXT,
    tenant TEXT,
    project TEXT,
    amount_picos BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_reservations_expires ON ledger_reservations (expires_ms);
