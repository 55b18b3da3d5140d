"""Verifiable bundles: a bundle round-trips through verify, and any change after bundling is caught."""
import hashlib
import io
import json
import tarfile

import numpy as np
import pytest

from _evals_helpers import STUB_METRICS, tiny_task
from physics_evals import __main__ as cli
from physics_evals.bundle import BundleError, bundle, read_bundle, verify
from physics_evals.evaluate import RunConfig, run
from physics_evals.rollouts import rollout_path, write_rollout


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundle")
    cfg = RunConfig(out=root / "results", rollouts_root=root / "rollouts", episodes_root=root / "episodes",
                    models=["ground_truth", "copy_last_frame"], workers=1, progress=False, seed=0)
    path = run(cfg, tasks=[tiny_task()], metrics=STUB_METRICS, warn=lambda m: None)
    return root, path.parent, bundle(path.parent)


def check(archive, root, rollouts=True):
    return verify(archive, root / "rollouts" if rollouts else None, root / "episodes", metrics=STUB_METRICS)


def test_a_bundle_round_trips(bundled):
    root, results_dir, archive = bundled
    manifest, results, rows = read_bundle(archive)
    assert results == json.loads((results_dir / "results.json").read_text())
    assert len(rows) == len((results_dir / "samples.jsonl").read_text().splitlines())
    assert manifest["task_versions"] == {"tiny-drop": 1} and manifest["code_revision"] == results["run"]["git_revision"]
    # every rollout that was scored, with its hash: 3 models (resimulated is added) x 2 episodes
    assert len(manifest["rollouts"]) == 6
    for e in manifest["rollouts"]:
        data = (root / "rollouts" / e["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e["sha256"]
    assert "match" in check(archive, root, rollouts=False)
    assert "rescored 12 samples; all match" in check(archive, root)


def test_a_rollout_changed_after_bundling_fails_verify(bundled, tmp_path, capsys):
    root, _, archive = bundled
    path = rollout_path(root / "rollouts", "copy_last_frame", "tiny-drop", tiny_task().episode_ids()[0])
    original = path.read_bytes()
    try:
        with np.load(path) as z:
            frames = z["rgb"].copy()
        frames[-1, 0, 0] ^= 1  # one pixel of one frame
        write_rollout(path, frames, {"tampered": True})
        with pytest.raises(BundleError, match="sha256 differs"):
            check(archive, root)
        # and through the command line: one line, exit status 1
        code = cli.main(["verify", str(archive), "--rollouts", str(root / "rollouts"),
                         "--episodes-root", str(root / "episodes")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(err) == 1 and "copy_last_frame" in err[0] and "sha256" in err[0]
    finally:
        path.write_bytes(original)


def _rewrite(archive, out, edit):
    """A copy of the bundle with samples.jsonl edited and the manifest's hash of it updated (a forger's bundle)."""
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    name = next(n for n in files if n.endswith("samples.jsonl"))
    files[name] = edit(files[name])
    man_name = next(n for n in files if n.endswith("manifest.json"))
    manifest = json.loads(files[man_name])
    manifest["files"]["samples.jsonl"] = hashlib.sha256(files[name]).hexdigest()
    files[man_name] = json.dumps(manifest).encode()
    with tarfile.open(out, "w:gz") as tar:
        for n, data in files.items():
            info = tarfile.TarInfo(n)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def test_edited_files_are_caught_with_or_without_a_new_hash(bundled, tmp_path):
    root, _, archive = bundled
    # samples.jsonl edited, hash left as it was
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    name = next(n for n in files if n.endswith("samples.jsonl"))
    files[name] = files[name].replace(b'"status": "ok"', b'"status": "ok" ', 1)
    stale = tmp_path / "stale.tar.gz"
    with tarfile.open(stale, "w:gz") as tar:
        for n, data in files.items():
            info = tarfile.TarInfo(n)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BundleError, match="samples.jsonl does not match its sha256"):
        check(stale, root, rollouts=False)

    # a sample value changed and its hash updated: results.json no longer follows from the samples
    def better(data):
        rows = [json.loads(line) for line in data.decode().splitlines()]
        row = next(r for r in rows if r["model"] == "copy_last_frame" and r["metric"] == "stub_mse")
        row["value"] = 0.0
        return "".join(json.dumps(r) + "\n" for r in rows).encode()
    forged = _rewrite(archive, tmp_path / "forged.tar.gz", better)
    with pytest.raises(BundleError, match="copy_last_frame / tiny-drop / stub_mse"):
        check(forged, root, rollouts=False)


def test_bundle_of_a_folder_without_results_is_one_line(tmp_path, capsys):
    assert cli.main(["bundle", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "results.json" in err[0]
