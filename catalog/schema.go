package catalog

// The catalog's tables live in the store's index (backing.EnsureSchema), so
// that what the catalog derived commits in the same transaction that
// clears the changes it derived it from.
var migrations = []string{
	`
CREATE TABLE cat_pipelines (
	dataset      TEXT NOT NULL,
	pid          TEXT NOT NULL,      -- folder name: NNNN_[name_]hash
	number       INTEGER NOT NULL,
	name         TEXT NOT NULL,
	hash         TEXT NOT NULL,
	dir_ino      INTEGER,            -- the folder's node; NULL once the folder is gone
	deleted_ns   INTEGER,            -- when the folder was removed; NULL while it exists
	status       TEXT NOT NULL,      -- ok | failed | incomplete
	task_type    TEXT NOT NULL DEFAULT '',
	model        TEXT NOT NULL DEFAULT '',
	model_class  TEXT NOT NULL DEFAULT '',
	preprocessing TEXT NOT NULL DEFAULT '',
	config_name  TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL DEFAULT '',
	duration_sec REAL,
	n_features   INTEGER,
	pred_blob    BLOB,               -- predictions.csv as it is now (NULL: absent)
	pred_size    INTEGER NOT NULL DEFAULT 0,
	pipe_blob    BLOB,               -- pipeline.json as it is now
	pipe_size    INTEGER NOT NULL DEFAULT 0,
	first_seen_ns INTEGER NOT NULL,
	updated_ns   INTEGER NOT NULL,
	PRIMARY KEY (dataset, pid)
);
CREATE TABLE cat_scores (
	dataset TEXT NOT NULL, pid TEXT NOT NULL, partition TEXT NOT NULL, metric TEXT NOT NULL,
	value REAL NOT NULL,
	PRIMARY KEY (dataset, pid, partition, metric)
) WITHOUT ROWID;
CREATE TABLE cat_predictions (
	dataset TEXT NOT NULL, pid TEXT NOT NULL, partition TEXT NOT NULL,
	n_samples INTEGER NOT NULL,
	y_true BLOB NOT NULL, y_pred BLOB NOT NULL,   -- little-endian float64 arrays
	sample_ids TEXT,                              -- JSON array, NULL when absent
	weights BLOB,                                 -- little-endian float64 array, NULL when absent
	PRIMARY KEY (dataset, pid, partition)
) WITHOUT ROWID;
CREATE TABLE cat_errors (
	dataset TEXT NOT NULL, pid TEXT NOT NULL, file TEXT NOT NULL, reason TEXT NOT NULL,
	at_ns INTEGER NOT NULL,
	PRIMARY KEY (dataset, pid, file)
) WITHOUT ROWID;
CREATE TABLE cat_best (
	dataset TEXT PRIMARY KEY, pid TEXT NOT NULL, since_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE cat_config (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE cat_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`,
}
