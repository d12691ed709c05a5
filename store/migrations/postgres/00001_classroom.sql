-- The classroom's first schema. Times are UTC Unix milliseconds.

-- +goose Up
CREATE TABLE classes (
    id          TEXT    PRIMARY KEY,
    title       TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('scheduled', 'live', 'ended')),
    starts_at   BIGINT  NOT NULL,
    ends_at     BIGINT  NOT NULL,
    started_at  BIGINT,
    ended_at    BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX classes_state_starts ON classes (state, starts_at);
CREATE INDEX classes_starts ON classes (starts_at);

-- Teachers, assistants and, when the class has a roster, its students.
CREATE TABLE class_members (
    class_id  TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    identity  TEXT NOT NULL,
    role      TEXT NOT NULL CHECK (role IN ('teacher', 'assistant', 'student')),
    PRIMARY KEY (class_id, identity)
);
CREATE INDEX class_members_identity ON class_members (identity);

-- Identity ids only grow (in the order inserts ran), so they order messages.
CREATE TABLE chat_messages (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    class_id     TEXT    NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    sender       TEXT    NOT NULL,
    sender_name  TEXT    NOT NULL DEFAULT '',
    body         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    deleted_at   BIGINT,
    deleted_by   TEXT
);
CREATE INDEX chat_messages_class ON chat_messages (class_id, id);

CREATE TABLE attendance_events (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    class_id  TEXT    NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    identity  TEXT    NOT NULL,
    role      TEXT    NOT NULL CHECK (role IN ('teacher', 'assistant', 'student')),
    kind      TEXT    NOT NULL CHECK (kind IN ('join', 'leave')),
    at        BIGINT  NOT NULL
);
CREATE INDEX attendance_events_class ON attendance_events (class_id, at, id);

CREATE TABLE polls (
    id          TEXT    PRIMARY KEY,
    class_id    TEXT    NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    question    TEXT    NOT NULL,
    multiple    BOOLEAN NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    closed_at   BIGINT
);
CREATE INDEX polls_class ON polls (class_id, created_at);

CREATE TABLE poll_options (
    poll_id  TEXT    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    text     TEXT    NOT NULL,
    PRIMARY KEY (poll_id, idx)
);

-- One row per voter: the primary key is what makes a second answer fail.
CREATE TABLE poll_answers (
    poll_id      TEXT    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    identity     TEXT    NOT NULL,
    answered_at  BIGINT  NOT NULL,
    PRIMARY KEY (poll_id, identity)
);

CREATE TABLE poll_answer_choices (
    poll_id     TEXT    NOT NULL,
    identity    TEXT    NOT NULL,
    option_idx  INTEGER NOT NULL,
    PRIMARY KEY (poll_id, identity, option_idx),
    FOREIGN KEY (poll_id, identity) REFERENCES poll_answers (poll_id, identity) ON DELETE CASCADE,
    FOREIGN KEY (poll_id, option_idx) REFERENCES poll_options (poll_id, idx) ON DELETE CASCADE
);
CREATE INDEX poll_answer_choices_option ON poll_answer_choices (poll_id, option_idx);

-- +goose Down
DROP TABLE poll_answer_choices;
DROP TABLE poll_answers;
DROP TABLE poll_options;
DROP TABLE polls;
DROP TABLE attendance_events;
DROP TABLE chat_messages;
DROP TABLE class_members;
DROP TABLE classes;
