#!/usr/bin/env python3
"""A faithful nirs4all 0.11 stand-in: nirs4all.run() as seen by the workspace.

    standin.py run --workspace WS --datasets wheat,corn --pipelines 5 [--task regression|classification]
                   [--fail 3] [--folds 3] [--samples 40] [--run-name NAME] [--commit-log FILE]
                   [--train-ms 0] [--gate DIR] [--parquetw BIN]
    standin.py delete --workspace WS --run-name NAME
    standin.py concurrent --workspace WS --datasets a,b ...   (one process per dataset, at once)

Workspace: --workspace, else $NIRS4ALL_WORKSPACE, else ./workspace. Each run opens
the store (store.py: nirs4all's connect, pragmas and DDL), writes logs/R-<stamp>.log,
and for each dataset, for each pipeline, in nirs4all's order (the sequential path of
pipeline/execution/executor.py): the pipeline row committed as `running`; training
writes artifacts in place; then one chain row, the artifact rows one by one, the
predictions flush (folds 0..k-1, avg, w_avg, partitions train/val/test: one
transaction with the arrays/<ds>.parquet rewrite), and the pipeline updated to
`completed` (or `failed`, with the error, for --fail N). After the dataset's CV
pipelines, the best one (lowest avg val RMSE, or highest balanced accuracy) is refit
as `<name>_refit` (refit/executor.py) with `final` train/test predictions. The run
closes the store at the end.

--commit-log appends one JSON line per commit ({"t", "event", "dataset", "pipeline_id",
"name"}); --gate DIR makes the run wait, before each pipeline N (1, 2, ... over the
run), for the file DIR/go-N, so a test can look at the tree between commits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from store import WorkspaceStore, write_artifact  # noqa: E402

MODELS = [
    ("PLSRegression", "sklearn.cross_decomposition._pls.PLSRegression", "n_components"),
    ("Ridge", "sklearn.linear_model._ridge.Ridge", "alpha"),
]
CLASSIFIERS = [("RandomForestClassifier", "sklearn.ensemble._forest.RandomForestClassifier", "n_estimators")]


class Run:
    """One nirs4all.run(pipeline, datasets) call."""

    def __init__(self, args) -> None:
        self.args = args
        self.ws = Path(args.workspace)
        self.counter = 0
        self.log_file = None

    # ---- bookkeeping for tests -------------------------------------------------
    def committed(self, event: str, ds: str = "", pid: str = "", name: str = "") -> None:
        if self.args.commit_log:
            with open(self.args.commit_log, "a") as f:
                f.write(json.dumps({"t": time.time(), "event": event, "dataset": ds, "pipeline_id": pid, "name": name}) + "\n")

    def log(self, msg: str) -> None:
        self.log_file.write(time.strftime("%Y-%m-%d %H:%M:%S") + " | INFO | " + msg + "\n")
        self.log_file.flush()

    def gate(self) -> None:
        self.counter += 1
        if not self.args.gate:
            return
        go = Path(self.args.gate) / f"go-{self.counter}"
        while not go.exists():
            time.sleep(0.02)

    # ---- the run -----------------------------------------------------------------
    def run(self) -> None:
        store = WorkspaceStore(self.ws, self.args.parquetw)
        try:
            (self.ws / "logs").mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + os.urandom(2).hex()
            (self.ws / "exports").mkdir(parents=True, exist_ok=True)
            with open(self.ws / "logs" / f"R-{stamp}.log", "a") as self.log_file:
                datasets = self.args.datasets.split(",")
                name = self.args.run_name or f"run_{stamp}"
                run_id = store.begin_run(name, {"cv": f"KFold({self.args.folds})"}, [{"name": d, "path": f"data/{d}"} for d in datasets])
                self.committed("run_begin", name=name)
                self.log(f"run {name} ({run_id}) on {datasets}")
                for ds in datasets:
                    self.dataset(store, run_id, ds)
                store.complete_run(run_id, {"datasets": len(datasets)})
                self.committed("run_complete", name=name)
        finally:
            store.close()
            self.committed("close")

    def dataset(self, store, run_id: str, ds: str) -> None:
        data = Data(ds, self.args)
        best = None
        for i in range(1, self.args.pipelines + 1):
            self.gate()
            cfg = Config(ds, i, self.args.task)
            pid = store.begin_pipeline(run_id, cfg.name, cfg.expanded, ds, data.hash)
            self.committed("pipeline_begin", ds, pid, cfg.name)
            start = time.monotonic()
            time.sleep(self.args.train_ms / 1000)
            if i == self.args.fail:
                write_artifact(self.ws, "transformer", "MinMaxScaler", data.scaler_bytes())
                err = f"ValueError: n_components={cfg.param} must be <= n_features in pipeline {cfg.name}"
                store.fail_pipeline(pid, err)
                self.committed("pipeline_failed", ds, pid, cfg.name)
                self.log(f"pipeline {cfg.name} failed: {err}")
                continue
            score = self.train_and_flush(store, pid, cfg, data, folds=self.args.folds)
            store.complete_pipeline(pid, score["val"], score["test"], data.metric, int((time.monotonic() - start) * 1000))
            self.committed("pipeline_complete", ds, pid, cfg.name)
            self.log(f"pipeline {cfg.name}: {data.metric} val={score['val']:.4f} test={score['test']:.4f}")
            if best is None or data.better(score["val"], best[0]):
                best = (score["val"], cfg)
        if best is not None and not self.args.no_refit:
            self.gate()
            cfg = best[1].refit()
            pid = store.begin_pipeline(run_id, cfg.name, cfg.expanded, ds, data.hash)
            self.committed("pipeline_begin", ds, pid, cfg.name)
            score = self.train_and_flush(store, pid, cfg, data, folds=0)
            store.complete_pipeline(pid, score["val"], score["test"], data.metric, 1)
            self.committed("pipeline_complete", ds, pid, cfg.name)

    def train_and_flush(self, store, pid: str, cfg, data, folds: int) -> dict:
        scaler_path, scaler_hash = write_artifact(self.ws, "transformer", "MinMaxScaler", data.scaler_bytes())
        fold_keys = [str(k) for k in range(folds)] or ["final"]
        models = {}
        for k in fold_keys:
            blob = f"{cfg.cls}({cfg.param})|{data.name}|{cfg.index}|fold {k}".encode() * 40
            models[k] = write_artifact(self.ws, "model", cfg.cls, blob) + (len(blob),)
        scaler_id = f"{pid}$s1:all"
        model_ids = {k: f"{pid}$s2:{k}" for k in fold_keys}
        steps = [
            {"step_idx": 1, "operator_class": "MinMaxScaler", "params": {}, "artifact_ids": [scaler_id], "stateless": False},
            {"step_idx": 2, "operator_class": "KFold", "params": {"n_splits": folds}, "artifact_ids": [], "stateless": True},
            {"step_idx": 3, "operator_class": cfg.cls, "params": {cfg.pname: cfg.param},
             "artifact_ids": list(model_ids.values()), "stateless": False},
        ]
        fold_art = {f"fold_{k}": v for k, v in model_ids.items()} if folds else {}
        chain_id = store.save_chain(pid, steps, 3, cfg.cls, "MinMax", fold_art, {"1": [scaler_id]}, data.name)
        self.committed("chain", data.name, pid, cfg.name)
        store.register_existing_artifact(scaler_id, scaler_path, scaler_hash, "MinMaxScaler", "transformer", "joblib",
                                         len(data.scaler_bytes()))
        self.committed("artifact", data.name, pid, cfg.name)
        for k, aid in model_ids.items():
            path, h, size = models[k]
            store.register_existing_artifact(aid, path, h, cfg.cls, "model", "joblib", size)
            self.committed("artifact", data.name, pid, cfg.name)
        rows, score = data.predictions(pid, chain_id, cfg, folds)
        store.flush_predictions(rows)
        self.committed("flush", data.name, pid, cfg.name)
        return score


class Config:
    """One expanded pipeline configuration."""

    def __init__(self, ds: str, index: int, task: str, refit: bool = False) -> None:
        models = CLASSIFIERS if task == "classification" else MODELS
        self.index, self.task, self.ds, self.is_refit = index, task, ds, refit
        self.cls, self.fqcn, self.pname = models[index % len(models)]
        self.param = 2 + index % 9
        self.expanded = [
            {"class": "sklearn.preprocessing._data.MinMaxScaler"},
            {"class": "sklearn.model_selection._split.KFold", "params": {"n_splits": 3}},
            {"model": {"class": self.fqcn, "params": {self.pname: self.param}}},
        ]
        h = hashlib.sha256(json.dumps([self.expanded, index]).encode()).hexdigest()[:6]
        self.name = f"config_{h}" + ("_refit" if refit else "")

    def refit(self):
        return Config(self.ds, self.index, self.task, refit=True)


class Data:
    """A dataset's samples and the scores of a pipeline on them."""

    def __init__(self, name: str, args) -> None:
        self.name, self.task = name, args.task
        rnd = random.Random("data:" + name)
        n = args.samples
        if self.task == "classification":
            self.y = [float(rnd.randrange(3)) for _ in range(n + n // 2)]
            self.metric, self.task_type = "balanced_accuracy", "multiclass_classification"
        else:
            self.y = [round(rnd.uniform(8, 16), 3) for _ in range(n + n // 2)]
            self.metric, self.task_type = "rmse", "regression"
        self.train, self.test = list(range(n)), list(range(n, n + n // 2))
        self.hash = hashlib.sha256(json.dumps(self.y).encode()).hexdigest()[:16]

    def scaler_bytes(self) -> bytes:
        return f"MinMaxScaler fitted on {self.name}".encode() * 20

    def better(self, a: float, b: float) -> bool:
        return a < b if self.metric == "rmse" else a > b

    def pred(self, rnd, idx: list, noise: float) -> list:
        if self.task == "classification":
            return [self.y[i] if rnd.random() > noise else float((int(self.y[i]) + 1) % 3) for i in idx]
        return [round(self.y[i] + rnd.gauss(0, noise), 4) for i in idx]

    def score(self, idx: list, yp: list) -> float:
        yt = [self.y[i] for i in idx]
        if self.task == "classification":
            recalls = []
            for c in sorted(set(yt)):
                tot = [j for j, v in enumerate(yt) if v == c]
                recalls.append(sum(1 for j in tot if yp[j] == c) / len(tot))
            return round(sum(recalls) / len(recalls), 6)
        return round(math.sqrt(sum((a - b) ** 2 for a, b in zip(yt, yp)) / len(yt)), 6)

    def predictions(self, pid: str, chain_id: str, cfg, folds: int):
        rnd = random.Random(f"pred:{self.name}:{cfg.index}:{cfg.is_refit}")
        noise = (0.05 + 0.04 * ((cfg.index * 7) % 11)) if self.task == "classification" else 0.2 + 0.1 * ((cfg.index * 7) % 11)
        groups = []  # (fold_id, {partition: (idx, y_pred)})
        if folds:
            val_all, test_preds = {}, []
            for k in range(folds):
                val = self.train[k::folds]
                tr = [i for i in self.train if i not in val]
                parts = {"train": (tr, self.pred(rnd, tr, noise * 0.5)), "val": (val, self.pred(rnd, val, noise)),
                         "test": (self.test, self.pred(rnd, self.test, noise))}
                for i, v in zip(*parts["val"]):
                    val_all[i] = v
                test_preds.append(parts["test"][1])
                groups.append((str(k), parts))
            oof = sorted(val_all)
            avg_test = [round(sum(c) / len(c), 4) for c in zip(*test_preds)]
            if self.task == "classification":
                avg_test = test_preds[0]
            for f in ("avg", "w_avg"):
                groups.append((f, {"val": (oof, [val_all[i] for i in oof]), "test": (self.test, avg_test)}))
        else:
            groups.append(("final", {"train": (self.train, self.pred(rnd, self.train, noise * 0.5)),
                                     "test": (self.test, self.pred(rnd, self.test, noise * 0.8))}))
        rows, result = [], {}
        for fold, parts in groups:
            sc = {p: self.score(idx, yp) for p, (idx, yp) in parts.items()}
            if fold in ("avg", "final"):
                result = {"val": sc.get("val", sc.get("test")), "test": sc["test"]}
            for part, (idx, yp) in parts.items():
                rows.append({
                    "prediction_id": hashlib.sha256(f"{pid}:{fold}:{part}".encode()).hexdigest()[:16],
                    "pipeline_id": pid, "chain_id": chain_id, "dataset_name": self.name, "model_name": cfg.cls,
                    "model_class": cfg.fqcn, "fold_id": fold, "partition": part, "val_score": sc.get("val"),
                    "test_score": sc.get("test"), "train_score": sc.get("train"), "metric": self.metric,
                    "task_type": self.task_type, "n_features": 125, "scores": {p: {self.metric: v} for p, v in sc.items()},
                    "best_params": {cfg.pname: cfg.param}, "preprocessings": "MinMax",
                    "refit_context": "standalone" if fold == "final" else None,
                    "y_true": [self.y[i] for i in idx], "y_pred": yp, "sample_indices": idx,
                })
        return rows, result


def delete(args) -> None:
    store = WorkspaceStore(Path(args.workspace), args.parquetw)
    try:
        row = store.conn.execute("SELECT run_id FROM runs WHERE name = ?", [args.run_name]).fetchone()
        if row is None:
            raise SystemExit(f"no run named {args.run_name}")
        store.delete_run(row[0])
    finally:
        store.close()


def concurrent(args) -> None:
    """Two (or more) nirs4all processes at once, one dataset each."""
    procs = []
    for ds in args.datasets.split(","):
        cmd = [sys.executable, __file__, "run", "--workspace", args.workspace, "--datasets", ds,
               "--pipelines", str(args.pipelines), "--task", args.task, "--folds", str(args.folds),
               "--samples", str(args.samples), "--train-ms", str(args.train_ms), "--parquetw", args.parquetw,
               "--run-name", f"{args.run_name or 'concurrent'}_{ds}"]
        if args.commit_log:
            cmd += ["--commit-log", args.commit_log]
        procs.append(subprocess.Popen(cmd))
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"concurrent runs exited with {codes}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["run", "delete", "concurrent"])
    ap.add_argument("--workspace", default=os.environ.get("NIRS4ALL_WORKSPACE", "./workspace"))
    ap.add_argument("--datasets", default="wheat")
    ap.add_argument("--pipelines", type=int, default=3)
    ap.add_argument("--task", choices=["regression", "classification"], default="regression")
    ap.add_argument("--fail", type=int, default=0, help="1-based index of a pipeline (per dataset) that fails")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--train-ms", type=float, default=0)
    ap.add_argument("--run-name", default="")
    ap.add_argument("--no-refit", action="store_true")
    ap.add_argument("--commit-log", default="")
    ap.add_argument("--gate", default="")
    ap.add_argument("--parquetw", default=os.environ.get("PARQUETW", "parquetw"))
    args = ap.parse_args()
    {"run": lambda: Run(args).run(), "delete": lambda: delete(args), "concurrent": lambda: concurrent(args)}[args.mode]()


if __name__ == "__main__":
    main()
