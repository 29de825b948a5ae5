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
	// 2: one task and one ranking metric per dataset (issue 9). A pipeline
	// keeps what it says of its task, three ways (task_type stays its own
	// best guess, as before); scores computed from
	// predictions are marked derived and redone whenever the dataset's task
	// changes (scored_task). Best archives are named after the pipeline's
	// session date and tracked here so that one pipeline has one file.
	// 'reingest' asks the next Refresh to re-read every pipeline folder
	// once, since older rows do not tell file scores from derived ones.
	`
ALTER TABLE cat_pipelines ADD COLUMN declared_task TEXT NOT NULL DEFAULT '';  -- metrics.json task_type, '' when not said
ALTER TABLE cat_pipelines ADD COLUMN named_task TEXT NOT NULL DEFAULT '';     -- what metrics.json's metric names point to
ALTER TABLE cat_pipelines ADD COLUMN labels_task TEXT NOT NULL DEFAULT '';    -- what y_true of predictions.csv looks like
ALTER TABLE cat_pipelines ADD COLUMN scored_task TEXT NOT NULL DEFAULT '';    -- task the derived scores were computed for
ALTER TABLE cat_scores ADD COLUMN derived INTEGER NOT NULL DEFAULT 0;         -- 1: computed from predictions.csv
CREATE TABLE cat_datasets (
	dataset   TEXT PRIMARY KEY,
	task      TEXT NOT NULL,     -- regression | binary_classification | multiclass_classification
	task_from TEXT NOT NULL,     -- declared | labels | metric names | default
	metric    TEXT NOT NULL,     -- the one metric its pipelines are ranked by
	partition TEXT NOT NULL      -- and the one partition
) WITHOUT ROWID;
CREATE TABLE cat_archives (
	dataset TEXT NOT NULL, pid TEXT NOT NULL,
	name    TEXT NOT NULL,       -- its file in catalog/archives/best_predictions/
	PRIMARY KEY (dataset, pid)
) WITHOUT ROWID;
INSERT INTO cat_state (key, value) VALUES ('reingest', 1) ON CONFLICT (key) DO UPDATE SET value = 1;
`,
	// 3: per-dataset generations (generation.go). Every dataset is stamped
	// with the current generation, so that its computed files stay cached
	// until it changes; from now on every refresh stamps what it touched
	// (and an older n4ws, which would not, refuses this schema).
	`
INSERT INTO cat_state (key, value)
SELECT 'generation.ds/' || dataset, (SELECT coalesce(max(value), 0) FROM cat_state WHERE key = 'generation')
FROM cat_pipelines WHERE true GROUP BY dataset
ON CONFLICT (key) DO NOTHING;
`,
}
