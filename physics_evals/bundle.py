"""`python -m physics_evals bundle RESULTS_DIR` and `verify BUNDLE [--rollouts DIR]`: results anyone can check.

A bundle is one .tar.gz holding, under <run_id>/:

    results.json     the run's results (fixed contract 3)
    samples.jsonl    every raw sample the results were aggregated from
    manifest.json    sha256 of the two files above and of every rollout file that was scored, as
                     <model>/<task>/<file>; the task versions; the code revision of the run and of
                     the bundling; package versions

`verify` checks, in order, and stops at the first mismatch with one line and exit status 1:
1. the two files match their hashes (nothing was edited after bundling);
2. results.json is what its samples give: every task score and the summary are recomputed from
   samples.jsonl with the installed metric registry's directions and aggregations;
3. with --rollouts DIR (laid out <model>/<task>/<file>, as rollouts/ is): every rollout file is
   there with its hash, and every sample is scored again from those rollouts and the task's
   episodes (regenerated under --episodes-root when missing) and must give the same value.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import sys
import tarfile
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from toolkit.files import atomic_write_bytes
from toolkit.provenance import git_revision, versions

from . import options
from .results import RESULTS_FILE, SAMPLES_FILE, load_results, task_scores, validate_results
from .summary import summarize_samples
from .rollouts import RolloutError, find_rollout, rollout_path

MANIFEST_FILE = "manifest.json"
BUNDLE_SCHEMA = 1
REL_TOL, ABS_TOL = 1e-6, 1e-9  # recomputed numbers must agree this closely (float summation order aside)


class BundleError(ValueError):
    """A bundle that cannot be made or does not verify; the message is the one line to print."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(row: dict) -> tuple:
    """(model, sample seed or None, task, episode): one rollout."""
    return row["model"], row.get("sample_seed"), row["task"], row["episode_id"]


def _folder(model: str, seed: int | None) -> str:
    """The rollout folder of a model's sample (the Adapter.cache_name rule)."""
    return model if seed is None else f"{model}@seed{seed}"


def _rollout_file(results: dict, model: str, folder: str, task: str, episode_id: str) -> Path | None:
    """Where the run read the model's rollout of one episode (None when there is none)."""
    rec = results["models"].get(model, {})
    try:
        if rec.get("kind") == "rollouts":  # read in place from <root>/<folder>/<task>/...
            source = Path(rec["source"])
            return find_rollout(source.parent, source.name, task, episode_id)
        return find_rollout(results["run"].get("rollouts_root", options.ROLLOUTS_ROOT), folder, task, episode_id)
    except RolloutError:
        return None


def bundle(results_dir: Path, out: Path | None = None) -> Path:
    """Write the bundle of one results folder; return its path (default <results_dir>.bundle.tar.gz)."""
    results_dir = Path(results_dir)
    results = load_results(results_dir)
    samples_path = results_dir / SAMPLES_FILE
    if not samples_path.is_file():
        raise BundleError(f"{samples_path}: missing (a bundle needs the per-episode samples)")
    rows = _read_samples(samples_path.read_bytes(), samples_path)
    rollouts = []
    for key in sorted({_key(r) for r in rows}, key=str):
        model, seed, task, episode_id = key
        folder = _folder(model, seed)  # rollouts/<model>[@seed<s>]/
        path = _rollout_file(results, model, folder, task, episode_id)
        entry = {"model": model, "sample_seed": seed, "task": task, "episode_id": episode_id}
        if path is None:
            if any(r["status"] == "ok" for r in rows if _key(r) == key):
                raise BundleError(f"{rollout_path(results['run'].get('rollouts_root', 'rollouts'), folder, task, episode_id, '.npz|.mp4')}: "
                                  f"scored rollout of {folder} on {task}/{episode_id} is missing; it cannot be bundled")
            rollouts.append({**entry, "path": None, "sha256": None, "bytes": None})  # its samples failed: no file
            continue
        rollouts.append({**entry, "path": f"{folder}/{task}/{path.name}", "sha256": sha256_file(path),
                         "bytes": path.stat().st_size})
    files = {name: (results_dir / name).read_bytes() for name in (RESULTS_FILE, SAMPLES_FILE)}
    manifest = {
        "schema_version": BUNDLE_SCHEMA, "run_id": results["run"]["run_id"],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_revision": results["run"]["git_revision"], "bundled_at_revision": git_revision(),
        "versions": results["run"].get("versions", {}), "bundler_versions": versions(),
        "task_versions": {name: t["version"] for name, t in results["tasks"].items()},
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        "rollouts": rollouts,
    }
    files[MANIFEST_FILE] = (json.dumps(manifest, indent=1) + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{manifest['run_id']}/{name}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    out = Path(out) if out is not None else results_dir.parent / f"{results_dir.name}.bundle.tar.gz"
    atomic_write_bytes(out, buf.getvalue())
    return out


def _read_samples(data: bytes, where) -> list[dict]:
    rows = []
    for i, line in enumerate(data.decode().splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise BundleError(f"{where}: line {i} is not JSON ({e.msg})") from None
    return rows


def read_bundle(path: Path) -> tuple[dict, dict, list[dict]]:
    """(manifest, results, samples) of a bundle, after checking the two files' hashes."""
    path = Path(path)
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name.split("/", 1)[-1]: m for m in tar.getmembers() if m.isfile()}
            missing = [n for n in (MANIFEST_FILE, RESULTS_FILE, SAMPLES_FILE) if n not in members]
            if missing:
                raise BundleError(f"{path}: not a results bundle (lacks {', '.join(missing)})")
            data = {n: tar.extractfile(members[n]).read() for n in (MANIFEST_FILE, RESULTS_FILE, SAMPLES_FILE)}
    except (OSError, tarfile.TarError, EOFError) as e:
        raise BundleError(f"{path}: unreadable bundle ({type(e).__name__}: {e})") from None
    try:
        manifest = json.loads(data[MANIFEST_FILE])
        for name in (RESULTS_FILE, SAMPLES_FILE):
            if hashlib.sha256(data[name]).hexdigest() != manifest["files"][name]:
                raise BundleError(f"{path}: {name} does not match its sha256 in the manifest (edited after bundling)")
        results = json.loads(data[RESULTS_FILE])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise BundleError(f"{path}: malformed bundle ({type(e).__name__}: {e})") from None
    validate_results(results, f"{path}:{RESULTS_FILE}")
    return manifest, results, _read_samples(data[SAMPLES_FILE], f"{path}:{SAMPLES_FILE}")


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def check_aggregates(results: dict, rows: list[dict], metrics: dict, where: str) -> None:
    """Raise BundleError unless results.json's scores and summary follow from the samples."""
    ceiling = results["run"].get("ceiling_model", "resimulated")
    rows = [dict(r) for r in rows]
    from .results import score_samples
    score_samples(rows, metrics, ceiling)
    recomputed = {(s["model"], s["task"], s["metric"]): s for s in task_scores(rows, metrics, results["run"]["seed"])}
    for s in results["scores"]:
        r = recomputed.get((s["model"], s["task"], s["metric"]))
        for key in ("value", "ci_low", "ci_high", "score"):
            if r is None or not _close(s.get(key), r.get(key)):
                raise BundleError(f"{where}: {s['model']} / {s['task']} / {s['metric']}: {key} {s.get(key)} in "
                                  f"results.json, {None if r is None else r.get(key)} from samples.jsonl")
    if results.get("seeds"):  # multi-seed models: each seed's summary, the mean and the sd over seeds
        from .seeds import seed_record
        for model, rec in seed_record(rows, metrics, ceiling).items():
            for stat in ("mean", "sd"):
                for g, v in rec[stat].items():
                    bundled = results["seeds"].get(model, {}).get(stat, {}).get(g)
                    if not _close(bundled, v):
                        raise BundleError(f"{where}: seeds of {model}: {stat} {g} {bundled} in results.json, "
                                          f"{v} from samples.jsonl")
    summary = summarize_samples(rows, metrics, ceiling_model=ceiling)
    for model, groups in results["summary"].items():
        if model not in summary:
            continue  # an aggregate row (several seeds) whose parts are checked as models of their own
        for g, v in groups.items():
            if g in summary[model] and not _close(v, summary[model][g]):
                raise BundleError(f"{where}: summary of {model}: {g} {v} in results.json, {summary[model][g]} from samples.jsonl")


def task_from_record(name: str, rec: dict, where: str):
    """The Task a results.json entry describes (its sizes, seeds and metrics as scored). A task that the
    installed code defines under another version measures something else: that is a mismatch."""
    from .tasks import SUITES, Task, suite_tasks
    try:
        task = Task(name=name, family=rec["family"], scenarios=tuple(rec["scenarios"]), metrics=tuple(rec["metrics"]),
                    seed=rec["seed"], n_episodes=rec["n_episodes"] + len(rec.get("skipped_episodes", {})),
                    context=rec["context_frames"], horizon=rec["horizon"], height=rec["height"], width=rec["width"],
                    fps=rec["fps"], suite=rec.get("suite", "default"), look=rec.get("look", "flat"),
                    version=rec["version"], split=rec.get("split", "id"))
    except (KeyError, TypeError, ValueError) as e:
        raise BundleError(f"{where}: task {name} cannot be rebuilt from results.json ({type(e).__name__}: {e})") from None
    here = suite_tasks(task.suite).get(name) if task.suite in SUITES else None
    if here is not None and here.version != task.version:
        raise BundleError(f"{where}: task {name} is version {here.version} in this code, the bundle was scored "
                          f"with version {task.version}")
    return task


def rescore(results: dict, rows: list[dict], rollouts_dir: Path, episodes_root: Path, workers: int,
            metrics: dict, where: str, warn=print) -> int:
    """Score every sample again from the rollouts in rollouts_dir; raise BundleError at the first that
    differs. Returns the number of samples checked."""
    from .episodes import ensure_episodes
    from .evaluate import Job, score_job
    from .models import RolloutFolder
    tasks = {name: task_from_record(name, rec, where) for name, rec in results["tasks"].items()}
    failed = ensure_episodes(list(tasks.values()), episodes_root, workers, progress=False, warn=warn)
    if failed:
        raise BundleError(f"{where}: episode {next(iter(failed))} cannot be regenerated: {next(iter(failed.values()))}")
    expected = defaultdict(dict)  # (model, sample seed, task, episode) -> metric -> row
    for r in rows:
        expected[_key(r)][r["metric"]] = r
    n = 0
    for (model, seed, task_name, episode_id), by_metric in sorted(expected.items(), key=lambda kv: str(kv[0])):
        task = tasks[task_name]
        folder = next((f for f in task.episode_folders(episodes_root) if f.name == episode_id), None)
        if folder is None:
            raise BundleError(f"{where}: episode {episode_id} is not one of task {task_name}'s episodes")
        reader = RolloutFolder(rollouts_dir, _folder(model, seed), name=model)
        reader.sample_seed = seed
        job = Job(reader, task, folder, tuple(by_metric), rollouts_dir)
        for new in score_job(job, metrics):
            old = by_metric[new["metric"]]
            n += 1
            if new["status"] != old["status"] or (new["status"] == "ok" and not _close(old["value"], new["value"])):
                got = new["value"] if new["status"] == "ok" else f"failed ({new.get('error')})"
                raise BundleError(f"{where}: {model} / {task_name} / {episode_id} / {new['metric']}: bundled "
                                  f"{old['value'] if old['status'] == 'ok' else 'failed'}, rescored {got}")
    return n


def verify(path: Path, rollouts_dir: Path | None = None, episodes_root: Path = options.EPISODES_ROOT,
           workers: int = 1, warn=print, metrics: dict | None = None) -> str:
    """Check a bundle (see the module doc); return a one-line summary or raise BundleError. `metrics`
    replaces the registry (tests)."""
    from .evaluate import registry
    manifest, results, rows = read_bundle(path)
    n_files = 0
    for e in manifest["rollouts"] if rollouts_dir is not None else []:  # integrity first: nothing to compute
        if e["path"] is None:
            continue
        file = Path(rollouts_dir) / e["path"]
        if not file.is_file():
            raise BundleError(f"{file}: missing (the bundle lists it with sha256 {e['sha256'][:12]}...)")
        if sha256_file(file) != e["sha256"]:
            raise BundleError(f"{file}: sha256 differs from the bundle's (the rollout changed after bundling)")
        n_files += 1
    metrics = metrics if metrics is not None else registry()
    unknown = sorted({r["metric"] for r in rows} - set(metrics))
    if unknown:
        raise BundleError(f"{path}: metric {unknown[0]} is not in this code's registry")
    try:
        check_aggregates(results, rows, metrics, str(path))
        if rollouts_dir is None:
            return (f"{path}: results.json and samples.jsonl match their hashes and each other "
                    f"({len(rows)} samples); give --rollouts DIR to check the rollouts and rescore")
        n = rescore(results, rows, Path(rollouts_dir), Path(episodes_root), workers, metrics, str(path), warn)
    except BundleError as e:  # numbers differ: say when the code differs too, the usual innocent cause
        here = git_revision()
        if here != manifest.get("code_revision"):
            raise BundleError(f"{e} (the bundle was scored with code {manifest.get('code_revision')}, this is "
                              f"{here}: verify with that revision)") from None
        raise
    return f"{path}: verified {n_files} rollout files by sha256 and rescored {n} samples; all match"


# ------------------------------------------------------------------------------------ CLI
def add_bundle_arguments(p) -> None:
    p.add_argument("results_dir", type=Path, help="results/<run_id>/ (holding results.json and samples.jsonl)")
    p.add_argument("--out", type=Path, help="archive path (default: <results_dir>.bundle.tar.gz)")


def bundle_main(args) -> int:
    out = bundle(args.results_dir, args.out)
    print(f"wrote {out}")
    return 0


def add_verify_arguments(p) -> None:
    p.add_argument("bundle", type=Path, help="a .tar.gz written by `bundle`")
    p.add_argument("--rollouts", type=Path, help="rollout folder <model>/<task>/<file> to hash and rescore")
    options.add_episodes_root(p)
    options.add_workers(p, "episode generation processes")


def verify_main(args) -> int:
    try:
        print(verify(args.bundle, args.rollouts, args.episodes_root, args.workers,
                     warn=lambda m: print(m, file=sys.stderr)))
    except BundleError as e:
        print(f"verify failed: {e}", file=sys.stderr)
        return 1
    return 0
