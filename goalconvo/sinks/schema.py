"""The corpus schema: tables and views, as numbered migrations applied once each, in order."""

from __future__ import annotations

import duckdb

#: Each entry migrates the schema from version i to i+1; applied in order, once.
MIGRATIONS: tuple[str, ...] = (
    """
    create table dialogues (
        dialogue_id varchar primary key,
        run_id varchar not null,
        set_name varchar not null,
        goal_id varchar not null,
        domains varchar[] not null,
        domain_set varchar not null,
        goal json not null,
        scenario json,
        model varchar not null,
        prompt_version varchar,
        stop_reason varchar,
        exchanges integer not null,
        llm_calls integer,
        prompt_tokens integer,
        completion_tokens integer,
        started_at double,
        ended_at double,
        stored_at double not null
    );
    create table turns (
        dialogue_id varchar not null,
        idx integer not null,
        speaker varchar not null,
        text varchar not null,
        meta json,
        primary key (dialogue_id, idx)
    );
    create table verdicts (
        dialogue_id varchar not null,
        judge_version varchar not null,
        accepted boolean not null,
        scores json,
        judge_model varchar,
        judged_at double,
        primary key (dialogue_id, judge_version)
    );
    create table verdict_checks (
        dialogue_id varchar not null,
        judge_version varchar not null,
        name varchar not null,
        passed boolean not null,
        reason varchar,
        score double,
        primary key (dialogue_id, judge_version, name)
    );
    create table dead_letters (
        dead_letter_id varchar primary key,
        source_topic varchar,
        stage varchar,
        reason varchar,
        error_type varchar,
        key varchar,
        payload varchar,
        run_id varchar,
        goal_id varchar,
        dialogue_id varchar,
        dead_at double
    );
    create table runs (
        run_id varchar primary key,
        started_at double,
        goals integer,
        llm varchar,
        model varchar,
        settings json
    );
    """,
    # 2: the judge's error mark, dialogue sets, goals, similarity scores, metric snapshots.
    """
    alter table verdicts add column judge_error boolean default false;
    create table dialogue_sets (
        set_name varchar primary key,
        kind varchar not null,          -- run | import
        description varchar,
        source varchar,
        created_at double
    );
    create table goals (
        goal_id varchar not null,
        run_id varchar not null,        -- '' for goals published outside a run
        source varchar,
        domains varchar[],
        goal json,
        seen_at double,
        primary key (goal_id, run_id)
    );
    create table similarity (
        dialogue_id varchar not null,
        reference_id varchar,
        reference_set varchar not null,
        f1 double, precision double, recall double,
        model varchar not null,
        layer integer not null,
        rescaled boolean not null,
        candidates integer,
        scored_at double,
        primary key (dialogue_id, reference_set, model, layer)
    );
    create table metric_snapshots (
        computed_at double not null,
        set_name varchar not null,
        group_kind varchar not null,    -- all | domain_set | model | prompt_version
        group_value varchar not null,
        metrics json not null
    );
    create view current_verdicts as
        select * from verdicts
        qualify row_number() over (partition by dialogue_id order by judged_at desc, judge_version desc) = 1;
    """,
    # 3: guided generation: the mode per dialogue; acts, belief state and who phrased each turn.
    """
    alter table dialogues add column mode varchar default 'free';
    alter table turns add column acts json;
    alter table turns add column belief json;
    alter table turns add column phrased_by varchar;
    alter table turns add column refusals json;
    """,
    # 4: the sink's bookkeeping. A dialogue id stored once keeps its first generation whole;
    # later generations of it are listed here (ignored, counted). sink_state holds the
    # file's identity (its consumer group is derived from it) and the sink's probe write.
    """
    create table ignored_generations (
        dialogue_id varchar not null,
        generation varchar not null,    -- fingerprint of the ignored generation's turns and start
        run_id varchar,
        goal_id varchar,
        model varchar,
        started_at double,
        seen_at double not null,
        primary key (dialogue_id, generation)
    );
    create table sink_state (
        key varchar primary key,
        value varchar,
        updated_at double
    );
    insert into sink_state values ('corpus_id', cast(uuid() as varchar), epoch(current_timestamp));
    """,
    # 5: figures kept as dialogues are stored (figures.py, tallies.py): per-dialogue figures, and per cell
    # (set, domain set, model, prompt version, mode, accepted) how many dialogues hold each n-gram.
    # Dialogues stored before are filled in by CorpusStore.migrate (tallies.backfill).
    """
    create table dialogue_figures (
        dialogue_id varchar primary key,
        utterances integer not null,
        words integer not null,
        ngrams1 integer not null,
        unique1 integer not null,       -- distinct unigrams within the dialogue
        ngrams2 integer not null,
        unique2 integer not null,
        llm_turns integer not null,     -- turns phrased by the LLM (guided mode)
        template_turns integer not null
    );
    create table ngram_cells (
        cell_id integer primary key,
        set_name varchar not null,
        domain_set varchar not null,
        model varchar not null,
        prompt_version varchar not null,
        mode varchar not null,
        accepted boolean not null
    );
    create table ngram_counts (
        cell_id integer not null,
        n tinyint not null,
        h ubigint not null,             -- md5_number_lower of the n-gram's tokens joined by a space
        dialogues integer not null,     -- the cell's dialogues that hold it
        primary key (cell_id, n, h)
    );
    """,
    # 6: the groups the dashboard and snapshots read (each set whole, each domain set; all dialogues or the
    # accepted ones) keep their own n-gram keys and, beside them, their distinct counts: reading those is
    # O(groups). The figures are filled in again for every dialogue (tallies.backfill).
    """
    create table ngram_groups (
        group_id integer primary key,
        set_name varchar not null,
        kind varchar not null,          -- set | domain_set
        value varchar not null,         -- 'all' for kind set
        accepted_only boolean not null,
        distinct1 bigint not null,
        distinct2 bigint not null
    );
    create table ngram_group_keys (
        group_id integer not null,
        n tinyint not null,
        h ubigint not null,
        dialogues integer not null,     -- the group's dialogues that hold it
        last_delta integer not null,    -- the last change (tells a write which keys it added or removed)
        primary key (group_id, n, h)
    );
    delete from dialogue_figures;
    delete from ngram_cells;
    drop table ngram_counts;            -- keyed by md5_number_lower (ubigint) from now on
    create table ngram_counts (
        cell_id integer not null,
        n tinyint not null,
        h ubigint not null,
        dialogues integer not null,
        primary key (cell_id, n, h)
    );
    """,
    # 7: figures are sums per cell (cell_sums; every grouping's figures are SQL over a few hundred cells), the
    # rejection reasons a tally per set (check_failures), and each dialogue's figures row names its cell (its
    # BERTScore is grouped through it). The set and domain-set groups count every dialogue, so they only gain keys:
    # no per-key counts, and no accepted-only groups (those count distinct keys over their cells). Filled in
    # again for every dialogue (tallies.backfill).
    """
    drop table ngram_group_keys;
    drop table ngram_groups;
    create table ngram_groups (
        group_id integer primary key,
        set_name varchar not null,
        kind varchar not null,          -- set | domain_set
        value varchar not null,         -- 'all' for kind set
        distinct1 bigint not null,
        distinct2 bigint not null
    );
    create table ngram_group_keys (
        group_id integer not null,
        n tinyint not null,
        h ubigint not null,
        primary key (group_id, n, h)
    );
    create table cell_sums (
        cell_id integer primary key,
        dialogues bigint not null,
        judge_errors bigint not null,
        goal_completion double not null,
        exchanges bigint not null,
        tokens bigint not null,         -- prompt + completion tokens, of dialogues that report them
        tokens_n bigint not null,
        seconds double not null,        -- generation time, of dialogues that report it
        seconds_n bigint not null,
        llm_calls bigint not null,
        tokens_all bigint not null,
        ngrams1 bigint not null,
        ngrams2 bigint not null,
        ratio1 double not null,         -- sum of per-dialogue distinct-1 (dialogues with utterances)
        ratio2 double not null,
        ratios_n bigint not null,
        llm_turns bigint not null,
        template_turns bigint not null
    );
    create table check_failures (
        set_name varchar not null,
        name varchar not null,
        failures bigint not null,
        primary key (set_name, name)
    );
    drop table dialogue_figures;
    create table dialogue_figures (
        dialogue_id varchar primary key,
        utterances integer not null,
        words integer not null,
        ngrams1 integer not null,
        unique1 integer not null,       -- distinct unigrams within the dialogue
        ngrams2 integer not null,
        unique2 integer not null,
        llm_turns integer not null,     -- turns phrased by the LLM (guided mode)
        template_turns integer not null,
        cell_id integer not null        -- the dialogue's cell under its current verdict
    );
    delete from ngram_counts;
    delete from ngram_cells;
    """,
    # 8: readers' ratings of reading sheets (``goalconvo assess score``), one row per reader and sheet item. A
    # generated dialogue is named by its dialogue id and set; a human one by the reference file's name (set_name)
    # and its id in that file. ``metrics`` reads reader figures per set from here; ``sets delete`` removes them.
    """
    create table ratings (
        sheet_id varchar not null,
        reader varchar not null,
        item integer not null,
        source varchar not null,        -- generated | human
        dialogue_id varchar not null,
        set_name varchar not null,
        domain_set varchar not null,
        coherence tinyint not null,     -- 1-5
        fluency tinyint not null,
        naturalness tinyint not null,   -- the rating's "natural"
        roles_broken boolean not null,
        roles_turns integer[] not null, -- sheet turn numbers
        facts_broken boolean not null,
        facts_turns integer[] not null,
        goal boolean not null,
        keep boolean not null,
        why varchar,
        judge_accepted boolean,         -- the judge's verdict when the sheet was made (generated only)
        file_name varchar,              -- the reader's ratings file, as given
        file_sha256 varchar,
        stored_at double not null,
        primary key (sheet_id, reader, item)
    );
    """,
    # 9: each dialogue names the domain pack its goal came from ('' for a MultiWOZ goal that names none), and
    # the cells are keyed by it too, so ``metrics --by pack`` keeps packs apart. The figures are filled in
    # again for every dialogue (tallies.backfill).
    """
    alter table dialogues add column pack varchar default '';
    update dialogues set pack = coalesce(json_extract_string(goal, '$.pack'), '');
    delete from dialogue_figures;
    delete from cell_sums;
    delete from check_failures;
    delete from ngram_counts;
    delete from ngram_group_keys;
    delete from ngram_groups;
    drop table ngram_cells;
    create table ngram_cells (
        cell_id integer primary key,
        set_name varchar not null,
        domain_set varchar not null,
        model varchar not null,
        prompt_version varchar not null,
        mode varchar not null,
        pack varchar not null,
        accepted boolean not null
    );
    """,
)


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring ``con``'s schema to the latest version; each migration in its own transaction."""
    con.execute("create table if not exists schema_version (version integer)")
    row = con.execute("select max(version) from schema_version").fetchone()
    current = row[0] or 0
    for i, sql in enumerate(MIGRATIONS[current:], start=current + 1):
        con.execute("begin")
        con.execute(sql)
        con.execute("insert into schema_version values (?)", [i])
        con.execute("commit")
