"""Scores that survive real video: every nuisance keeps every metric near its clean-truth value, every
violation is still caught through the same nuisance, and a rollout at twice the resolution, 30 fps and
longer than the horizon, delivered as H.264, scores as the truth."""
import math

import cv2
import numpy as np
import pytest

import scenarios
from physics_evals import probes, tracker
from physics_evals.invariance import TOLERANCE
from physics_evals.metrics import METRICS, Clip, evaluate
from physics_evals.nuisance import NUISANCES
from physics_evals.rollouts import load_rollout_with_format, write_h264

SPEC = scenarios.RenderSpec(height=64, width=64, fps=15, n_frames=24)
CONTEXT = 8
# one real episode per family, small: what each nuisance is checked on (fast: well under a minute)
CASES = [("free_fall", 1), ("pass_behind", 0), ("bite", 2), ("brush", 0), ("strike", 1)]  # bite 2: a third eaten


@pytest.fixture(scope="module")
def episodes():
    return [scenarios.generate_episode(name, seed, SPEC) for name, seed in CASES]


@pytest.fixture(scope="module")
def degraded(episodes):
    """(episode, nuisance) -> degraded horizon frames."""
    return {(ep.episode_id, n): NUISANCES[n].apply(ep.rgb[CONTEXT:], SPEC.fps) for ep in episodes for n in NUISANCES}


def test_tracker_masks_hold_on_degraded_truth(episodes, degraded):
    """The instrument against the true segmentation, through every nuisance: masks and centroids of
    clearly visible objects stay put."""
    for ep in episodes:
        for n in NUISANCES:
            frames = np.concatenate([ep.rgb[:CONTEXT], degraded[(ep.episode_id, n)]])
            for oid, v in tracker.validate(frames, ep.seg, ep.objects, mixtures=NUISANCES[n].subsampled_chroma).items():
                if v["n_visible_frames"] < 4:
                    continue
                assert v["iou"] > 0.6, (ep.episode_id, n, oid, v)
                assert v["centroid_error_px"] < 1.0, (ep.episode_id, n, oid, v)




def _moved_beyond_tolerance(episodes, degraded, nuisances):
    checked, beyond = set(), []
    for ep in episodes:
        clean = evaluate(Clip(ep, CONTEXT, ep.rgb[CONTEXT:]))
        for n in nuisances:
            values = evaluate(Clip(ep, CONTEXT, degraded[(ep.episode_id, n)], NUISANCES[n].subsampled_chroma))
            for name, m in METRICS.items():
                if m.group not in ("permanence", "plausibility") or math.isnan(clean[name]):
                    continue
                moved = abs(m.distance(values[name]) - m.distance(clean[name]))
                if moved > TOLERANCE * m.scale:
                    beyond.append((ep.episode_id, n, name, clean[name], values[name]))
                checked.add(name)
    return checked, beyond


# At 0.25 bit per pixel (15 kbit/s at 64x64) H.264 used to leave a 20 px ball on a stroke of another
# colour without a pixel of its own hue (brush, strike); the mixture rule for subsampled colour keeps it,
# but the strike's shards still merge in some encodes (libx264 does not give the same stream every time:
# measured 1-5 different streams in 12-20 encodes of one clip), so shards_fall there moves beyond
# tolerance now and then.
HARSHEST = ("h264_low",)


def test_each_nuisance_keeps_each_metric_within_its_tolerance(episodes, degraded):
    checked, beyond = _moved_beyond_tolerance(episodes, degraded, [n for n in NUISANCES if n not in HARSHEST])
    assert not beyond, beyond
    assert len(checked) >= 14


@pytest.mark.xfail(reason="known limit: at 0.25 bit/pixel H.264 merges the strike's shards in some encodes",
                   strict=False)
def test_the_harshest_codec_keeps_each_metric_within_its_tolerance(episodes, degraded):
    _, beyond = _moved_beyond_tolerance(episodes, degraded, HARSHEST)
    assert not beyond, beyond


# Known limit: shards a pixel or two apart merge under any lossy codec at 64x64, so the piece count of
# broken glass is only reliable on lossless rollouts; break_frame_error and shards_fall catch the glass
# violations through every nuisance.
PIECE_COUNT = ("shard_count_error",)


@pytest.mark.parametrize("kind", ["vanish", "late", "elsewhere", "float", "spawn", "heal", "fade", "never_break",
                                  "unbreak"])
def test_each_violation_is_still_caught_through_each_nuisance(episodes, kind):
    """The truth and its tampered twin go through the same nuisance; the twin still ranks below."""
    probe, seen = probes.PROBES[kind], 0
    for ep in episodes:
        twin = probe.make(ep, CONTEXT)
        if twin is None:
            continue
        for n in ("h264_mid", "mp4v", "jpeg50", "blur1", "half_res", "noise"):
            sub = NUISANCES[n].subsampled_chroma
            truth_clip = Clip(ep, CONTEXT, NUISANCES[n].apply(ep.rgb[CONTEXT:], SPEC.fps), sub)
            twin_clip = Clip(ep, CONTEXT, NUISANCES[n].apply(twin, SPEC.fps), sub)
            ok = {m: probes.ranks_truth_first(m, METRICS[m](truth_clip), METRICS[m](twin_clip))
                  for m in probe.catches if not math.isnan(METRICS[m](truth_clip)) and m not in PIECE_COUNT}
            assert ok and all(ok.values()), (kind, ep.episode_id, n, ok)
            seen += 1
    assert seen, f"no case episode shows {kind}"


def test_a_2x_30fps_longer_h264_of_the_truth_scores_as_the_truth(tmp_path):
    """The truth at 30 fps (rendered so: the same physics steps, every other frame is the 15 fps clip's,
    the others lie between), enlarged to 128x128 (bicubic, as a generator's upsampler), 10 frames longer
    than the horizon, as H.264: resampled by the harness's rule, it scores >= 95 overall against the
    ceiling like any model would. (Rendering at 128x128 instead would put TinyRenderer's own raster
    half a 64-px pixel lower: a camera difference, not a delivery one.)"""
    from types import SimpleNamespace

    from physics_evals.models.baselines import Resimulated
    from physics_evals.summary import summarize_samples
    horizon = SPEC.n_frames - CONTEXT
    task = SimpleNamespace(name="drop", horizon=horizon, height=64, width=64, fps=15, context=CONTEXT,
                           render_spec=SPEC, metrics=tuple(METRICS))
    rows = []
    for name, seed in [("free_fall", 1), ("pass_behind", 0)]:
        ep = scenarios.generate_episode(name, seed, SPEC)
        fast = scenarios.generate_episode(name, seed, scenarios.RenderSpec(height=64, width=64, fps=30,
                                                                           n_frames=2 * SPEC.n_frames + 10))
        assert (fast.rgb[2 * CONTEXT::2][:horizon] == ep.rgb[CONTEXT:]).all()   # same physics, finer in time
        big = np.stack([cv2.resize(f, (128, 128), interpolation=cv2.INTER_CUBIC) for f in fast.rgb[2 * CONTEXT:]])
        path = tmp_path / f"{ep.episode_id}.mp4"
        write_h264(path, big, 30)
        frames, fmt = load_rollout_with_format(path, task)
        assert (fmt["height"], fmt["fps"], fmt["n_frames"]) == (128, 30.0, 2 * horizon + 10)
        assert fmt["pixel_format"] == "yuv420p" and fmt["subsampled_chroma"]
        assert "by timestamp" in fmt["resampling"] and "area resize 128x128 -> 64x64" in fmt["resampling"]
        resim = Resimulated().rollout(ep.rgb[:CONTEXT], ep.caption, task, ep)
        for model, f in (("mp4", frames), ("resimulated", resim)):
            for metric, v in evaluate(Clip(ep, CONTEXT, f, model == "mp4")).items():
                rows.append({"model": model, "task": name, "episode_id": ep.episode_id, "metric": metric,
                             "group": METRICS[metric].group, "value": None if math.isnan(v) else v, "status": "ok"})
    summary = summarize_samples(rows, METRICS)["mp4"]
    assert summary["overall"] >= 95, summary


def test_an_outside_rollout_records_its_own_format_and_a_short_one_names_its_file(tmp_path):
    from types import SimpleNamespace

    from physics_evals.models.external import RolloutFolder
    from physics_evals.rollouts import RolloutError
    ep = scenarios.generate_episode("free_fall", 1, SPEC)
    task = SimpleNamespace(name="drop", horizon=SPEC.n_frames - CONTEXT, height=64, width=64, fps=15, context=CONTEXT)
    wide = np.pad(ep.rgb[CONTEXT:], ((0, 0), (0, 0), (32, 32), (0, 0)), mode="edge")   # 128x64: 2:1
    (tmp_path / "m" / "drop").mkdir(parents=True)
    np.savez(tmp_path / "m" / "drop" / f"{ep.episode_id}.npz", rgb=wide)
    model = RolloutFolder(tmp_path, "m")
    frames = model.rollout(None, None, task, ep)
    assert (frames == ep.rgb[CONTEXT:]).all()                       # the centre crop is the truth itself
    fmt = model.source_format(task, ep.episode_id)
    assert (fmt["width"], fmt["height"]) == (128, 64) and "centre-crop 128x64 to 64x64" in fmt["resampling"]
    assert fmt["pixel_format"] == "rgb24" and not fmt["subsampled_chroma"]     # npz frames are full colour
    # frames decoded from a video may say so: they are then measured as subsampled colour
    np.savez(tmp_path / "m" / "drop" / f"{ep.episode_id}.npz", rgb=ep.rgb[CONTEXT:], pixel_format="yuv420p")
    model.rollout(None, None, task, ep)
    fmt = model.source_format(task, ep.episode_id)
    assert fmt["pixel_format"] == "yuv420p" and fmt["subsampled_chroma"]
    np.savez(tmp_path / "m" / "drop" / f"{ep.episode_id}.npz", rgb=ep.rgb[CONTEXT:], pixel_format=420)
    with pytest.raises(RolloutError, match=rf"{ep.episode_id}\.npz: pixel_format must be a string such as 'yuv420p'"):
        model.rollout(None, None, task, ep)
    np.savez(tmp_path / "m" / "drop" / f"{ep.episode_id}.npz", rgb=ep.rgb[CONTEXT:CONTEXT + 10], fps=15)
    with pytest.raises(RolloutError, match=rf"{ep.episode_id}\.npz: 10 frames, task drop needs 16 at 15 fps: too short "
                                           r"\(its last frame is at 0\.600 s, the horizon's last at 1\.000 s"):
        model.rollout(None, None, task, ep)


def _task_episode(task_name: str, k: int = 0):
    """(task, its k-th held-out episode of the default suite), generated."""
    from physics_evals.episodes import select_tasks
    task = select_tasks("default", [task_name])[0]
    job = task.jobs()[k]
    return task, scenarios.generate_episode(job.scenario, job.seed, task.render_spec)


def test_a_small_ball_on_glass_survives_subsampled_colour():
    """JPEG 50 (4:2:0) averages the chroma of a 15-20 px yellow ball with the cyan pane it flies past:
    it comes out green, no pixel of its own hue. Counted as a two-object mixture, it stays present in
    every frame the truth shows it; without that rule most of the clip loses it (the test can fail)."""
    task, ep = _task_episode("shatter-thrown")
    truth = ep.rgb[task.context:]
    degraded = NUISANCES["jpeg50"].apply(truth, task.fps)
    ball = next(i for i, o in enumerate(ep.objects) if o["role"] == "projectile")
    seen = tracker.track(truth, ep.objects).present[:, ball]
    assert seen.all()
    lost = lambda mix: int((seen & ~tracker.track(degraded, ep.objects, mixtures=mix).present[:, ball]).sum())  # noqa: E731
    assert lost(True) == 0 and lost(False) >= len(truth) // 3


@pytest.mark.parametrize("task_name, k", [("occlusion-pass-behind", 2), ("occlusion-multi-object-ood", 2)])
def test_mixtures_do_not_show_a_hidden_object(task_name, k):
    """Where an occluder's colour meets another colour, their codec mixture can take a third object's
    hue (blue and green around a hidden cyan-green ball; a faint tint on blue where a yellow ball hides).
    The rule must not call that object seen: these two episodes did before the grey and opposite-colour
    checks (measured: 12 and 4 px for 6-9 hidden frames)."""
    task, ep = _task_episode(task_name, k)
    truth = tracker.track(ep.rgb[task.context:], ep.objects)
    clear = ~truth.uncertain()
    for n in ("mp4v", "h264_mid", "jpeg50"):
        got = tracker.track(NUISANCES[n].apply(ep.rgb[task.context:], task.fps), ep.objects, mixtures=True)
        assert not (got.present & ~truth.present & clear).any(), n


def test_a_new_colour_beside_two_objects_stays_unknown():
    """A green block (no object's colour) on the edge of a cyan pane, by a yellow ball: its pixels are not
    a mixture of the two (more chroma than any mix of them has), so it is still a spawned unknown blob,
    sharp or through JPEG 50."""
    objects = [{"id": 0, "rgb": [13, 217, 235], "role": "glass"}, {"id": 1, "rgb": [235, 217, 13], "role": "projectile"}]
    rgb = np.full((4, 64, 64, 3), 135, np.uint8)
    rgb[:, 16:48, 8:30] = objects[0]["rgb"]
    rgb[:, 30:35, 30:34] = objects[1]["rgb"]
    rgb[:, 20:28, 30:38] = (26, 200, 26)
    for frames in (rgb, NUISANCES["jpeg50"].apply(rgb, 15)):
        assert (tracker.track(frames, objects, mixtures=True).n_unknown == 1).all()


def test_run_scores_a_video_rollout_with_its_colour_subsampling(tmp_path):
    """score_job tells the tracker what the file says: an mp4v (yuv420p) rollout is measured with the
    mixture rule, and its sample records the pixel format."""
    from physics_evals.evaluate import Job, score_job
    from physics_evals.models.external import RolloutFolder
    from physics_evals.rollouts import write_mp4
    task, ep = _task_episode("gravity-rest", 1)     # a yellow ball resting on a magenta support
    folder = ep.save(tmp_path / "episodes")
    (tmp_path / "m" / task.name).mkdir(parents=True)
    write_mp4(tmp_path / "m" / task.name / f"{ep.episode_id}.mp4", ep.rgb[task.context:], task.fps)
    names = ("presence_accuracy", "trajectory_error")
    rows = {r["metric"]: r for r in score_job(Job(RolloutFolder(tmp_path, "m"), task, folder, names, tmp_path / "c"))}
    assert rows["presence_accuracy"]["source_format"]["pixel_format"] == "yuv420p"
    frames, _ = load_rollout_with_format(tmp_path / "m" / task.name / f"{ep.episode_id}.mp4", task)
    want = {mix: {m: METRICS[m](Clip(ep, task.context, frames, mix)) for m in names} for mix in (True, False)}
    assert want[True] != want[False]        # the rule matters on this clip, so the check below can fail
    assert {m: rows[m]["value"] for m in names} == want[True]


def test_subsampled_colour_keeps_a_resting_ball_centroid():
    """JPEG 50 (4:2:0) bleeds the bottom of a yellow ball into the magenta support it rests on: measured
    by its own colour alone, the ball's centroid rises by 0.7 px, a trajectory error the physics does not
    have. Unmixing the shared pixels (linear, so the bled chroma comes back) keeps it within 0.3 px."""
    task, ep = _task_episode("gravity-rest", 1)
    truth = ep.rgb[task.context:]
    degraded = NUISANCES["jpeg50"].apply(truth, task.fps)
    ball = next(i for i, o in enumerate(ep.objects) if o["role"] == "projectile")
    want = tracker.track(truth, ep.objects).centroid[:, ball]
    shift = lambda mix: np.abs(tracker.track(degraded, ep.objects, mixtures=mix).centroid[:, ball] - want).mean(0)  # noqa: E731
    assert (shift(True) < 0.3).all() and shift(False)[1] > 0.5


def test_probe_table_puts_each_nuisance_beside_its_pixel_damage(tmp_path):
    """`probe`'s invariance table: the clean truth at 100, and each nuisance's scores next to the PSNR of the
    degraded truth (mean over clips), lower for the stronger of two blurs, which still keeps the scores."""
    from physics_evals.episodes import ensure_episodes, select_tasks, usable_episodes
    from physics_evals.invariance import format_invariance, invariance_report
    tasks = select_tasks("default", ["gravity-drop"], 1)
    folders = usable_episodes(tasks, tmp_path, ensure_episodes(tasks, tmp_path, 1, False))
    report = invariance_report(tasks, folders, ("blur0.5", "blur1"))
    assert report["truth"]["summary"]["overall"] == pytest.approx(100.0) and report["truth"]["psnr"] is None
    assert 20 < report["blur1"]["psnr"] < report["blur0.5"]["psnr"] < 100
    assert report["blur1"]["summary"]["overall"] >= 95
    header, *rows = format_invariance(report)
    assert header.split()[5] == "psnr" and [r.split()[0] for r in rows] == ["truth", "blur0.5", "blur1"]
    assert rows[0].split()[5] == "-" and rows[2].split()[5] == f"{report['blur1']['psnr']:.1f}"


def test_probe_writes_the_invariance_table_with_its_provenance(tmp_path, capsys):
    """`probe --invariance-out` writes one markdown row per nuisance, each judged against the targets by its
    own scores, under the command, revision and seed that made it; an unwritable path fails in one line
    before any probing."""
    from physics_evals.__main__ import main
    from physics_evals.invariance import TARGET
    from physics_evals.nuisance import NO_TARGET, PROBED
    args = ["probe", "--tasks", "gravity-drop", "--limit", "1", "--skip", "voe", "sensitivity",
            "--episodes-root", str(tmp_path / "episodes"), "--workers", "1"]
    assert main([*args, "--invariance-out", "/proc/none/inv.md"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--invariance-out /proc/none/inv.md" in err
    assert not (tmp_path / "episodes").exists()  # nothing was probed

    out = tmp_path / "reports" / "inv.md"
    assert main([*args, "--invariance-out", str(out)]) == 0
    text = out.read_text()
    assert "--invariance-out" in text and "git revision" in text and "ceiling seed 0" in text
    rows = {r.split(" | ")[0].strip("| "): r.split(" | ") for r in text.splitlines() if r.startswith("| ")}
    assert set(rows) == {"nuisance", "truth", *PROBED}
    for name, cells in rows.items():
        if name in NO_TARGET:
            assert cells[-1].strip(" |") == "no target"
        elif name != "nuisance":
            scores = {"overall": float(cells[2]), "permanence": float(cells[3])}
            if any(abs(v - TARGET[g]) <= 0.05 for g, v in scores.items()):
                continue  # printed to one decimal, judged unrounded
            met = all(v >= TARGET[g] for g, v in scores.items())
            assert cells[-1].strip(" |") == ("met" if met else "**not met**"), name


def test_half_the_frame_rate_is_held_by_the_rule_and_costs_plausibility_not_presence():
    """A model at half the task's frame rate, brought back by the harness's rule, shows each of its frames
    twice (the earlier frame on a tie): motion in steps, which the velocity metric sees on a falling ball,
    while the ball never leaves the frames (presence stays perfect). Reported, not held to a target."""
    from physics_evals.metrics import METRICS, Clip
    from physics_evals.nuisance import NO_TARGET
    task, ep = _task_episode("gravity-drop")
    truth = ep.rgb[task.context:task.context + task.horizon]
    held = NO_TARGET["half_fps"].apply(truth, task.fps)
    assert held.shape == truth.shape
    assert np.array_equal(held[0::2], truth[0::2]) and np.array_equal(held[1::2], truth[0:len(truth) - 1:2])
    clean, halved = Clip(ep, task.context, truth), Clip(ep, task.context, held)
    assert METRICS["presence_accuracy"](halved) == METRICS["presence_accuracy"](clean) == 1.0
    assert METRICS["velocity_error"](halved) > METRICS["velocity_error"](clean) + 0.5  # px/frame: stops and jumps


def test_at_the_hd_suite_size_the_harshest_nuisances_cost_little(tmp_path):
    """What fails the targets at 64x64 (JPEG 50, H.264 at 0.25 bit/px) is harmless at the sizes outside models
    deliver: per 8x8 block a 256x256 frame holds far less of a ball's edge. On a falling body and a pass
    behind an occluder (hd, one episode each), both keep overall and permanence >= 95."""
    from physics_evals.episodes import ensure_episodes, select_tasks, usable_episodes
    from physics_evals.invariance import TARGET, invariance_report
    tasks = select_tasks("hd", ["gravity-drop-hd", "occlusion-pass-behind-hd"], 1)
    folders = usable_episodes(tasks, tmp_path, ensure_episodes(tasks, tmp_path, 1, False))
    report = invariance_report(tasks, folders, ("jpeg50", "h264_low"))
    for n in ("jpeg50", "h264_low"):
        assert all(report[n]["summary"][g] >= v for g, v in TARGET.items()), (n, report[n]["summary"])
