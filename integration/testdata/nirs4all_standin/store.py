"""The workspace I/O of nirs4all 0.11 (GBeurier/nirs4all at 16c8f070), for tests.

nirs4all cannot be installed here, so this module does to a workspace folder
what nirs4all's storage layer does, call for call:

- WorkspaceStore (pipeline/storage/workspace_store.py): mkdir of the
  workspace, sqlite3.connect(isolation_level=None), busy_timeout=5000, the
  v5 DDL re-run on every open (store_schema.py create_schema: user_version
  check, journal_mode=WAL, foreign_keys=ON, tables, indexes, views dropped
  and recreated, user_version = 5), one autocommit statement per
  begin_pipeline / save_chain / register_existing_artifact /
  complete_pipeline, BEGIN ... COMMIT around a predictions flush, close()
  after each run (SQLite checkpoints and removes -wal and -shm).
- ArrayStore (array_store.py): arrays/<ds>.parquet rewritten whole on every
  flush through <ds>.parquet.tmp + os.replace under fcntl.flock on
  arrays/.lock; deletes go to _tombstones.json (+ .json.tmp), applied by a
  compaction on the next open. The Parquet bytes come from the Go helper
  parquetw (no pyarrow here).
- ArtifactRegistry (artifacts/artifact_registry.py, utils.py): artifacts
  written in place, no temp file, to artifacts/<aa>/<type>_<Class>_<sha12>.<ext>,
  content_hash "sha256:<hex>", a file reused by every row of equal content.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import re
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

from schema import INDEX_DDL, SCHEMA_DDL, SCHEMA_VERSION, VIEW_DDL

_UNSAFE_FILENAME_RE = re.compile(r'[/\\:*?"<>|\s.]+')


def sanitize_dataset_filename(name: str) -> str:
    """array_store._sanitize_dataset_filename."""
    return _UNSAFE_FILENAME_RE.sub("_", name).strip("_") or "unnamed"


def _retry(fn, *args):
    """_retry_on_lock: SQLITE_BUSY between two writers is retried with jitter."""
    for attempt in range(40):
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(0.02 * (attempt + 1) * (0.5 + random.random()))
    return fn(*args)


class LegacyWorkspaceError(RuntimeError):
    """nirs4all's refusal of an old folder workspace."""


def is_legacy(ws: Path) -> bool:
    """warn_if_legacy_workspace: runs/*/*/manifest.yaml and no store.sqlite."""
    if (ws / "store.sqlite").exists():
        return False
    return any(ws.glob("runs/*/*/manifest.yaml"))


class ArrayStore:
    """array_store.ArrayStore: one Parquet file per dataset."""

    def __init__(self, ws: Path, parquetw: str) -> None:
        self.dir = ws / "arrays"
        self.parquetw = parquetw
        self.dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.dir.glob("*.parquet.tmp"):
            try:
                tmp.unlink()
            except OSError:
                pass

    def path(self, ds: str) -> Path:
        return self.dir / f"{sanitize_dataset_filename(ds)}.parquet"

    def _lock(self):
        fd = os.open(str(self.dir / ".lock"), os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    @staticmethod
    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def tombstones(self) -> dict:
        p = self.dir / "_tombstones.json"
        if not p.exists():
            return {}
        with open(p) as f:
            return dict(json.load(f))

    def _write_tombstones(self, tomb: dict) -> None:
        p = self.dir / "_tombstones.json"
        if not tomb:
            if p.exists():
                p.unlink()
            return
        tmp = p.with_suffix(".json.tmp")
        with open(tmp, "w") as f:
            json.dump(tomb, f)
        tmp.replace(p)

    def _rewrite(self, path: Path, records: list, drop: list | None = None) -> None:
        """read_table + concat_tables + _atomic_write_parquet."""
        tmp = path.with_suffix(".parquet.tmp")
        args = [self.parquetw, "-out", str(tmp)]
        if path.exists():
            args += ["-in", str(path)]
        if drop:
            args += ["-drop", ",".join(drop)]
        try:
            subprocess.run(args, input=json.dumps(records).encode(), check=True)
            os.replace(tmp, path)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise

    def save_batch(self, records: list) -> None:
        fd = self._lock()
        try:
            ids = {r["prediction_id"] for r in records}
            tomb = self.tombstones()
            kept = {k: v for k, v in tomb.items() if k not in ids}
            if len(kept) != len(tomb):
                self._write_tombstones(kept)
            groups: dict = {}
            for r in records:
                groups.setdefault(r["dataset_name"], []).append(r)
            for ds, recs in groups.items():
                self._rewrite(self.path(ds), recs)
        finally:
            self._unlock(fd)

    def delete_batch(self, ids: set) -> None:
        fd = self._lock()
        try:
            tomb = self.tombstones()
            ts = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            for i in ids:
                tomb.setdefault(i, ts)
            self._write_tombstones(tomb)
        finally:
            self._unlock(fd)

    def compact(self) -> None:
        """Startup reconciliation: drop tombstoned arrays, clear the tombstones."""
        fd = self._lock()
        try:
            tomb = self.tombstones()
            if not tomb:
                return
            for p in sorted(self.dir.glob("*.parquet")):
                self._rewrite(p, [], drop=sorted(tomb))
            self._write_tombstones({})
        finally:
            self._unlock(fd)


class WorkspaceStore:
    """workspace_store.WorkspaceStore, the calls a training run makes."""

    def __init__(self, ws: Path, parquetw: str) -> None:
        self.ws = Path(ws)
        if self.ws.exists() and is_legacy(self.ws):
            raise LegacyWorkspaceError(f"Cannot open legacy filesystem workspace at {self.ws} in-place.")
        self.ws.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            str(self.ws / "store.sqlite"),
            check_same_thread=False,
            detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
            isolation_level=None,
        )
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout=5000")
        _retry(self._create_schema)
        (self.ws / "artifacts").mkdir(parents=True, exist_ok=True)
        self.arrays = ArrayStore(self.ws, parquetw)
        if self.arrays.tombstones():
            self.arrays.compact()

    def _create_schema(self) -> None:
        c = self.conn
        if c.execute("PRAGMA user_version").fetchone()[0] > SCHEMA_VERSION:
            raise RuntimeError("Workspace SQLite schema version is newer than this nirs4all supports")
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA foreign_keys=ON")
        for ddl in (SCHEMA_DDL, INDEX_DDL):
            for stmt in ddl.strip().split(";"):
                if stmt.strip():
                    c.execute(stmt)
        for view in ("v_aggregated_predictions", "v_aggregated_predictions_all", "v_chain_summary"):
            c.execute(f"DROP VIEW IF EXISTS {view}")
        for stmt in VIEW_DDL.strip().split(";"):
            if stmt.strip():
                c.execute(stmt)
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def execute(self, sql: str, params=()) -> None:
        _retry(self.conn.execute, sql, params)

    def begin_run(self, name: str, config, datasets: list) -> str:
        run_id = str(uuid.uuid4())
        self.execute("INSERT INTO runs (run_id, name, config, datasets) VALUES (?, ?, ?, ?)",
                     [run_id, name, json.dumps(config), json.dumps(datasets)])
        return run_id

    def complete_run(self, run_id: str, summary: dict) -> None:
        self.execute("UPDATE runs SET status = 'completed', completed_at = current_timestamp, summary = ? WHERE run_id = ?",
                     [json.dumps(summary), run_id])

    def begin_pipeline(self, run_id, name, expanded_config, dataset_name, dataset_hash) -> str:
        pid = str(uuid.uuid4())
        self.execute(
            "INSERT INTO pipelines (pipeline_id, run_id, name, expanded_config, original_template, generator_choices,"
            " dataset_name, dataset_hash, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running')",
            [pid, run_id, name, json.dumps(expanded_config), None, "[]", dataset_name, dataset_hash])
        return pid

    def complete_pipeline(self, pid, best_val, best_test, metric, duration_ms) -> None:
        self.execute(
            "UPDATE pipelines SET status = 'completed', completed_at = current_timestamp, best_val = ?, best_test = ?,"
            " metric = ?, duration_ms = ? WHERE pipeline_id = ?", [best_val, best_test, metric, duration_ms, pid])

    def fail_pipeline(self, pid, error) -> None:
        self.execute("UPDATE pipelines SET status = 'failed', completed_at = current_timestamp, error = ? WHERE pipeline_id = ?",
                     [error, pid])

    def save_chain(self, pid, steps, model_step_idx, model_class, preprocessings, fold_artifacts, shared_artifacts, dataset_name) -> str:
        cid = str(uuid.uuid4())
        self.execute(
            "INSERT INTO chains (chain_id, pipeline_id, steps, model_step_idx, model_class, preprocessings, fold_strategy,"
            " fold_artifacts, shared_artifacts, branch_path, source_index, dataset_name, relation_replay_manifest,"
            " relation_replay_version, relation_replay_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [cid, pid, json.dumps(steps), model_step_idx, model_class, preprocessings,
             "per_fold" if fold_artifacts else "shared", json.dumps(fold_artifacts), json.dumps(shared_artifacts),
             None, None, dataset_name, None, None, None])
        return cid

    def register_existing_artifact(self, artifact_id, path, content_hash, operator_class, artifact_type, fmt, size) -> None:
        def once():
            if self.conn.execute("SELECT * FROM artifacts WHERE artifact_id = ?", [artifact_id]).fetchone():
                return
            self.conn.execute(
                "INSERT INTO artifacts (artifact_id, artifact_path, content_hash, operator_class, artifact_type, format,"
                " size_bytes, ref_count) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                [artifact_id, path, content_hash, operator_class, artifact_type, fmt, size])
        _retry(once)

    def flush_predictions(self, rows: list) -> None:
        """Predictions.flush: one transaction for the rows and the Parquet rewrite."""
        def once():
            c = self.conn
            c.execute("BEGIN TRANSACTION")
            try:
                records = []
                for r in rows:
                    c.execute(
                        "INSERT INTO predictions (prediction_id, pipeline_id, chain_id, dataset_name, model_name, model_class,"
                        " fold_id, partition, val_score, test_score, train_score, metric, task_type, n_samples, n_features,"
                        " scores, best_params, preprocessings, branch_id, branch_name, exclusion_count, exclusion_rate,"
                        " refit_context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [r["prediction_id"], r["pipeline_id"], r["chain_id"], r["dataset_name"], r["model_name"],
                         r["model_class"], r["fold_id"], r["partition"], r["val_score"], r["test_score"], r["train_score"],
                         r["metric"], r["task_type"], len(r["y_true"]), r["n_features"], json.dumps(r["scores"]),
                         json.dumps(r["best_params"]), r["preprocessings"], None, None, 0, 0.0, r.get("refit_context")])
                    records.append({k: r.get(k) for k in (
                        "prediction_id", "dataset_name", "model_name", "fold_id", "partition", "metric", "val_score",
                        "task_type", "y_true", "y_pred", "sample_indices")})
                self.arrays.save_batch(records)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        _retry(once)

    def delete_run(self, run_id: str) -> None:
        """delete_run: autocommit cascade, tombstones, artifact gc."""
        c = self.conn
        pred_ids = {r[0] for r in c.execute(
            "SELECT prediction_id FROM predictions WHERE pipeline_id IN (SELECT pipeline_id FROM pipelines WHERE run_id = ?)",
            [run_id]).fetchall()}
        for (ch,) in c.execute("SELECT steps FROM chains WHERE pipeline_id IN (SELECT pipeline_id FROM pipelines WHERE run_id = ?)",
                               [run_id]).fetchall():
            for step in json.loads(ch):
                for aid in step.get("artifact_ids", []):
                    self.execute("UPDATE artifacts SET ref_count = ref_count - 1 WHERE artifact_id = ?", [aid])
        sub = "pipeline_id IN (SELECT pipeline_id FROM pipelines WHERE run_id = ?)"
        for sql in (f"DELETE FROM logs WHERE {sub}", f"DELETE FROM predictions WHERE {sub}",
                    f"DELETE FROM chains WHERE {sub}", "DELETE FROM pipelines WHERE run_id = ?",
                    "DELETE FROM runs WHERE run_id = ?"):
            self.execute(sql, [run_id])
        if pred_ids:
            self.arrays.delete_batch(pred_ids)
        self.gc_artifacts()

    def gc_artifacts(self) -> None:
        c = self.conn
        dead = c.execute("SELECT artifact_id, artifact_path FROM artifacts WHERE ref_count <= 0").fetchall()
        for aid, path in dead:
            self.execute("DELETE FROM artifacts WHERE artifact_id = ?", [aid])
            if c.execute("SELECT 1 FROM artifacts WHERE artifact_path = ?", [path]).fetchone():
                continue
            f = self.ws / "artifacts" / path
            try:
                f.unlink()
                f.parent.rmdir()
            except OSError:
                pass


def write_artifact(ws: Path, artifact_type: str, class_name: str, content: bytes, ext: str = "joblib") -> tuple:
    """ArtifactRegistry.register: in place, no temp file; equal content reuses the file."""
    content_hash = "sha256:" + hashlib.sha256(content).hexdigest()
    hexd = content_hash[7:]
    shard = ws / "artifacts" / hexd[:2]
    existing = list(shard.glob(f"*_{hexd[:12]}.{ext}")) if shard.exists() else []
    if existing:
        return f"{hexd[:2]}/{existing[0].name}", content_hash
    shard.mkdir(parents=True, exist_ok=True)
    name = f"{artifact_type}_{class_name}_{hexd[:12]}.{ext}"
    path = shard / name
    if not path.exists():
        path.write_bytes(content)
    return f"{hexd[:2]}/{name}", content_hash
